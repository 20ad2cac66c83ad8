import NIOCore

/// The framer behind `CommandDecoder`: splits the byte stream into commands (lines,
/// plus the literals they announce, RFC 9051 §4.3 and §2.2.1), enforces the limits
/// before spending memory, and hands each complete command to the grammar.
///
/// Invariants:
/// - Framing is lazy: `next()` frames only as far as needed for one event, so bytes
///   pipelined after a command (e.g. after STARTTLS) stay unframed in `input` until
///   the session asks again, and `discardAll()` can drop them (CVE-2011-0411).
/// - `command` holds the current command normalised: every line without its CRLF
///   (or bare LF), literal bytes right after the `}` that announced them. Its text
///   (everything outside literals) never exceeds `maxLineLength`, its literals never
///   exceed `maxCommandLiteralBytes`, so memory is bounded by the limits.
/// - Every step either consumes at least one input byte or returns an event, so the
///   decoder always makes progress.
extension CommandDecoder {
    struct State: Sendable {
        enum Mode: Sendable {
            /// Reading command text up to the next LF.
            case line
            /// Copying the bytes of an announced literal.
            case literal(remaining: UInt64)
            /// Skipping an over-long line up to its LF (nothing is stored).
            case discardLine
            /// Skipping a non-synchronizing literal of a command being discarded.
            case discardLiteral(remaining: UInt64)
            /// Handing over the bytes of a streamed APPEND message literal.
            case appendLiteral(remaining: UInt64)
        }

        /// What is remembered about a command while its bytes are being skipped.
        struct Discard: Sendable {
            var tag: String?
            var message: String
            /// The last bytes seen, to recognise a literal marker at the end of the
            /// skipped line (`LiteralMarker.longestMarker` at most).
            var tail: [UInt8]
            /// False for a continuation line, which never announces literals.
            var interpretsLiterals: Bool
            /// The command was already answered (an abandoned APPEND): end without BAD.
            var silent = false
            /// The skipped line is the raw continuation line that was expected.
            var continuationLine = false
        }

        /// A command buffer that grew past this (a large APPEND) is released rather
        /// than kept for the next command.
        static let retainedCapacity = 1 << 16

        var input = ByteBuffer()
        var command: [UInt8] = []
        /// Offsets in `command` where literal data begins; the grammar accepts a
        /// literal only there, so `{3}` in the middle of a line is never a literal.
        var literalStarts: [Int] = []
        /// Offset in `command` where the current line begins.
        var lineStart = 0
        /// Literal bytes of the current command so far.
        var commandLiteralBytes: UInt64 = 0
        var mode: Mode = .line
        /// Set by `expectContinuationLine()`: the next line is raw.
        var expectRawLine = false
        /// The current line is the raw line that was expected.
        var readingRawLine = false
        var discard: Discard?
        /// After a fatal event nothing more is decoded: the connection is closing.
        var failed = false

        // Streamed APPEND (see `DecoderEvent.appendBegin`). Invariant: `appendTag` is
        // set from the first message literal to the end of the command; meanwhile
        // `command` holds only the text since the last literal (literal bytes are handed
        // out, never stored), and `streamedLiteralBytes` counts every literal byte of the
        // command so that `maxCommandLiteralBytes` still holds.
        var streamsAppend = false
        var appendTag: String?
        var streamedLiteralBytes: UInt64 = 0
        /// The current message literal is `{n+}`: its bytes come without a continuation.
        var appendLiteralNonSync = false
        /// The current message literal is RFC 6855 `UTF8 (~{n})`: `)` must follow it.
        var appendLiteralInUTF8Data = false
        /// Events produced together (append header, then continuation request).
        var pending: [DecoderEvent] = []

        var bufferedByteCount: Int { input.readableBytes + command.count }

        mutating func append(_ bytes: ByteBuffer) {
            guard !failed else { return }
            if input.readableBytes == 0 {
                // Common case: take the buffer as it is, no copy.
                input = bytes
            } else {
                if input.readerIndex >= State.retainedCapacity { input.discardReadBytes() }
                input.writeImmutableBuffer(bytes)
            }
        }

        mutating func discardAll() {
            input = ByteBuffer()
            pending.removeAll()
            resetCommand()
            expectRawLine = false
        }

        mutating func next(limits: DecoderLimits) -> DecoderEvent? {
            if !pending.isEmpty { return pending.removeFirst() }
            while !failed, input.readableBytes > 0 {
                let streaming = appendTag != nil
                let event: DecoderEvent?
                switch mode {
                case .line: event = stepLine(limits)
                case .literal(let remaining): event = stepLiteral(remaining: remaining)
                case .discardLine: event = stepDiscardLine(limits)
                case .discardLiteral(let remaining): event = stepDiscardLiteral(remaining: remaining)
                case .appendLiteral(let remaining): event = stepAppendLiteral(remaining: remaining)
                }
                if let event { return streaming ? abortingStream(event) : event }
            }
            if input.readableBytes == 0, input.readerIndex > 0 {
                // Nothing left: drop the consumed bytes so the storage can be reused.
                input.clear()
            }
            return nil
        }

