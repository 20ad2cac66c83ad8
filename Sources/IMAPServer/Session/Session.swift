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
    /// The connection's place in the server's connection and session counts.
    let slot: ConnectionSlot
}

/// What the connection does after a command finished.
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
    /// An AUTHENTICATE waiting for the client's response line.
    var pendingAuthenticate: String?
    /// The tag of a running IDLE.
    var idleTag: String?
    /// When the command now waiting for a continuation line (AUTHENTICATE, IDLE)
    /// started: its latency is recorded once that line finished it.
    var continuationStarted: ContinuousClock.Instant?
    var idleTimer: Task<Void, Never>?
    /// The selected folder's directory vanished (deleted or renamed elsewhere).
    var selectedMailboxGone = false
    /// A streamed APPEND between decoder events (Commands/Append.swift).
    var appendStream: AppendStream?
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

    /// Runs one command to completion, writing every response.
    func execute(_ command: TaggedCommand) async -> CommandOutcome {
        guard !closed else { return .close }
        let spec = CommandSpec.of(command.command)
        guard spec.states.contains(state.kind) else {
            fail(command.tag, wrongState(command.command))
            await flushOutput()
            return .done
        }
        logger.debug("command", metadata: ["command": "\(command.command.name)", "tag": .client(command.tag)])
        writer.lastTaggedStatus = nil
        let started = ContinuousClock.now
        // A span per command (swift-distributed-tracing): free until a tracer is bootstrapped.
        var outcome = await withSpan(ServerMetrics.spanPrefix + command.command.name.lowercased()) { _ in
            await dispatch(command, spec: spec)
        }
        switch outcome {
        case .awaitContinuationLine, .idling:
            // Counted when the continuation line finishes it (see `continuation`).
            continuationStarted = started
        case .done, .close, .startTLS, .skipAppend, .loggedIn:
            ServerMetrics.command(command.command.name, result: writer.lastTaggedStatus, since: started)
        }
        if selectedMailboxGone {
            writer.untagged(.status(.bye, code: nil, text: SessionText.selectedMailboxGone))
            outcome = .close
        }
        await flushOutput()
        return outcome
    }

    private func wrongState(_ command: Command) -> CommandError {
        switch state.kind {
        case .notAuthenticated: return .notBeforeLogin(command.name)
        case .authenticated:
            return CommandSpec.of(command).states.contains(.selected)
                ? .noMailboxSelected(command.name) : .notAllowedNow(command.name)
        case .selected, .logout: return .notAllowedNow(command.name)
        }
    }

    private func dispatch(_ tagged: TaggedCommand, spec: CommandSpec) async -> CommandOutcome {
        let tag = tagged.tag
        switch tagged.command {
        case .capability: await handleCapability(tag: tag)
        case .noop: await handleNoop(tag: tag)
        case .logout: return await handleLogout(tag: tag)
        case .id(let fields): await handleID(tag: tag, fields: fields)
        case .enable(let names): await handleEnable(tag: tag, names: names)
        case .starttls: return await handleStartTLS(tag: tag)
        case .login(let user, let password): return await handleLogin(tag: tag, username: user, password: password)
        case .authenticate(let mechanism, let initial):
            return await handleAuthenticate(tag: tag, mechanism: mechanism, initialResponse: initial)
        case .select(let name, let params):
            await handleSelect(tag: tag, name: name, parameters: params, readOnly: false)
        case .examine(let name, let params):
            await handleSelect(tag: tag, name: name, parameters: params, readOnly: true)
        case .list(let list): await handleList(tag: tag, list)
        case .lsub(let reference, let pattern): await handleLsub(tag: tag, reference: reference, pattern: pattern)
        case .namespace: await handleNamespace(tag: tag)
        case .status(let name, let attributes): await handleStatus(tag: tag, name: name, attributes: attributes)
        case .check: await handleCheck(tag: tag)
        case .close: await handleClose(tag: tag, expunge: true)
        case .unselect: await handleClose(tag: tag, expunge: false)
        case .expunge: await handleExpunge(tag: tag, uids: nil)
        case .uidExpunge(let set): await handleExpunge(tag: tag, uids: set)
        case .fetch(let set, let attributes, let modifiers):
            await handleFetch(tag: tag, set: set, attributes: attributes, modifiers: modifiers, spec: spec)
        case .store(let set, let modifiers, let action):
            await handleStore(tag: tag, set: set, modifiers: modifiers, action: action, spec: spec)
        case .search(let kind, let search): await handleSearch(tag: tag, kind: kind, search, spec: spec)
        case .idle: return await handleIdle(tag: tag)
        case .create(let name, let use): await handleCreate(tag: tag, name: name, specialUse: use)
        case .delete(let name): await handleDelete(tag: tag, name: name)
        case .rename(let from, let to): await handleRename(tag: tag, from: from, to: to)
        case .subscribe(let name): await handleSubscribe(tag: tag, name: name)
        case .unsubscribe(let name): await handleUnsubscribe(tag: tag, name: name)
        case .append(let name, let messages): await handleAppend(tag: tag, name: name, messages: messages)
        case .copy(let set, let name): await handleCopy(tag: tag, set: set, destination: name)
        case .move(let set, let name): await handleMove(tag: tag, set: set, destination: name)
        }
        return .done
    }

    /// A line the client sent in answer to a continuation request.
    func continuation(_ line: Secret) async -> CommandOutcome {
        guard !closed else { return .close }
        let outcome: CommandOutcome
        let started = continuationStarted ?? ContinuousClock.now
        continuationStarted = nil
        writer.lastTaggedStatus = nil
        if let tag = pendingAuthenticate {
            pendingAuthenticate = nil
            outcome = await finishAuthenticate(tag: tag, response: line)
            ServerMetrics.command(ServerMetrics.authAuthenticate, result: writer.lastTaggedStatus, since: started)
        } else if let tag = idleTag {
            outcome = await finishIdle(tag: tag, line: line)
            ServerMetrics.command(ServerMetrics.idle, result: writer.lastTaggedStatus, since: started)
        } else {
            writer.untagged(.status(.bad, code: nil, text: "Unexpected continuation."))
            outcome = .done
        }
        await flushOutput()
        return outcome
    }

    /// The continuation line the running AUTHENTICATE or IDLE waited for was
    /// refused by the decoder (too long): that command ends with a tagged BAD and the
    /// session is back where it was before it.
    func badContinuationLine(_ message: String) async -> CommandOutcome {
        guard !closed else { return .close }
        let started = continuationStarted ?? ContinuousClock.now
        continuationStarted = nil
        writer.lastTaggedStatus = nil
        if let tag = pendingAuthenticate {
            pendingAuthenticate = nil
            fail(tag, .syntax(message))
            ServerMetrics.command(ServerMetrics.authAuthenticate, result: writer.lastTaggedStatus, since: started)
        } else if let tag = idleTag {
            endIdle()
            fail(tag, .syntax(message))
            ServerMetrics.command(ServerMetrics.idle, result: writer.lastTaggedStatus, since: started)
        } else {
            writer.untagged(.status(.bad, code: nil, text: message))
        }
        await flushOutput()
        return .done
    }

    /// The connection closed (or the server stops): give back the folder and the
    /// session slot (the connection handler gives the slot back too, at once, when the
    /// socket closes; doing it twice is harmless). Afterwards the session takes
    /// nothing new.
    func connectionClosed() {
        guard !closed else { return }
        closed = true
        idleTimer?.cancel()
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
        writer.tagged(tag, status, code, text)
    }

    /// Leaves the selected state without expunging.
    func deselect() {
        guard case .selected(let user, let mailbox) = state else { return }
        mailbox.folder.removeObserver(mailbox.observer)
        context.registry.release(mailbox.folder)
        state = .authenticated(user)
    }
}

/// Texts the session sends on its own initiative.
enum SessionText {
    static let selectedMailboxGone = "Selected mailbox was deleted or renamed, have to disconnect."
}
