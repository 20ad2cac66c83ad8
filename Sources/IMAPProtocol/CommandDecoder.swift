import NIOCore

/// Limits the decoder enforces before spending memory (RFC 9051 §4.3 leaves them to
/// the server; RFC 7888 for LITERAL+).
public struct DecoderLimits: Sendable {
    /// Longest command line (without literals), CRLF included; also the most text
    /// (outside literals) all lines of one command may carry together, so that a
    /// command of many small literals stays bounded. Longer: the decoder skips the
    /// command without buffering it and answers BAD; the connection stays usable.
    public var maxLineLength: Int
    /// Largest single literal. A larger synchronizing literal is refused before the
    /// `+` continuation; a larger non-synchronizing literal is fatal (its bytes are
    /// already on their way).
    public var maxLiteralSize: Int
    /// Largest sum of literal bytes in one command (MULTIAPPEND, many literals).
    public var maxCommandLiteralBytes: Int
    public init(maxLineLength: Int = 65536, maxLiteralSize: Int = 64 << 20, maxCommandLiteralBytes: Int = 128 << 20) {
        self.maxLineLength = maxLineLength
        self.maxLiteralSize = maxLiteralSize
        self.maxCommandLiteralBytes = maxCommandLiteralBytes
    }

    /// Before login a client needs a few commands (CAPABILITY, STARTTLS, LOGIN,
    /// AUTHENTICATE with its response line, ID), so each command may carry at most this
    /// much literal data, as Dovecot's login process allows (8 KiB for SASL
    /// responses). The command text keeps the ordinary line limit: an ID with many
    /// fields is tens of KiB (imaptest's `id` group sends 30 KiB, which Dovecot
    /// answers), and a line is bounded anyway. A hostile client that never logs in can
    /// make the server hold no more than one line plus this per connection.
    public static let beforeLoginBytes = 8192

    /// These limits, with literals lowered to `beforeLoginBytes`, for a connection that
    /// has not logged in yet.
    public var beforeLogin: DecoderLimits {
        DecoderLimits(
            maxLineLength: maxLineLength,
            maxLiteralSize: min(maxLiteralSize, Self.beforeLoginBytes),
            maxCommandLiteralBytes: min(maxCommandLiteralBytes, Self.beforeLoginBytes))
    }
}

/// What the decoder hands the session, one at a time.
public enum DecoderEvent: Sendable {
    /// A complete, well-formed command.
    case command(TaggedCommand)
    /// A malformed command: answer `tag BAD message` (or `* BAD` when no tag could be
    /// read). The decoder has already skipped to the end of the offending command.
    case bad(tag: String?, message: String)
    /// The client sent a synchronizing literal `{n}` within limits: send a `+`
    /// continuation so it sends the bytes.
    case needsContinuation
    /// A synchronizing literal larger than the limits: answer
    /// `tag NO [TOOBIG] message` (or BAD) and do not send `+`. The client will not send
    /// the literal; the decoder has dropped the rest of the command.
    case literalTooLarge(tag: String?, size: UInt64)
    /// A raw line requested with `expectContinuationLine()` (AUTHENTICATE responses,
    /// `DONE` ending IDLE), without its CRLF.
    case continuationLine(Secret)
    /// The raw line requested with `expectContinuationLine()` was too long: the decoder
    /// skipped it without buffering it. The command waiting for it (AUTHENTICATE, IDLE)
    /// ends with `tag BAD message`; the next line is a command again.
    case badContinuationLine(message: String)
    /// Unrecoverable (oversized or absurd non-synchronizing literal, whose bytes are
    /// already on their way): send `* BYE message` and close. The decoder produces
    /// nothing more afterwards.
    case fatal(message: String)

    // A streamed APPEND (RFC 9051 §6.3.12, MULTIAPPEND RFC 3502), when
    // `CommandDecoder.streamsAppend` is on. Order: `appendBegin`, then per message
    // `appendMessage` (followed by `needsContinuation` for a synchronizing literal) and
    // its bytes as `appendData` chunks, then `appendEnd` once the command's CRLF came.
    // `appendAborted` ends the command early (a `bad`/`literalTooLarge` event for it
    // follows when there is one to answer). The handler may refuse at any point with
    // `CommandDecoder.abandonAppend()`.