        // MARK: - Lines

        private mutating func stepLine(_ limits: DecoderLimits) -> DecoderEvent? {
            // The raw line may already have begun arriving (and been copied) before
            // the session asked for it: what matters is that no literal was framed.
            if expectRawLine, !readingRawLine, literalStarts.isEmpty, lineStart == 0 {
                expectRawLine = false
                readingRawLine = true
            }
            let (lfIndex, available) = input.withUnsafeReadableBytes { ($0.firstIndex(of: ASCII.lf), $0.count) }
            // Line lengths count the terminator; the command's text is all its lines.
            let lineSoFar = command.count - lineStart
            let textSoFar = command.count - Int(commandLiteralBytes)
            let chunk = lfIndex ?? available
            if lineSoFar + chunk + 1 > limits.maxLineLength || textSoFar + chunk + 1 > limits.maxLineLength {
                let room = max(0, limits.maxLineLength - 1 - max(lineSoFar, textSoFar))
                copyInput(count: min(room, chunk))
                beginDiscard(message: "Line too long")
                return nil
            }
            copyInput(count: chunk)
            guard lfIndex != nil else { return nil }
            input.moveReaderIndex(forwardBy: 1)
            if command.count > lineStart, command.last == ASCII.cr { command.removeLast() }
            return lineEnded(limits)
        }

        private mutating func copyInput(count: Int) {
            guard count > 0 else { return }
            input.withUnsafeReadableBytes { raw in
                command.append(contentsOf: UnsafeRawBufferPointer(rebasing: raw[..<count]))
            }
            input.moveReaderIndex(forwardBy: count)
        }

        /// A complete line is in `command[lineStart...]`.
        private mutating func lineEnded(_ limits: DecoderLimits) -> DecoderEvent? {
            if readingRawLine {
                let line = command
                command = []
                resetCommand()
                return .continuationLine(Secret(line))
            }
            if let tag = appendTag, LiteralMarker(endOf: command[lineStart...]) == nil {
                // After a streamed literal: the command's CRLF, or garbage.
                let complete = textAfterStreamedLiteral(command[...])?.isEmpty == true
                resetCommand()
                return complete ? .appendEnd : .bad(tag: tag, message: Self.invalidAppend)
            }
            if command.isEmpty {
                // An empty line between commands is ignored (RFC 9051 has no empty
                // command; some clients send a stray CRLF).
                return nil
            }
            guard let marker = LiteralMarker(endOf: command[lineStart...]) else {
                let event = CommandGrammar.parse(command, literalStarts: literalStarts)
                resetCommand()
                return event
            }
            return literalAnnounced(marker, limits)
        }

        private mutating func literalAnnounced(_ marker: LiteralMarker, _ limits: DecoderLimits) -> DecoderEvent? {
            let tag = appendTag ?? CommandGrammar.tag(in: command)
            if tag == nil, !marker.isNonSynchronizing {
                // No command can follow an unreadable tag: refuse now rather than ask
                // the client for bytes that would only earn a BAD.
                resetCommand()
                return .bad(tag: nil, message: "Invalid tag")
            }
            guard let size = marker.size else {
                if marker.isNonSynchronizing { return fail("Invalid literal size") }
                resetCommand()
                return .bad(tag: tag, message: "Invalid literal size")
            }
            let maxLiteral = UInt64(max(0, limits.maxLiteralSize))
            let maxTotal = UInt64(max(0, limits.maxCommandLiteralBytes))
            // Written as a subtraction so that a 20-digit size cannot overflow.
            let used = commandLiteralBytes + streamedLiteralBytes
            let fitsCommand = used <= maxTotal && size <= maxTotal - used
            guard size <= maxLiteral, fitsCommand else {
                // RFC 7888 §4: the bytes of a non-synchronizing literal are already
                // on their way, so the stream cannot be resynchronised.
                if marker.isNonSynchronizing { return fail("Literal too large") }
                resetCommand()
                return .literalTooLarge(tag: tag, size: size)
            }
            if let tag = appendTag { return nextStreamedMessage(marker, size: size, tag: tag) }
            if streamsAppend, let event = beginStream(marker, size: size) { return event }
            commandLiteralBytes += size
            literalStarts.append(command.count)
            if size == 0 {
                lineStart = command.count
            } else {
                mode = .literal(remaining: size)
            }
            return marker.isNonSynchronizing ? nil : .needsContinuation
        }

