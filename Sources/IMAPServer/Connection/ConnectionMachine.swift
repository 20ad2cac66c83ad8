import IMAPProtocol
import NIOCore

/// The rules of one connection, without a socket: which input is decoded when, which
/// timers run, when the connection says BYE and closes. `IMAPConnectionHandler` feeds
/// it events with the time they happened (the event loop's clock, `EventLoop.now`, so
/// tests drive it with a fake clock) and carries out the actions it returns, in order.
///
/// Ordering invariant: while session work runs (`State.running`) nothing is decoded
/// and the handler writes nothing of its own; the session alone writes. When the work
/// ends the session has flushed, so responses leave in command order. Reads pause
/// while work runs once the decoder holds more than the queue limit, so a client that
/// pipelines without end cannot make the server buffer without end.
///
/// STARTTLS invariant (CVE-2011-0411): framing happens in the handler, so when the
/// session answers STARTTLS nothing after the command has been parsed yet. The
/// machine then asks, in one event-loop turn, to drop everything buffered, write the
/// OK in clear and put TLS in front; until the handshake completes every byte that
/// still arrives is dropped (`State.awaitingHandshake`).
///
/// Timers (RFC 9051 §5.4 autologout): the inactivity timer restarts when the decoder
/// produces an event (a command, a continuation line, a chunk of a streamed APPEND)
/// and when session work ends, never for a byte of a half-sent line; during IDLE it is
/// never under `idleCommandMinimumTimeoutSeconds`. The login deadline runs from
/// connect and no activity extends it (issue 11 item 9). The TLS handshake has its own
/// deadline, however long the autologout is.
struct ConnectionMachine {
    let configuration: Configuration
    /// Accepted on an implicit-TLS listener: the handshake deadline runs from connect.
    let implicitTLS: Bool
    private(set) var state: State = .connecting
    private(set) var login: LoginPhase = .notLoggedIn
    /// The deadline of every armed timer: a firing not (or no longer) armed is stale.
    private(set) var deadlines: [Timer: NIODeadline] = [:]

    init(configuration: Configuration, implicitTLS: Bool) {
        self.configuration = configuration
        self.implicitTLS = implicitTLS
    }

    /// The handler may decode the next event now.
    var isWaitingForCommand: Bool {
        if case .waitingForCommand = state { return true }
        return false
    }

    var isClosed: Bool {
        if case .closed = state { return true }
        return false
    }

    /// How much input may queue while work runs; before login no more than one
    /// pre-login command (issue 11 item 3).
    var queueLimit: Int {
        switch login {
        case .notLoggedIn: return min(configuration.maxQueuedInputBytes, DecoderLimits.beforeLoginBytes)
        case .loggedIn: return configuration.maxQueuedInputBytes
        }
    }

    mutating func handle(_ event: Event, now: NIODeadline) -> [Action] {
        switch event {
        case .connected: return connected(now: now)
        case .refused(let bye):
            guard case .connecting = state else { return [] }
            return close(.refused, saying: bye)
        case .received(let bytes): return received(bytes)
        case .decoded(let decoded): return self.decoded(decoded, now: now)
        case .literalRefused(let tag):
            guard isWaitingForCommand else { return [] }
            return [.write(ConnectionResponse.literalOverBudget(tag))]
        case .literalBudgetExhausted:
            guard isWaitingForCommand else { return [] }
            return close(.literalBudget, saying: ConnectionResponse.literalBudgetExhausted)
        case .finished(let outcome): return finished(outcome, now: now)
        case .readRequested(let buffered): return readRequested(bufferedBytes: buffered)
        case .timerFired(let timer): return timerFired(timer, now: now)
        case .shutdownRequested: return shutdownRequested()
        case .handshakeCompleted: return handshakeCompleted(now: now)
        case .tlsSetupFailed: return isClosed ? [] : close(.tlsSetupFailed)
        case .inputFailed(let message): return inputFailed(message)
        case .channelInactive:
            state = .closed
            defer { deadlines = [:] }
            return Timer.allCases.filter { deadlines[$0] != nil }.map { .cancel($0) }
        }
    }

    /// Admitted: the deadlines start now, then the session greets.
    private mutating func connected(now: NIODeadline) -> [Action] {
        guard case .connecting = state else { return [] }
        state = .running(Running())
        var actions = [
            restartInactivity(now: now, idling: false),
            arm(.loginDeadline, at: now + configuration.loginTimeout),
        ]
        if implicitTLS { actions.append(arm(.handshake, at: now + configuration.handshakeTimeout)) }
        actions.append(.runSession(.greeting))
        return actions
    }

