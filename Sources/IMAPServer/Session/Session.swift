import IMAPProtocol
import Logging
import MaildirStore
import NIOCore
import Tracing

/// Facts about the connection a session runs on.
struct ConnectionInfo: Sendable {
    let sessionID: UInt64
    /// Peer address without port, for throttling and logs.
    let peerAddress: String
    let isLoopback: Bool
    var isTLS: Bool
    /// COMPRESS DEFLATE is active (RFC 4978): a second COMPRESS gets NO.
    var isCompressed = false
    /// The connection's place in the server's connection and session counts.
    let slot: ConnectionSlot
}

/// One input from the connection: a decoder event the session acts on. The session
/// takes them one at a time through `IMAPSession.handle`, its one entry point.
enum SessionInput: Sendable {
    case command(TaggedCommand)
    /// The line AUTHENTICATE or IDLE asked for.
    case continuationLine(Secret)
    /// That line was refused by the decoder (too long).
    case badContinuationLine(String)
    /// A streamed APPEND (CommandDecoder's events of the same names).
    case appendBegin(tag: String, mailbox: MailboxName)
    case appendMessage(AppendMessageHeader)
    case appendData(ByteBuffer)
    case appendEnd
    case appendAborted
}

extension SessionInput {
    /// The command this input starts, if it starts one.
    var commandName: String? {
        switch self {
        case .command(let command): return command.command.name
        case .appendBegin: return IMAPSession.appendCommandName
        case .continuationLine, .badContinuationLine, .appendMessage, .appendData, .appendEnd, .appendAborted:
            return nil
        }
    }

    /// The session's part of a decoder event (nil for those the connection answers
    /// itself: literal continuations, BAD, TOOBIG, fatal).
    init?(_ event: DecoderEvent) {
        switch event {
        case .command(let command): self = .command(command)
        case .continuationLine(let line): self = .continuationLine(line)
        case .badContinuationLine(let message): self = .badContinuationLine(message)
        case .appendBegin(let tag, let mailbox): self = .appendBegin(tag: tag, mailbox: mailbox)
        case .appendMessage(let header): self = .appendMessage(header)
        case .appendData(let bytes): self = .appendData(bytes)
        case .appendEnd: self = .appendEnd
        case .appendAborted: self = .appendAborted
        case .needsContinuation, .bad, .literalTooLarge, .fatal: return nil
        }
    }
}

/// What the connection does once the session handled one input (the actions the
/// session asks for; the responses are already written).
enum CommandOutcome: Sendable {
    /// Read the next command.
    case done
    /// The next client line is a continuation (AUTHENTICATE response).
    case awaitContinuationLine
    /// IDLE runs: the next client line is its DONE; the autologout timer is at least
    /// `ServerConfiguration.idleCommandMinimumTimeoutSeconds` meanwhile.
    case idling
    /// LOGOUT or a fatal condition: close after the buffered responses are written.
    case close
    /// STARTTLS accepted: the connection handler writes the tagged OK itself, drops
    /// buffered input and starts the TLS handshake, all in one event-loop turn.
    case startTLS(tag: String)
    /// COMPRESS DEFLATE accepted: the connection handler writes the tagged OK itself,
    /// uncompressed, then puts the compression handler in, in one event-loop turn.
    case startCompression(tag: String)
    /// A streamed APPEND was refused (and answered): the decoder skips its rest.
    case skipAppend
    /// LOGIN or AUTHENTICATE succeeded: the connection leaves the pre-login limits
    /// (decoder limits, login deadline, per-address count).
    case loggedIn
}