        // MARK: - Literals

        private mutating func stepLiteral(remaining: UInt64) -> DecoderEvent? {
            let count = Int(min(UInt64(input.readableBytes), remaining))
            copyInput(count: count)
            let left = remaining - UInt64(count)
            if left == 0 {
                mode = .line
                lineStart = command.count
            } else {
                mode = .literal(remaining: left)
            }
            return nil
        }

        // MARK: - Streamed APPEND

        static let invalidAppend = "Invalid APPEND arguments"

        /// Where the literal marker ending `command` begins (`{` or `~{`).
        private func markerStart() -> Int {
            guard let open = command.lastIndex(of: ASCII.openBrace) else { return command.count }
            return open > lineStart && command[open - 1] == ASCII.tilde ? open - 1 : open
        }

        /// The first message literal of an APPEND: start streaming, or nil when the
        /// command is not an APPEND up to here (it is then framed as usual).
        private mutating func beginStream(_ marker: LiteralMarker, size: UInt64) -> DecoderEvent? {
            let prefix = Array(command[..<markerStart()])
            guard let (tag, mailbox, options) = GrammarParser.appendPrefix(prefix, literalStarts: literalStarts),
                marker.isBinary || !options.isUTF8Data
            else { return nil }
            appendTag = tag
            let header = AppendMessageHeader(
                flags: options.flags, internalDate: options.internalDate, size: size, isBinary: marker.isBinary)
            pending = [.appendMessage(header)]
            if !marker.isNonSynchronizing { pending.append(.needsContinuation) }
            startStreamedLiteral(size: size, marker: marker, inUTF8Data: options.isUTF8Data)
            return .appendBegin(tag: tag, mailbox: mailbox)
        }

        /// A further message literal of a MULTIAPPEND (RFC 3502), announced by the
        /// text after the previous one.
        private mutating func nextStreamedMessage(_ marker: LiteralMarker, size: UInt64, tag: String) -> DecoderEvent {
            guard let text = textAfterStreamedLiteral(command[..<markerStart()]),
                let options = GrammarParser.appendContinuation(text), marker.isBinary || !options.isUTF8Data
            else {
                guard marker.isNonSynchronizing else {
                    resetCommand()
                    return .bad(tag: tag, message: Self.invalidAppend)
                }
                // Its bytes are on their way: skip them and the rest, then answer BAD.
                resetCommand()
                discard = Discard(tag: tag, message: Self.invalidAppend, tail: [], interpretsLiterals: true)
                mode = size == 0 ? .discardLine : .discardLiteral(remaining: size)
                return .appendAborted
            }
            let header = AppendMessageHeader(
                flags: options.flags, internalDate: options.internalDate, size: size, isBinary: marker.isBinary)
            if !marker.isNonSynchronizing { pending = [.needsContinuation] }
            startStreamedLiteral(size: size, marker: marker, inUTF8Data: options.isUTF8Data)
            return .appendMessage(header)
        }

        /// The text after a streamed literal without the `)` that closes RFC 6855
        /// `UTF8 (…)`; nil when that `)` is missing.
        private func textAfterStreamedLiteral(_ text: ArraySlice<UInt8>) -> [UInt8]? {
            guard appendLiteralInUTF8Data else { return Array(text) }
            guard text.first == ASCII.closeParen else { return nil }
            return Array(text.dropFirst())
        }

        private mutating func startStreamedLiteral(size: UInt64, marker: LiteralMarker, inUTF8Data: Bool) {
            let nonSynchronizing = marker.isNonSynchronizing
            streamedLiteralBytes += commandLiteralBytes + size
            commandLiteralBytes = 0
            command.removeAll(keepingCapacity: command.capacity <= State.retainedCapacity)
            literalStarts.removeAll(keepingCapacity: true)
            lineStart = 0
            appendLiteralNonSync = nonSynchronizing
            appendLiteralInUTF8Data = inUTF8Data
            mode = size == 0 ? .line : .appendLiteral(remaining: size)
        }

        private mutating func stepAppendLiteral(remaining: UInt64) -> DecoderEvent? {
            let count = Int(min(UInt64(input.readableBytes), remaining))
            guard count > 0, let chunk = input.readSlice(length: count) else { return nil }
            let left = remaining - UInt64(count)
            mode = left == 0 ? .line : .appendLiteral(remaining: left)
            return .appendData(chunk)
        }

        /// A BAD or TOOBIG ending a streamed APPEND is preceded by `appendAborted`, so
        /// that the handler discards the messages before answering.
        private mutating func abortingStream(_ event: DecoderEvent) -> DecoderEvent {
            switch event {
            case .bad, .literalTooLarge:
                appendTag = nil
                pending.append(event)
                return .appendAborted
            default:
                return event
            }
        }