    /// Bytes are decoded only while waiting for a command; while work runs they queue
    /// (ordering invariant); after STARTTLS's OK they are dropped (CVE-2011-0411).
    private mutating func received(_ bytes: ByteBuffer) -> [Action] {
        switch state {
        case .waitingForCommand: return [.buffer(bytes), .decode]
        case .running: return [.buffer(bytes)]
        case .connecting, .awaitingHandshake, .closed: return []
        }
    }

    private mutating func decoded(_ event: DecoderEvent, now: NIODeadline) -> [Action] {
        guard case .waitingForCommand(let idling) = state else { return [] }
        if case .fatal(let message) = event {
            return close(.decoderFatal, saying: ConnectionResponse.bye(message))
        }
        // A whole command (or line, or chunk of a streamed APPEND) is progress; a byte
        // of a half-sent line never gets here (slowloris, issue 11 item 9).
        let restart = restartInactivity(now: now, idling: idling)
        switch event {
        case .command(let command): return [restart, run(.command(command))]
        case .continuationLine(let line): return [restart, run(.continuationLine(line))]
        case .badContinuationLine(let message): return [restart, run(.badContinuationLine(message: message))]
        case .appendBegin(let tag, let mailbox): return [restart, run(.appendBegin(tag: tag, mailbox: mailbox))]
        case .appendMessage(let header): return [restart, run(.appendMessage(header))]
        // Back-pressure: while this chunk is written (running), reads pause once the
        // queue limit is buffered (`readRequested`).
        case .appendData(let bytes): return [restart, run(.appendData(bytes))]
        case .appendEnd: return [restart, run(.appendEnd)]
        case .appendAborted: return [restart, run(.appendAborted)]
        case .needsContinuation: return [restart, .write(ConnectionResponse.sendLiteral)]
        case .bad(let tag, let message): return [restart, .write(ConnectionResponse.bad(tag, message))]
        case .literalTooLarge(let tag, _):
            // RFC 7888 §4 / RFC 9051 §7.1: refused before the continuation, so the
            // client never sends the literal.
            let limit = decoderLimits.maxLiteralSize
            return [restart, .write(ConnectionResponse.literalTooLarge(tag, limit: limit))]
        case .fatal: return []  // handled above
        }
    }

    /// Session work ended: carry out what it asked for, then wait for the client again
    /// (or say BYE when the server is stopping).
    private mutating func finished(_ outcome: CommandOutcome, now: NIODeadline) -> [Action] {
        guard case .running(let work) = state else { return [] }
        var actions: [Action] = []
        var idling = false
        switch outcome {
        case .done: break
        case .awaitContinuationLine: actions.append(.expectContinuationLine)
        case .idling:
            idling = true
            actions.append(.expectContinuationLine)
        case .skipAppend: actions.append(.abandonAppend)
        case .close: return close(.sessionEnded)
        case .startTLS(let tag): return startTLS(tag: tag, after: work, now: now)
        case .loggedIn: actions += loggedIn()
        case .startCompression(let tag):
            // RFC 4978 §3: the OK uncompressed, then compression from its CRLF on, in
            // this event-loop turn (nothing else is written in between).
            actions += [.write(ConnectionResponse.compressionActive(tag)), .startCompression]
        }
        // The compressed input could not be used (inflate error, expansion limit).
        if let failure = work.inputFailure {
            return actions + close(.decoderFatal, saying: ConnectionResponse.bye(failure))
        }
        // Graceful shutdown: a running command finishes before the BYE, so nothing
        // acknowledged is left half written.
        if work.byeWhenDone { return actions + close(.shutdown, saying: ConnectionResponse.shutdown) }
        state = .waitingForCommand(idling: idling)
        // The server waits for the client again: the autologout timer starts now.
        actions.append(restartInactivity(now: now, idling: idling))
        if work.readPaused { actions.append(.read) }
        actions.append(.decode)
        return actions
    }

    /// RFC 9051 §6.2.1. In one event-loop turn: drop the plaintext pipelined after
    /// STARTTLS, write the tagged OK in clear, then put TLS in front. No read can slip
    /// in between, so bytes sent before the client saw the OK are dropped and bytes
    /// sent after it (the ClientHello) go to TLS. A server that is stopping answers
    /// the command but starts no TLS for a connection it closes at once.
    private mutating func startTLS(tag: String, after work: Running, now: NIODeadline) -> [Action] {
        var actions: [Action] = [.discardBufferedInput, .write(ConnectionResponse.startTLSReady(tag))]
        if work.byeWhenDone { return actions + close(.shutdown, saying: ConnectionResponse.shutdown) }
        state = .awaitingHandshake
        actions.append(arm(.handshake, at: now + configuration.handshakeTimeout))
        actions.append(restartInactivity(now: now, idling: false))
        if work.readPaused { actions.append(.read) }
        actions.append(.startTLS)
        return actions
    }

