import IMAPProtocol
import Logging
import NIOCore
import NIOSSL
import NIOTLS

/// The event-loop side of one connection. It owns the command decoder, hands complete
/// commands to the session one at a time, and answers the decoder's own events
/// (literal continuations, syntax errors, oversize input).
///
/// Ordering invariant: while a command runs (`busy`), this handler writes nothing and
/// decodes nothing further; the session alone writes. When the session finishes, it
/// has already flushed, so responses leave in command order. Reads are paused while
/// busy once the decoder holds more than `maxQueuedInputBytes` bytes, so a client that
/// pipelines without end cannot make the server buffer without end.
///
/// STARTTLS invariant (CVE-2011-0411): framing happens here, not in a decoder in front
/// of this handler, so when the session answers STARTTLS nothing after the command has
/// been parsed yet. `startTLS` drops everything buffered and, until the handshake
/// completes, every byte that still arrives; only bytes decrypted by TLS are commands.
final class IMAPConnectionHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let server: ServerContext
    private var decoder: CommandDecoder
    private var session: IMAPSession?
    private var busy = false
    private var closing = false
    private var readPending = false
    /// The server is stopping: BYE as soon as no command runs.
    private var shuttingDown = false
    static let shutdownBye = "* BYE Server shutting down.\r\n"
    private var idleTimeout: Scheduled<Void>?
    /// IDLE runs: the autologout timer has the IDLE floor (RFC 9051 §5.4).
    private var idling = false
    /// Until the TLS handshake completes (implicit TLS or after STARTTLS).
    private var handshakeTimeout: Scheduled<Void>?
    /// Accepted on an implicit-TLS listener (NIOSSLServerHandler is already first).
    private let implicitTLS: Bool
    /// Between STARTTLS's OK and the end of its handshake: input is discarded.
    private var awaitingHandshake = false
    /// This connection counts against its client address's limit (release on close).
    private var countedAddress: String?
    static let tooManyFromAddress = "* BYE Too many connections from your address.\r\n"
    static let startTLSReadyText = "Begin TLS negotiation now."

    init(server: ServerContext, implicitTLS: Bool = false) {
        self.server = server
        self.implicitTLS = implicitTLS
        self.decoder = CommandDecoder(limits: server.config.decoderLimits)
        decoder.streamsAppend = true
    }

    func channelActive(context: ChannelHandlerContext) {
        let peer = context.channel.remoteAddress
        let address = peer?.ipAddress ?? "unknown"
        // Connections per client address: refused before a session exists.
        guard server.addressConnections.acquire(address, limit: server.config.maxConnectionsPerAddress) else {
            closing = true
            server.logger.notice("too many connections from one address", metadata: ["peer": "\(address)"])
            write(context: context, Self.tooManyFromAddress)
            context.close(promise: nil)
            return
        }
        countedAddress = address
        ServerMetrics.connections.increment()
        ServerMetrics.sessionsActive.increment()
        let info = ConnectionInfo(
            sessionID: server.makeSessionID(), peerAddress: address, isLoopback: Self.isLoopback(address),
            isTLS: implicitTLS)
        let session = IMAPSession(context: server, channel: context.channel, connection: info)
        self.session = session
        resetIdleTimeout(context: context)
        if implicitTLS { startHandshakeTimeout(context: context) }
        run(context: context) {
            await session.greeting(); return .done
        }
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        if let countedAddress {
            server.addressConnections.release(countedAddress)
            ServerMetrics.sessionsActive.decrement()
        }
        countedAddress = nil
        idleTimeout?.cancel()
        handshakeTimeout?.cancel()
        closing = true
        if let session { Task { await session.connectionClosed() } }
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !closing, !awaitingHandshake else { return }
        decoder.append(unwrapInboundIn(data))
        resetIdleTimeout(context: context)
        pump(context: context)
    }

    func read(context: ChannelHandlerContext) {
        if busy && decoder.bufferedByteCount > server.config.maxQueuedInputBytes {
            readPending = true
        } else {
            context.read()
        }
    }

    /// TLS handshake done; graceful shutdown: a session waiting for a command (or in
    /// IDLE) gets BYE at once, a running command finishes first (see `finished`).
    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is ServerShutdownEvent {
            shuttingDown = true
            if !busy { byeAndClose(context: context) }
            return
        }
        if let tlsEvent = event as? TLSUserEvent, case .handshakeCompleted = tlsEvent {
            awaitingHandshake = false
            handshakeTimeout?.cancel()
            handshakeTimeout = nil
            resetIdleTimeout(context: context)
        }
        context.fireUserInboundEventTriggered(event)
    }

    private func byeAndClose(context: ChannelHandlerContext) {
        guard !closing else { return }
        closing = true
        write(context: context, Self.shutdownBye)
        context.close(promise: nil)
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        server.logger.debug("connection error", metadata: ["error": "\(error)"])
        context.close(promise: nil)
    }

    /// Decodes and handles events until a command starts running or input runs out.
    private func pump(context: ChannelHandlerContext) {
        while !busy && !closing, let event = decoder.next() {
            switch event {
            case .command(let command):
                guard let session else { return }
                run(context: context) { await session.execute(command) }
            case .continuationLine(let line):
                guard let session else { return }
                run(context: context) { await session.continuation(line) }
            case .badContinuationLine(let message):
                guard let session else { return }
                run(context: context) { await session.badContinuationLine(message) }
            case .needsContinuation:
                write(context: context, "+ OK\r\n")
            case .bad(let tag, let message):
                write(context: context, "\(tag ?? "*") BAD \(message)\r\n")
            case .literalTooLarge(let tag, _):
                // RFC 7888 §4 / RFC 9051 §7.1: refuse before the continuation; the client
                // then never sends the literal.
                let limit = decoder.limits.maxLiteralSize
                if let tag {
                    write(context: context, "\(tag) NO [TOOBIG] Literal too large (limit \(limit) bytes).\r\n")
                } else {
                    write(context: context, "* BAD Literal too large (limit \(limit) bytes).\r\n")
                }
            case .appendBegin(let tag, let mailbox):
                guard let session else { return }
                run(context: context) { await session.appendBegin(tag: tag, mailbox: mailbox) }
            case .appendMessage(let header):
                guard let session else { return }
                run(context: context) { await session.appendMessage(header) }
            case .appendData(let bytes):
                // Back-pressure: while this chunk is written (busy), reads pause once
                // `maxQueuedInputBytes` are buffered (see `read`).
                guard let session else { return }
                run(context: context) { await session.appendData(bytes) }
            case .appendEnd:
                guard let session else { return }
                run(context: context) { await session.appendEnd() }
            case .appendAborted:
                guard let session else { return }
                run(context: context) { await session.appendAborted() }
            case .fatal(let message):
                write(context: context, "* BYE \(message)\r\n")
                closing = true
                context.close(promise: nil)
            }
        }
    }

    /// Runs session work off the event loop, then resumes decoding on it.
    private func run(context: ChannelHandlerContext, _ work: @escaping @Sendable () async -> CommandOutcome) {
        busy = true
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        let eventLoop = context.eventLoop
        Task {
            let outcome = await work()
            eventLoop.execute {
                let (handler, context) = bound.value
                handler.finished(outcome, context: context)
            }
        }
    }

    private func finished(_ outcome: CommandOutcome, context: ChannelHandlerContext) {
        busy = false
        let wasIdling = idling
        idling = false
        switch outcome {
        case .done: break
        case .awaitContinuationLine: decoder.expectContinuationLine()
        case .idling:
            idling = true
            decoder.expectContinuationLine()
        case .skipAppend: decoder.abandonAppend()
        case .close:
            closing = true
            context.close(promise: nil)
            return
        case .startTLS(let tag):
            guard startTLS(tag: tag, context: context) else { return }
        }
        if shuttingDown {
            byeAndClose(context: context)
            return
        }
        if idling != wasIdling { resetIdleTimeout(context: context) }
        if readPending {
            readPending = false
            context.read()
        }
        pump(context: context)
    }

    /// RFC 9051 §6.2.1. Drops the plaintext the client pipelined after STARTTLS, writes
    /// the tagged OK in clear, and puts TLS in front of everything. One event-loop
    /// turn: no read can slip in between, so bytes sent before the client saw the OK
    /// are discarded and bytes sent after it (the ClientHello) go to NIOSSL. The OK has
    /// left the pipeline before the TLS handler is added, so it is not encrypted.
    /// Returns false when the connection is being closed.
    private func startTLS(tag: String, context: ChannelHandlerContext) -> Bool {
        decoder.discardBufferedInput()
        guard let tls = server.tls else {  // the session checked; never reached
            closing = true
            context.close(promise: nil)
            return false
        }
        write(context: context, "\(tag) OK \(Self.startTLSReadyText)\r\n")
        awaitingHandshake = true
        startHandshakeTimeout(context: context)
        do {
            try context.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls.current), position: .first)
        } catch {
            server.logger.debug("STARTTLS failed", metadata: ["error": "\(error)"])
            closing = true
            context.close(promise: nil)
            return false
        }
        return true
    }

    private func write(context: ChannelHandlerContext, _ text: String) {
        var buffer = context.channel.allocator.buffer(capacity: text.utf8.count)
        buffer.writeString(text)
        context.writeAndFlush(wrapOutboundOut(buffer), promise: nil)
    }

    /// RFC 9051 §5.4: the autologout timer, restarted by every byte the client sends
    /// and when IDLE starts or ends; never under 29 minutes during IDLE.
    private func resetIdleTimeout(context: ChannelHandlerContext) {
        idleTimeout?.cancel()
        let seconds = Int64(server.config.inactivityTimeoutSeconds(idling: idling))
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        idleTimeout = context.eventLoop.scheduleTask(in: .seconds(seconds)) {
            let (handler, context) = bound.value
            handler.timedOut(context: context)
        }
    }

    /// A client that never completes the TLS handshake (a stalled ClientHello, or
    /// nothing after STARTTLS) is cut off after `tlsHandshakeTimeoutSeconds`, however
    /// long the autologout timer is. Nothing is written: there is no TLS to write in.
    private func startHandshakeTimeout(context: ChannelHandlerContext) {
        handshakeTimeout?.cancel()
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        let seconds = Int64(server.config.tlsHandshakeTimeoutSeconds)
        handshakeTimeout = context.eventLoop.scheduleTask(in: .seconds(seconds)) {
            let (handler, context) = bound.value
            guard !handler.closing else { return }
            handler.server.logger.debug("TLS handshake timed out")
            handler.closing = true
            context.close(promise: nil)
        }
    }

    private func timedOut(context: ChannelHandlerContext) {
        guard !closing else { return }
        closing = true
        write(context: context, "* BYE Disconnected for inactivity.\r\n")
        context.close(promise: nil)
    }

    static func isLoopback(_ address: String) -> Bool {
        address.hasPrefix("127.") || address == "::1" || address.hasPrefix("::ffff:127.")
    }
}