/// One client's IMAP session (RFC 9051 §3). Commands run one at a time, in order; the
/// connection handler awaits each before decoding the next. An actor, so the folder
/// observer's IDLE wake-ups and command execution never race on the session's state.
///
/// Tried and measured (issue 12): running the actor on its channel's event loop (a
/// custom executor) saved no measurable time on this 2-core machine and would let a
/// long session step (a 100,000-message view update) delay the I/O of every other
/// connection on that loop, so the actor stays on the cooperative pool.
actor IMAPSession {

    let context: ServerContext
    var connection: ConnectionInfo
    var state: SessionState = .notAuthenticated
    var writer: ResponseWriter
    /// The socket, with back-pressure (ChannelOutput).
    let output: ChannelOutput
    var logger: Logger
    /// Capabilities the client enabled (RFC 5161), uppercased.
    var enabled: Set<String> = []
    /// When the input being handled arrived: a command's latency runs from here.
    var inputStarted = ContinuousClock.now
    /// `connectionClosed` ran. Commands still suspended at that moment (a LOGIN
    /// waiting for crypt) must not take anything the clean-up would have given back.
    var closed = false

    init(context: ServerContext, output: ChannelOutput, connection: ConnectionInfo) {
        self.context = context
        self.connection = connection
        self.output = output
        self.writer = ResponseWriter(channel: output.channel)
        var logger = context.logger
        logger[metadataKey: "session"] = "\(connection.sessionID)"
        logger[metadataKey: "peer"] = "\(connection.peerAddress)"
        self.logger = logger
    }

    var utf8Enabled: Bool { enabled.contains("IMAP4REV2") || enabled.contains("UTF8=ACCEPT") }
    var rev2Enabled: Bool { enabled.contains("IMAP4REV2") }

    /// RFC 9051 §6.2.3: plaintext passwords only over TLS, from loopback, or when the
    /// administrator allowed it.
    var plaintextAuthAllowed: Bool {
        connection.isTLS || connection.isLoopback || context.config.allowPlaintextAuth
    }

    var capabilities: [String] {
        Capability.list(
            authenticated: state.user != nil, plaintextAuthAllowed: plaintextAuthAllowed,
            appendLimit: context.config.decoderLimits.maxLiteralSize,
            startTLSAvailable: context.tls != nil && !connection.isTLS)
    }

    func greeting() async {
        writer.untagged(
            .status(.ok, code: .capability(capabilities), text: "\(context.config.serverName) imapd-maildir ready."))
        await flushOutput()
    }

    /// The session's one entry point: every decoder event of the connection goes
    /// through here, so the common steps happen once for all of them: nothing after
    /// close, the command's metrics once it finished (whether it took one input or,
    /// like AUTHENTICATE, IDLE and a streamed APPEND, several), the BYE when the
    /// selected folder vanished, and the flush of what the step wrote.
    func handle(_ input: SessionInput) async -> CommandOutcome {
        guard !closed else { return .close }
        inputStarted = .now
        writer.lastTaggedStatus = nil
        let running = input.commandName.map { (name: $0, started: inputStarted) } ?? state.running
        var outcome = await step(input)
        if let running, state.running == nil {
            ServerMetrics.command(running.name, result: writer.lastTaggedStatus, since: running.started)
        }
        if selectedMailboxGone {
            // RFC 9051 §7.1 allows staying selected; we say BYE as Dovecot does (see
            // `byeIfSelectedMailboxGone`).
            writer.untagged(.status(.bye, code: nil, text: SessionText.selectedMailboxGone))
            outcome = .close
        }
        await flushOutput()
        return outcome
    }

    private func step(_ input: SessionInput) async -> CommandOutcome {
        switch input {
        case .command(let command): return await execute(command)
        case .continuationLine(let line): return await continuation(line)
        case .badContinuationLine(let message): return badContinuationLine(message)
        case .appendBegin(let tag, let mailbox): return await appendBegin(tag: tag, mailbox: mailbox)
        case .appendMessage(let header): return await appendMessage(header)
        case .appendData(let bytes): return await appendData(bytes)
        case .appendEnd: return await appendEnd()
        case .appendAborted: return appendAborted()
        }
    }

    private func execute(_ command: TaggedCommand) async -> CommandOutcome {
        let spec = CommandSpec.of(command.command)
        guard spec.states.contains(state.kind) else {
            fail(command.tag, wrongState(command.command))
            return .done
        }
        logger.debug("command", metadata: ["command": "\(command.command.name)", "tag": .client(command.tag)])
        // A span per command (swift-distributed-tracing): free until a tracer is bootstrapped.
        return await withSpan(ServerMetrics.spanPrefix + command.command.name.lowercased()) { _ in
            await dispatch(command, spec: spec)
        }
    }

    private func wrongState(_ command: Command) -> CommandError {
        switch state.kind {
        case .notAuthenticated: return .notBeforeLogin(command.name)
        case .authenticated:
            return CommandSpec.of(command).states.contains(.selected)
                ? .noMailboxSelected(command.name) : .notAllowedNow(command.name)
        case .selected, .inCommand, .logout: return .notAllowedNow(command.name)
        }
    }

    /// A line the client sent in answer to a continuation request.
    private func continuation(_ line: Secret) async -> CommandOutcome {
        switch state {
        case .authenticating(let authenticating):
            endAuthenticate()
            return await finishAuthenticate(tag: authenticating.tag, response: line)
        case .idling(let idling):
            return await finishIdle(idling, line: line)
        case .notAuthenticated, .authenticated, .selected, .appending, .logout:
            // The decoder hands a raw line only when asked to: a disagreement.
            return serverBug(nil, "continuation line in state \(state.kind)")
        }
    }

    /// The continuation line the running AUTHENTICATE or IDLE waited for was
    /// refused by the decoder (too long): that command ends with a tagged BAD and the
    /// session is back where it was before it.
    private func badContinuationLine(_ message: String) -> CommandOutcome {
        switch state {
        case .authenticating(let authenticating):
            endAuthenticate()
            fail(authenticating.tag, .syntax(message))
        case .idling(let idling):
            endIdle()
            fail(idling.tag, .syntax(message))
        case .notAuthenticated, .authenticated, .selected, .appending, .logout:
            // The decoder refuses a raw line only when asked for one: a disagreement.
            return serverBug(nil, "bad continuation line in state \(state.kind): \(message)")
        }
        return .done
    }

    /// The session and the connection disagree on what comes next (a structural bug):
    /// the client still gets an answer, `NO [SERVERBUG]` (tagged when the tag is
    /// known), and the log says why.
    func serverBug(_ tag: String?, _ reason: String) -> CommandOutcome {
        let error = CommandError.serverFault(reason)
        if let tag {
            fail(tag, error)
        } else {
            logger.error("session inconsistency", metadata: ["reason": .client(reason)])
            ServerMetrics.commandError(error.kind)
            writer.untagged(.status(error.status, code: error.code, text: error.text))
        }
        return .done
    }

    /// The connection closed (or the server stops): give back the folder and the
    /// session slot (the connection handler gives the slot back too, at once, when the
    /// socket closes; doing it twice is harmless). Afterwards the session takes
    /// nothing new.
    func connectionClosed() {
        guard !closed else { return }
        closed = true
        endIdle()
        discardAppendStream()
        deselect()
        context.limits.close(connection.slot)
        state = .logout
    }

    /// The server is shutting down or the session timed out: tell the client why.
    func sendBye(_ text: String) async {
        writer.untagged(.status(.bye, code: nil, text: text))
        await flushOutput()
    }

    /// Writes what is buffered and waits until the channel can take more (at once
    /// unless the client stopped reading: ChannelOutput). Errors (the client went away)
    /// are ignored here: the connection's close path cleans up.
    func flushOutput() async {
        guard let out = writer.take() else { return }
        ServerMetrics.bytesSent.increment(by: out.readableBytes)
        try? await output.write(out)
    }

    /// Hands what is buffered to the channel without waiting for the write: for the
    /// few bytes an IDLE push sends to thousands of sessions at once, waiting costs a
    /// second hop per session. Order is kept: every write of this session goes through
    /// the channel's event loop in the order the actor issued it.
    func flushOutputWithoutWaiting() {
        guard let out = writer.take() else { return }
        ServerMetrics.bytesSent.increment(by: out.readableBytes)
        writer.channel.writeAndFlush(out, promise: nil)
    }

    func finish(_ tag: String, _ text: String, reportExpunge: Bool = true) async {
        await finish(tag, .ok, nil, text, reportExpunge: reportExpunge)
    }

    /// Sends a tagged completion, after reporting the folder changes this command may
    /// report (RFC 9051 §7.5.1).
    func finish(
        _ tag: String, _ status: ResponseStatus, _ code: ResponseCode?, _ text: String,
        reportExpunge: Bool = true
    ) async {
        reportUpdates(allowExpunge: reportExpunge)
        var code = code
        if let modSeq = takeHighestModSeqReport() {
            // In the tagged OK when it has no code yet, as Dovecot does; else untagged.
            if status == .ok && code == nil {
                code = .highestModSeq(modSeq.rawValue)
            } else {
                writer.untagged(.status(.ok, code: .highestModSeq(modSeq.rawValue), text: "Highest"))
            }
        }
        writer.tagged(tag, status, code, text)
    }
}

/// Texts the session sends on its own initiative.
enum SessionText {
    static let selectedMailboxGone = "Selected mailbox was deleted or renamed, have to disconnect."
}
