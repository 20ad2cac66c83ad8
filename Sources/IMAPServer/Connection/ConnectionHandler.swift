import IMAPProtocol
import Logging
import NIOCore
import NIOSSL
import NIOTLS

/// The event-loop side of one connection: a thin shell around `ConnectionMachine`,
/// which holds the rules (ordering, STARTTLS, timers, pre-login limits; see its doc
/// comment). This handler owns what the machine must not: the command decoder, the
/// session, the NIO timers, the connection's slot and literal budget share. It feeds
/// the machine every event with the event loop's clock (`EventLoop.now`, which test
/// event loops control) and carries out the actions it returns, in order, in the same
/// event-loop turn.
final class IMAPConnectionHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    typealias Machine = ConnectionMachine

    private let server: ServerContext
    private var machine: ConnectionMachine
    private var decoder: CommandDecoder
    private var session: IMAPSession?
    /// The session's writes wait here for writability (back-pressure).
    private var output: ChannelOutput?
    /// The NIO side of the machine's armed timers.
    private var timers: [Machine.Timer: Scheduled<Void>] = [:]
    /// Admitted: this connection's place in `server.limits` (given back on close).
    private var slot: ConnectionSlot?
    /// The client address, once admitted.
    private var address = ""
    /// This connection's share of `server.literalBudget` (what its decoder announced).
    private var literalCharge = 0
    /// Plain IMAP4rev1 encoding: what this handler writes itself is ASCII.
    private let encoder = ResponseEncoder()

    /// Set when a listed proxy sent a PROXY protocol header (issue 17): the real client.
    private let proxiedClient: ProxiedClient?

    init(server: ServerContext, implicitTLS: Bool = false, proxiedClient: ProxiedClient? = nil) {
        self.server = server
        self.proxiedClient = proxiedClient
        machine = ConnectionMachine(configuration: .init(server.config), implicitTLS: implicitTLS)
        decoder = CommandDecoder(limits: machine.decoderLimits)
        decoder.streamsAppend = true
    }

    func channelActive(context: ChannelHandlerContext) {
        let peer = proxiedClient.map { $0.address ?? context.channel.remoteAddress } ?? context.channel.remoteAddress
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
            handle(.refused(bye: ConnectionResponse.serverFull), context: context)
            return
        case .addressFull:
            server.logger.notice("too many connections from one address", metadata: ["peer": "\(address)"])
            handle(.refused(bye: ConnectionResponse.tooManyFromAddress), context: context)
            return
        }
        guard let slot else { return }
        self.address = address
        ServerMetrics.connections.increment()
        ServerMetrics.sessionsActive.increment()
        let info = ConnectionInfo(
            sessionID: server.makeSessionID(), peerAddress: address,
            // A listed proxy's hop counts as loopback for RFC 9051 §6.2.3: the proxy
            // (nginx) terminated TLS with the client and sends LOGIN in clear on its
            // own, trusted link; `isLoopback` only decides plaintext LOGIN.
            isLoopback: proxiedClient != nil || Self.isLoopback(address),
            isTLS: machine.implicitTLS, slot: slot)
        let output = ChannelOutput(channel: context.channel)
        self.output = output
        session = IMAPSession(context: server, output: output, connection: info)
        handle(.connected, context: context)
        context.fireChannelActive()
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
        handle(.channelInactive, context: context)
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
        handle(.received(unwrapInboundIn(data)), context: context)
    }

    func read(context: ChannelHandlerContext) {
        handle(.readRequested(bufferedBytes: decoder.bufferedByteCount), context: context)
    }

    /// Graceful shutdown (the machine decides when to say BYE); TLS handshake done.
    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is ServerShutdownEvent {
            handle(.shutdownRequested, context: context)
            return
        }
        if let failure = event as? CompressionFailure {
            server.logger.debug("compressed input refused", metadata: ["reason": "\(failure.message)"])
            handle(.inputFailed(failure.message), context: context)
            return
        }
        if let tlsEvent = event as? TLSUserEvent, case .handshakeCompleted = tlsEvent {
            handle(.handshakeCompleted, context: context)
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        server.logger.debug("connection error", metadata: ["error": "\(error)"])
        context.close(promise: nil)
    }

    // MARK: Carrying out the machine's actions

    private func handle(_ event: Machine.Event, context: ChannelHandlerContext) {
        let actions = machine.handle(event, now: context.eventLoop.now)
        for action in actions { perform(action, context: context) }
    }

    private func perform(_ action: Machine.Action, context: ChannelHandlerContext) {
        switch action {
        case .runSession(let input): run(input, context: context)
        case .write(let response): write(response, context: context)
        case .close(let reason):
            log(closing: reason)
            context.close(promise: nil)
        case .buffer(let bytes): decoder.append(bytes)
        case .decode: decodeWhileWaiting(context: context)
        case .read: context.read()
        case .arm(let timer, let deadline): arm(timer, at: deadline, context: context)
        case .cancel(let timer): timers.removeValue(forKey: timer)?.cancel()
        case .expectContinuationLine: decoder.expectContinuationLine()
        case .abandonAppend: decoder.abandonAppend()
        case .discardBufferedInput: decoder.discardBufferedInput()
        case .startTLS: startTLS(context: context)
        case .startCompression: startCompression(context: context)
        case .useDecoderLimits(let limits): decoder.limits = limits
        }
    }

    /// Decodes and hands events to the machine until session work starts, the
    /// connection closes or input runs out.
    private func decodeWhileWaiting(context: ChannelHandlerContext) {
        while machine.isWaitingForCommand {
            let next = decoder.next()
            guard chargeLiteralBudget() else {
                handle(refusingLiteral(after: next), context: context)
                continue
            }
            guard let event = next else { return }
            handle(.decoded(event), context: context)
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
    private func refusingLiteral(after event: DecoderEvent?) -> Machine.Event {
        guard case .needsContinuation? = event else { return .literalBudgetExhausted }
        let tag = decoder.refuseAnnouncedLiteral()
        _ = chargeLiteralBudget()  // the command is gone: give back its share
        return .literalRefused(tag: tag)
    }

    /// Runs session work (started at once, not first queued on the cooperative pool),
    /// then tells the machine on the event loop once it is done.
    private func run(_ input: Machine.SessionInput, context: ChannelHandlerContext) {
        guard let session else { return }
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        let eventLoop = context.eventLoop
        Task.immediate {
            let outcome = await input.run(on: session)
            eventLoop.execute {
                let (handler, context) = bound.value
                handler.handle(.finished(outcome), context: context)
            }
        }
    }

    /// STARTTLS's OK has been written (it has left the pipeline, so it is not
    /// encrypted): TLS goes in front of everything, in the same event-loop turn.
    private func startTLS(context: ChannelHandlerContext) {
        guard let tls = server.tls else {  // the session checked; never reached
            handle(.tlsSetupFailed, context: context)
            return
        }
        do {
            try context.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls.current), position: .first)
        } catch {
            server.logger.debug("STARTTLS failed", metadata: ["error": "\(error)"])
            handle(.tlsSetupFailed, context: context)
        }
    }

    /// COMPRESS's OK has been written (it has left this handler, so it is not
    /// compressed): the compression handler goes right in front of this one, after
    /// TLS. What the client sent after the command is compressed: it goes back
    /// through the inflater.
    private func startCompression(context: ChannelHandlerContext) {
        let leftover = decoder.takeBufferedInput()
        do {
            let handler = try CompressionHandler(leftover: leftover)
            try context.pipeline.syncOperations.addHandler(handler, position: .before(self))
        } catch {
            server.logger.warning("COMPRESS failed", metadata: ["error": "\(error)"])
            context.close(promise: nil)
        }
    }

    private func write(_ response: Response, context: ChannelHandlerContext) {
        var buffer = context.channel.allocator.buffer(capacity: 128)
        encoder.encode(response, into: &buffer)
        context.writeAndFlush(wrapOutboundOut(buffer), promise: nil)
    }

    private func arm(_ timer: Machine.Timer, at deadline: NIODeadline, context: ChannelHandlerContext) {
        timers.removeValue(forKey: timer)?.cancel()
        // After close nothing may be scheduled: the timer would keep the handler alive.
        guard !machine.isClosed else { return }
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        timers[timer] = context.eventLoop.scheduleTask(deadline: deadline) {
            let (handler, context) = bound.value
            handler.timers[timer] = nil
            // The slot knows of a login the session has done but not yet reported.
            if timer == .loginDeadline, handler.slot?.isLoggedIn != false { return }
            handler.handle(.timerFired(timer), context: context)
        }
    }

    private func log(closing reason: Machine.CloseReason) {
        switch reason {
        case .loginTimeout: server.logger.debug("login timeout", metadata: ["peer": "\(address)"])
        case .handshakeTimeout: server.logger.debug("TLS handshake timed out")
        case .literalBudget:
            server.logger.notice("literal budget exhausted, closing a connection", metadata: ["peer": "\(address)"])
        case .refused, .sessionEnded, .shutdown, .inactivity, .decoderFatal, .tlsSetupFailed: break
        }
    }

    static func isLoopback(_ address: String) -> Bool {
        address.hasPrefix("127.") || address == "::1" || address.hasPrefix("::ffff:127.")
    }
}

extension ConnectionMachine.SessionInput {
    /// The session call for this input: everything but the greeting goes through the
    /// session's one entry point, `IMAPSession.handle(_:)`.
    func run(on session: IMAPSession) async -> CommandOutcome {
        switch self {
        case .greeting:
            await session.greeting()
            return .done
        case .command(let command): return await session.handle(.command(command))
        case .continuationLine(let line): return await session.handle(.continuationLine(line))
        case .badContinuationLine(let message): return await session.handle(.badContinuationLine(message))
        case .appendBegin(let tag, let mailbox): return await session.handle(.appendBegin(tag: tag, mailbox: mailbox))
        case .appendMessage(let header): return await session.handle(.appendMessage(header))
        case .appendData(let bytes): return await session.handle(.appendData(bytes))
        case .appendEnd: return await session.handle(.appendEnd)
        case .appendAborted: return await session.handle(.appendAborted)
        }
    }
}
