import IMAPProtocol
import NIOCore

/// The vocabulary of `ConnectionMachine`: its states, the events it takes and the
/// actions it returns.
extension ConnectionMachine {
    /// Where the connection is. Each state carries what only it needs.
    enum State {
        /// Admitted or not: nothing has happened yet.
        case connecting
        /// Decoding: the next client input is a command, or the continuation line the
        /// last command asked for (`idling`: IDLE's DONE, with the IDLE floor).
        case waitingForCommand(idling: Bool)
        /// Session work runs (the greeting, a command, an APPEND chunk).
        case running(Running)
        /// STARTTLS answered: input is dropped until the TLS handshake completes.
        case awaitingHandshake
        /// BYE is written (or no more can be): nothing else happens.
        case closed
    }

    /// What is remembered while session work runs.
    struct Running {
        /// A read was held back (too much queued input): pass it on when the work ends.
        var readPaused = false
        /// The server is stopping: BYE once the work has ended.
        var byeWhenDone = false
        /// The compressed input failed meanwhile: BYE with this text once the work ends.
        var inputFailure: String?
    }

    /// Pre-login limits apply until the session reports a login.
    enum LoginPhase {
        case notLoggedIn
        case loggedIn
    }

    enum Timer: CaseIterable, Sendable {
        /// RFC 9051 §5.4 autologout.
        case inactivity
        /// `loginTimeoutSeconds` from connect.
        case loginDeadline
        /// `tlsHandshakeTimeoutSeconds`, implicit TLS or after STARTTLS.
        case handshake
    }

    enum Event {
        /// Admitted: the session greets.
        case connected
        /// Not admitted (a limit): `bye` tells the client why.
        case refused(bye: Response)
        /// The socket delivered bytes.
        case received(ByteBuffer)
        /// The decoder produced an event.
        case decoded(DecoderEvent)
        /// The server's literal budget cannot take a synchronizing literal just
        /// announced; the decoder has dropped its command (`tag` when it had one).
        case literalRefused(tag: String?)
        /// The literal budget cannot take a non-synchronizing literal: its bytes are on
        /// their way, so the connection ends.
        case literalBudgetExhausted
        /// Session work ended.
        case finished(CommandOutcome)
        /// The channel asks for more input; the decoder holds `bufferedBytes`.
        case readRequested(bufferedBytes: Int)
        case timerFired(Timer)
        /// Graceful server stop.
        case shutdownRequested
        case handshakeCompleted
        /// The TLS handler could not be put in front.
        case tlsSetupFailed
        /// The compression handler refused the client's input (RFC 4978; the text
        /// says why): the connection ends with BYE.
        case inputFailed(String)
        case channelInactive
    }

    /// What the handler does, in the order given.
    enum Action {
        case runSession(SessionInput)
        case write(Response)
        /// Close the channel (always the last action of a list).
        case close(CloseReason)
        /// Append these bytes to the decoder (buffered while work runs).
        case buffer(ByteBuffer)
        /// Decode and feed events while the machine waits for a command.
        case decode
        /// Pass a read on to the channel.
        case read
        case arm(Timer, at: NIODeadline)
        case cancel(Timer)
        case expectContinuationLine
        case abandonAppend
        case discardBufferedInput
        /// Put TLS in front of the pipeline (after STARTTLS's OK has been written).
        case startTLS
        /// Put the compression handler in (after COMPRESS's OK has been written).
        case startCompression
        /// Leave the pre-login decoder limits (the next command is framed with these).
        case useDecoderLimits(DecoderLimits)
    }

    /// What session work to start.
    enum SessionInput: Sendable {
        case greeting
        case command(TaggedCommand)
        case continuationLine(Secret)
        case badContinuationLine(message: String)
        case appendBegin(tag: String, mailbox: MailboxName)
        case appendMessage(AppendMessageHeader)
        case appendData(ByteBuffer)
        case appendEnd
        case appendAborted
    }

    /// Why the connection closes (the handler logs some of them).
    enum CloseReason: Equatable {
        case refused, sessionEnded, shutdown, inactivity, loginTimeout, handshakeTimeout
        case decoderFatal, literalBudget, tlsSetupFailed
    }

    /// The figures the rules need, from `ServerConfiguration`.
    struct Configuration {
        var inactivity: TimeAmount
        var inactivityWhileIdling: TimeAmount
        var loginTimeout: TimeAmount
        var handshakeTimeout: TimeAmount
        var decoderLimits: DecoderLimits
        var maxQueuedInputBytes: Int

        init(_ config: ServerConfiguration) {
            inactivity = .seconds(Int64(config.inactivityTimeoutSeconds(idling: false)))
            inactivityWhileIdling = .seconds(Int64(config.inactivityTimeoutSeconds(idling: true)))
            loginTimeout = .seconds(Int64(config.loginTimeoutSeconds))
            handshakeTimeout = .seconds(Int64(config.tlsHandshakeTimeoutSeconds))
            decoderLimits = config.decoderLimits
            maxQueuedInputBytes = config.maxQueuedInputBytes
        }
    }
}