    /// The text before the first message literal of an APPEND was read.
    case appendBegin(tag: String, mailbox: MailboxName)
    /// A message literal is announced; its bytes follow as `appendData`.
    case appendMessage(AppendMessageHeader)
    /// The next bytes of the current message literal (never empty; at most what the
    /// decoder holds, so memory stays bounded by the read-pause threshold).
    case appendData(ByteBuffer)
    /// The APPEND command is complete: commit every message.
    case appendEnd
    /// The APPEND command failed to parse after it began: discard every message.
    case appendAborted
}

/// What precedes one message literal of an APPEND (RFC 9051 §6.3.12).
public struct AppendMessageHeader: Sendable, Equatable {
    public var flags: [Flag]
    public var internalDate: IMAPDateTime?
    /// The announced literal size in bytes.
    public var size: UInt64
    /// True when sent as `~{n}` (RFC 3516 literal8).
    public var isBinary: Bool
    public init(flags: [Flag], internalDate: IMAPDateTime?, size: UInt64, isBinary: Bool) {
        self.flags = flags
        self.internalDate = internalDate
        self.size = size
        self.isBinary = isBinary
    }
}

/// Incremental, streaming command decoder: bytes in, `DecoderEvent`s out. Frames
/// lines and literals (`{n}`, `{n+}`, `~{n}`), enforces `DecoderLimits`, then parses
/// each complete command with the RFC 9051 §9 grammar. Safe with input fed one byte
/// at a time.
public struct CommandDecoder: Sendable {
    public var limits: DecoderLimits
    public init(limits: DecoderLimits = DecoderLimits()) {
        self.limits = limits
        self.state = State()
    }

    /// Appends received bytes.
    public mutating func append(_ bytes: ByteBuffer) { state.append(bytes) }

    /// The next event, or nil when more bytes are needed.
    public mutating func next() -> DecoderEvent? { state.next(limits: limits) }

    /// The next line the client sends is not a command but a continuation
    /// (AUTHENTICATE response, IDLE's `DONE`): deliver it as `.continuationLine`.
    public mutating func expectContinuationLine() { state.expectRawLine = true }

    /// Drops every buffered byte (used after STARTTLS: bytes pipelined in clear must
    /// never be executed, CVE-2011-0411).
    public mutating func discardBufferedInput() { state.discardAll() }

    /// Takes the bytes received but not yet framed, and drops anything else buffered
    /// (used after COMPRESS's OK: what the client sent after the command is compressed
    /// and goes through the inflater, RFC 4978 §3).
    public mutating func takeBufferedInput() -> ByteBuffer {
        let input = state.input
        state.discardAll()
        return input
    }

    /// Hand APPEND message literals over in chunks (the `append*` events) instead of
    /// buffering them into `.command(.append)`. Off by default.
    public var streamsAppend: Bool {
        get { state.streamsAppend }
        set { state.streamsAppend = newValue }
    }

    /// The handler refuses the streamed APPEND in progress (it has answered it): the
    /// decoder skips, without any event, whatever of the command the client still
    /// sends (the rest of a literal already under way, further non-synchronizing
    /// literals) and drops a pending continuation request.
    public mutating func abandonAppend() { state.abandonAppend() }

    /// Bytes received but not yet consumed.
    public var bufferedByteCount: Int { state.bufferedByteCount }

    /// Literal bytes the current command holds in memory once its literals have
    /// arrived: every literal announced so far, counted from its announcement (before
    /// its bytes come). Streamed APPEND message literals are not held, so not counted.
    /// 0 between commands.
    public var announcedLiteralBytes: UInt64 { state.commandLiteralBytes }

    /// Refuses the synchronizing literal just announced (the event before was
    /// `.needsContinuation`, and no `+` was sent): the command is dropped, the next
    /// line is a command again. Returns the command's tag, for the answer. The client
    /// sends no literal bytes without the `+` (RFC 9051 §4.3).
    public mutating func refuseAnnouncedLiteral() -> String? { state.refuseAnnouncedLiteral() }

    var state: State
}
