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
///
/// Before login the connection is held to little (issue 11 items 3 and 9): the
/// decoder's `beforeLogin` limits (8 KiB per command), a small input queue, and a
/// deadline from connect (`loginTimeoutSeconds`) that no activity extends. Progress is
/// measured in whole commands: the autologout timer restarts when the decoder produces
/// an event (a command, a continuation line, a chunk of a streamed APPEND) and when a
/// command ends, never for a byte of a half-sent line.
final class IMAPConnectionHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let server: ServerContext
    private var decoder: CommandDecoder
    private var session: IMAPSession?
    /// The session's writes wait here for writability (back-pressure).
    private var output: ChannelOutput?
    private var busy = false
    private var closing = false
    private var readPending = false
    /// The server is stopping: BYE as soon as no command runs.
    private var shuttingDown = false
    private var idleTimeout: Scheduled<Void>?
    /// IDLE runs: the autologout timer has the IDLE floor (RFC 9051 §5.4).
    private var idling = false
    /// Until the TLS handshake completes (implicit TLS or after STARTTLS).
    private var handshakeTimeout: Scheduled<Void>?
    /// Accepted on an implicit-TLS listener (NIOSSLServerHandler is already first).
    private let implicitTLS: Bool
    /// Between STARTTLS's OK and the end of its handshake: input is discarded.
    private var awaitingHandshake = false
    /// Admitted: this connection's place in `server.limits` (given back on close).
    private var slot: ConnectionSlot?
    /// The client address, once admitted.
    private var address = ""
    /// Not logged in yet (as far as this handler learnt): pre-login limits apply.
    private var unauthenticated = true
    private var loginDeadline: Scheduled<Void>?
    /// This connection's share of `server.literalBudget` (what its decoder announced).
    private var literalCharge = 0
    /// Plain IMAP4rev1 encoding: what this handler writes itself is ASCII.
    private let encoder = ResponseEncoder()

    init(server: ServerContext, implicitTLS: Bool = false) {
        self.server = server
        self.implicitTLS = implicitTLS
        self.decoder = CommandDecoder(limits: server.config.decoderLimits.beforeLogin)
        decoder.streamsAppend = true
    }

    func channelActive(context: ChannelHandlerContext) {
        let peer = context.channel.remoteAddress
        let address = peer?.ipAddress ?? "unknown"
        // The server's cap and the per-address count of connections not logged in:
        // refused before a session exists.
        switch server.limits.admitConnection(address: address) {
        case .admitted(let slot, let refusedBefore):
            self.slot = slot
            if refusedBefore > 0 {
                server.logger.notice(
                    "accepting connections again", metadata: ["refused": "\(refusedBefore)"])
            }
        case .serverFull(let firstOfBurst):
            if firstOfBurst {
                // Once per burst: the next admitted connection logs how many were refused.
                server.logger.notice(
                    "connection limit reached, refusing new connections",
                    metadata: ["max-connections": "\(server.config.maxConnections)"])
            }
            refuse(context: context, ConnectionResponse.serverFull)
            return
        case .addressFull:
            server.logger.notice("too many connections from one address", metadata: ["peer": "\(address)"])
            refuse(context: context, ConnectionResponse.tooManyFromAddress)
            return
        }
        guard let slot else { return }
        self.address = address
        ServerMetrics.connections.increment()
        ServerMetrics.sessionsActive.increment()
        let info = ConnectionInfo(
            sessionID: server.makeSessionID(), peerAddress: address, isLoopback: Self.isLoopback(address),
            isTLS: implicitTLS, slot: slot)
        let output = ChannelOutput(channel: context.channel)
        self.output = output
        let session = IMAPSession(context: server, output: output, connection: info)
        self.session = session
        resetIdleTimeout(context: context)
        startLoginDeadline(context: context)
        if implicitTLS { startHandshakeTimeout(context: context) }
        run(context: context) {
            await session.greeting(); return .done
        }
        context.fireChannelActive()
    }

    private func refuse(context: ChannelHandlerContext, _ bye: Response) {
        closing = true
        write(context: context, bye)
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        if let slot {
            // At once, not in the session's clean-up task: a login still being checked
            // then finds the slot closed and takes nothing.
            server.limits.close(slot)
            ServerMetrics.sessionsActive.decrement()
        }
        slot = nil
        server.literalBudget.release(literalCharge)
        literalCharge = 0
        idleTimeout?.cancel()
        handshakeTimeout?.cancel()
        loginDeadline?.cancel()
        closing = true
        output?.closed()
        if let session { Task { await session.connectionClosed() } }
        context.fireChannelInactive()
    }

    /// A FETCH waiting for the client to read on resumes (ChannelOutput).
    func channelWritabilityChanged(context: ChannelHandlerContext) {
        output?.writabilityChanged()
        context.fireChannelWritabilityChanged()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !closing, !awaitingHandshake else { return }
        decoder.append(unwrapInboundIn(data))
        pump(context: context)
    }

    func read(context: ChannelHandlerContext) {
        let queueLimit =
            unauthenticated
            ? min(server.config.maxQueuedInputBytes, DecoderLimits.beforeLoginBytes) : server.config.maxQueuedInputBytes
        if busy && decoder.bufferedByteCount > queueLimit {
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
        write(context: context, ConnectionResponse.shutdown)
        context.close(promise: nil)
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        server.logger.debug("connection error", metadata: ["error": "\(error)"])
        context.close(promise: nil)
    }

    /// Decodes and handles events until a command starts running or input runs out.
    private func pump(context: ChannelHandlerContext) {
        while !busy && !closing {
            let next = decoder.next()
            guard chargeLiteralBudget() else {
                refuseLiteralOverBudget(after: next, context: context)
                continue
            }
            guard let event = next else { return }
            // A whole command (or line, or chunk of a streamed APPEND) is progress.
            resetIdleTimeout(context: context)
            switch event {
            case .needsContinuation:
                write(context: context, ConnectionResponse.sendLiteral)
            case .bad(let tag, let message):
                write(context: context, ConnectionResponse.bad(tag, message))
            case .literalTooLarge(let tag, _):
                // RFC 7888 §4 / RFC 9051 §7.1: refuse before the continuation; the client
                // then never sends the literal.
                let limit = decoder.limits.maxLiteralSize
                write(context: context, ConnectionResponse.literalTooLarge(tag, limit: limit))
            case .fatal(let message):
                write(context: context, ConnectionResponse.bye(message))
                closing = true
                context.close(promise: nil)
            case .command, .continuationLine, .badContinuationLine, .appendBegin, .appendMessage, .appendData,
                .appendEnd, .appendAborted:
                // Everything else goes to the session's one entry point. Back-pressure:
                // while an APPEND chunk is written (busy), reads pause once
                // `maxQueuedInputBytes` are buffered (see `read`).
                guard let session, let input = SessionInput(event) else { return }
                run(context: context) { await session.handle(input) }
            }
        }
    }

    /// Keeps this connection's share of the server's literal budget equal to the
    /// literal bytes its decoder announced for the command being buffered. False when
    /// the budget cannot cover an increase (nothing is reserved then). The decoder
    /// holds at most one read's worth beyond what was charged, so the server's memory
    /// for buffered literals stays within the budget plus a read per connection.
    private func chargeLiteralBudget() -> Bool {
        let wanted = Int(clamping: decoder.announcedLiteralBytes)
        if wanted < literalCharge {
            server.literalBudget.release(literalCharge - wanted)
        } else if wanted > literalCharge {
            guard server.literalBudget.reserve(wanted - literalCharge) else { return false }
        }
        literalCharge = wanted
        return true
    }

    /// The budget cannot take the literal just announced: a synchronizing one is
    /// refused before its `+` (the client sends nothing more of that command); the
    /// bytes of a non-synchronizing one are already on their way, so the connection
    /// ends, as for a literal over the per-command limits.
    private func refuseLiteralOverBudget(after event: DecoderEvent?, context: ChannelHandlerContext) {
        if case .needsContinuation? = event {
            let tag = decoder.refuseAnnouncedLiteral()
            _ = chargeLiteralBudget()  // the command is gone: give back its share
            write(context: context, ConnectionResponse.literalOverBudget(tag))
            return
        }
        server.logger.notice("literal budget exhausted, closing a connection", metadata: ["peer": "\(address)"])
        write(context: context, ConnectionResponse.literalBudgetExhausted)
        closing = true
        context.close(promise: nil)
    }

    /// Runs session work (started at once, not first queued on the cooperative pool),
    /// then resumes decoding on the event loop once it is done.
    private func run(context: ChannelHandlerContext, _ work: @escaping @Sendable () async -> CommandOutcome) {
        busy = true
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        let eventLoop = context.eventLoop
        Task.immediate {
            let outcome = await work()
            eventLoop.execute {
                let (handler, context) = bound.value
                handler.finished(outcome, context: context)
            }
        }
    }

    private func finished(_ outcome: CommandOutcome, context: ChannelHandlerContext) {
        busy = false
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
        case .loggedIn:
            loggedIn()
        }
        if shuttingDown {
            byeAndClose(context: context)
            return
        }
        // The server waits for the client again: the autologout timer starts now.
        resetIdleTimeout(context: context)
        if readPending {
            readPending = false
            context.read()
        }
        pump(context: context)
    }

    /// The session logged in (and moved the slot out of its address's count of
    /// connections not logged in): the connection leaves the login deadline and the
    /// pre-login limits (the next command is not framed yet, so it gets the
    /// configured ones).
    private func loggedIn() {
        guard unauthenticated else { return }
        unauthenticated = false
        loginDeadline?.cancel()
        loginDeadline = nil
        decoder.limits = server.config.decoderLimits
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
        write(context: context, ConnectionResponse.startTLSReady(tag))
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

    private func write(context: ChannelHandlerContext, _ response: Response) {
        var buffer = context.channel.allocator.buffer(capacity: 128)
        encoder.encode(response, into: &buffer)
        context.writeAndFlush(wrapOutboundOut(buffer), promise: nil)
    }

    /// RFC 9051 §5.4: the autologout timer, restarted by every whole command (or
    /// continuation line) the client sends and when a command ends; never under 29
    /// minutes during IDLE.
    private func resetIdleTimeout(context: ChannelHandlerContext) {
        idleTimeout?.cancel()
        // After close nothing may be scheduled: the timer would keep the handler alive.
        guard !closing else { return }
        let seconds = Int64(server.config.inactivityTimeoutSeconds(idling: idling))
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        idleTimeout = context.eventLoop.scheduleTask(in: .seconds(seconds)) {
            let (handler, context) = bound.value
            handler.timedOut(context: context)
        }
    }

    /// A connection that has not logged in `loginTimeoutSeconds` after it connected is
    /// closed, however busy it keeps the server (Dovecot: 3 minutes).
    private func startLoginDeadline(context: ChannelHandlerContext) {
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        let seconds = Int64(server.config.loginTimeoutSeconds)
        loginDeadline = context.eventLoop.scheduleTask(in: .seconds(seconds)) {
            let (handler, context) = bound.value
            // The slot knows of a login the session has done but not yet reported.
            guard !handler.closing, handler.slot?.isLoggedIn == false else { return }
            handler.server.logger.debug("login timeout", metadata: ["peer": "\(handler.address)"])
            handler.closing = true
            handler.write(context: context, ConnectionResponse.loginTimedOut)
            context.close(promise: nil)
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
        write(context: context, ConnectionResponse.inactivity)
        context.close(promise: nil)
    }

    static func isLoopback(_ address: String) -> Bool {
        address.hasPrefix("127.") || address == "::1" || address.hasPrefix("::ffff:127.")
    }
}