        mutating func abandonAppend() {
            guard appendTag != nil else { return }
            // The client sends the current literal's bytes if it did not have to wait
            // for a continuation, or already got it (nothing pending).
            let clientSends = appendLiteralNonSync || pending.isEmpty
            pending.removeAll()
            let tail = Array(command.suffix(LiteralMarker.longestMarker))
            let literalLeft: UInt64?
            if case .appendLiteral(let remaining) = mode { literalLeft = remaining } else { literalLeft = nil }
            resetCommand()
            guard clientSends else { return }
            discard = Discard(tag: nil, message: "", tail: tail, interpretsLiterals: true, silent: true)
            mode = literalLeft.map { .discardLiteral(remaining: $0) } ?? .discardLine
        }

        // MARK: - Discarding an over-long command

        /// Stops storing the current command: remembers its tag and the end of the
        /// line so far, then skips up to the end of the command.
        private mutating func beginDiscard(message: String) {
            let tag = readingRawLine ? nil : appendTag ?? CommandGrammar.tag(in: command)
            let tail = Array(command[lineStart...].suffix(LiteralMarker.longestMarker))
            discard = Discard(
                tag: tag, message: message, tail: tail, interpretsLiterals: !readingRawLine,
                continuationLine: readingRawLine)
            command.removeAll(keepingCapacity: command.capacity <= State.retainedCapacity)
            literalStarts.removeAll(keepingCapacity: true)
            lineStart = 0
            mode = .discardLine
        }

        private mutating func stepDiscardLine(_ limits: DecoderLimits) -> DecoderEvent? {
            let (lfIndex, available) = input.withUnsafeReadableBytes { ($0.firstIndex(of: ASCII.lf), $0.count) }
            let chunk = lfIndex ?? available
            rememberTail(count: chunk)
            input.moveReaderIndex(forwardBy: lfIndex == nil ? chunk : chunk + 1)
            guard lfIndex != nil, var state = discard else { return nil }
            if state.tail.last == ASCII.cr { state.tail.removeLast() }
            if state.interpretsLiterals, let marker = LiteralMarker(endOf: state.tail), marker.isNonSynchronizing {
                // The client sends these bytes without waiting: skip them too, then
                // the rest of the command.
                guard let size = marker.size, size <= UInt64(max(0, limits.maxLiteralSize)) else {
                    return fail("Literal too large")
                }
                state.tail.removeAll(keepingCapacity: true)
                discard = state
                mode = size == 0 ? .discardLine : .discardLiteral(remaining: size)
                return nil
            }
            // A synchronizing literal at the end is never sent: the client waits for
            // a continuation and gets this BAD instead.
            resetCommand()
            if state.continuationLine { return .badContinuationLine(message: state.message) }
            return state.silent ? nil : .bad(tag: state.tag, message: state.message)
        }

        private mutating func rememberTail(count: Int) {
            guard count > 0, var state = discard else { return }
            discard = nil  // keep `tail` uniquely referenced while appending
            let keep = min(count, LiteralMarker.longestMarker)
            input.withUnsafeReadableBytes { raw in
                state.tail.append(contentsOf: UnsafeRawBufferPointer(rebasing: raw[(count - keep)..<count]))
            }
            if state.tail.count > LiteralMarker.longestMarker {
                state.tail.removeFirst(state.tail.count - LiteralMarker.longestMarker)
            }
            discard = state
        }

        private mutating func stepDiscardLiteral(remaining: UInt64) -> DecoderEvent? {
            let count = Int(min(UInt64(input.readableBytes), remaining))
            input.moveReaderIndex(forwardBy: count)
            let left = remaining - UInt64(count)
            mode = left == 0 ? .discardLine : .discardLiteral(remaining: left)
            return nil
        }

        // MARK: - Reset

        /// Only for a buffered command (`commandLiteralBytes` counts its literals); a
        /// streamed APPEND is refused with `abandonAppend()`.
        mutating func refuseAnnouncedLiteral() -> String? {
            let tag = CommandGrammar.tag(in: command)
            resetCommand()
            return tag
        }

        private mutating func resetCommand() {
            command.removeAll(keepingCapacity: command.capacity <= State.retainedCapacity)
            literalStarts.removeAll(keepingCapacity: true)
            lineStart = 0
            commandLiteralBytes = 0
            mode = .line
            readingRawLine = false
            discard = nil
            appendTag = nil
            streamedLiteralBytes = 0
            appendLiteralInUTF8Data = false
        }

        private mutating func fail(_ message: String) -> DecoderEvent {
            failed = true
            input = ByteBuffer()
            command = []
            literalStarts = []
            discard = nil
            appendTag = nil
            pending = []
            return .fatal(message: message)
        }
    }
}