    /// The session logged in (and moved its slot out of its address's count of
    /// connections not logged in): the login deadline and the pre-login limits end.
    /// The next command is not framed yet, so it gets the configured limits.
    private mutating func loggedIn() -> [Action] {
        guard case .notLoggedIn = login else { return [] }
        login = .loggedIn
        deadlines[.loginDeadline] = nil
        return [.cancel(.loginDeadline), .useDecoderLimits(configuration.decoderLimits)]
    }

    /// While work runs, a read is held back once the decoder holds more than the queue
    /// limit; `finished` passes it on.
    private mutating func readRequested(bufferedBytes: Int) -> [Action] {
        guard case .running(var work) = state, bufferedBytes > queueLimit else { return [.read] }
        work.readPaused = true
        state = .running(work)
        return []
    }

    /// A timer that is no longer armed, or fires before its deadline, is stale.
    private mutating func timerFired(_ timer: Timer, now: NIODeadline) -> [Action] {
        guard !isClosed, let deadline = deadlines[timer], now >= deadline else { return [] }
        deadlines[timer] = nil
        switch timer {
        case .inactivity:
            // RFC 9051 §5.4. Also while a command runs: a client that stops reading a
            // large response is cut off like a silent one.
            return close(.inactivity, saying: ConnectionResponse.inactivity)
        case .loginDeadline:
            guard case .notLoggedIn = login else { return [] }
            return close(.loginTimeout, saying: ConnectionResponse.loginTimedOut)
        case .handshake:
            // Nothing is written: there is no TLS to write in.
            return close(.handshakeTimeout)
        }
    }

    /// Graceful stop: BYE at once unless work runs (then after it, see `finished`).
    private mutating func shutdownRequested() -> [Action] {
        switch state {
        case .running(var work):
            work.byeWhenDone = true
            state = .running(work)
            return []
        case .connecting, .waitingForCommand, .awaitingHandshake:
            return close(.shutdown, saying: ConnectionResponse.shutdown)
        case .closed:
            return []
        }
    }

    /// The inflater refused the client's compressed input (CompressionHandler): no
    /// more input comes, so the connection says BYE, at once between commands or once
    /// the running work is done (ordering invariant).
    private mutating func inputFailed(_ message: String) -> [Action] {
        switch state {
        case .running(var work):
            work.inputFailure = message
            state = .running(work)
            return []
        case .waitingForCommand, .connecting, .awaitingHandshake:
            return close(.decoderFatal, saying: ConnectionResponse.bye(message))
        case .closed:
            return []
        }
    }

    /// Implicit TLS (the greeting may still run) or after STARTTLS: commands come now.
    private mutating func handshakeCompleted(now: NIODeadline) -> [Action] {
        guard !isClosed else { return [] }
        var idling = false
        switch state {
        case .awaitingHandshake: state = .waitingForCommand(idling: false)
        case .waitingForCommand(let waitingInIdle): idling = waitingInIdle
        case .connecting, .running, .closed: break
        }
        deadlines[.handshake] = nil
        return [.cancel(.handshake), restartInactivity(now: now, idling: idling)]
    }

    /// The decoder limits in force: the pre-login ones until the session logs in.
    var decoderLimits: DecoderLimits {
        switch login {
        case .notLoggedIn: return configuration.decoderLimits.beforeLogin
        case .loggedIn: return configuration.decoderLimits
        }
    }

    private mutating func run(_ input: SessionInput) -> Action {
        state = .running(Running())
        return .runSession(input)
    }

    /// RFC 9051 §5.4: never under 29 minutes during IDLE (RFC 2177).
    private mutating func restartInactivity(now: NIODeadline, idling: Bool) -> Action {
        arm(.inactivity, at: now + (idling ? configuration.inactivityWhileIdling : configuration.inactivity))
    }

    private mutating func arm(_ timer: Timer, at deadline: NIODeadline) -> Action {
        deadlines[timer] = deadline
        return .arm(timer, at: deadline)
    }

    /// Close is the last action: after it nothing is written, decoded or armed.
    private mutating func close(_ reason: CloseReason, saying bye: Response? = nil) -> [Action] {
        state = .closed
        return (bye.map { [Action.write($0)] } ?? []) + [.close(reason)]
    }
}
