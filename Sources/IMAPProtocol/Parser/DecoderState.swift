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
            resetCommand()
            expectRawLine = false
        }

        mutating func next(limits: DecoderLimits) -> DecoderEvent? {
            while !failed, input.readableBytes > 0 {
                let event: DecoderEvent?
                switch mode {
                case .line: event = stepLine(limits)
                case .literal(let remaining): event = stepLiteral(remaining: remaining)
                case .discardLine: event = stepDiscardLine(limits)
                case .discardLiteral(let remaining): event = stepDiscardLiteral(remaining: remaining)
                }
                if let event { return event }
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
            let tag = CommandGrammar.tag(in: command)
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
            let fitsCommand = commandLiteralBytes <= maxTotal && size <= maxTotal - commandLiteralBytes
            guard size <= maxLiteral, fitsCommand else {
                // RFC 7888 §4: the bytes of a non-synchronizing literal are already
                // on their way, so the stream cannot be resynchronised.
                if marker.isNonSynchronizing { return fail("Literal too large") }
                resetCommand()
                return .literalTooLarge(tag: tag, size: size)
            }
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

        // MARK: - Discarding an over-long command

        /// Stops storing the current command: remembers its tag and the end of the
        /// line so far, then skips up to the end of the command.
        private mutating func beginDiscard(message: String) {
            let tag = readingRawLine ? nil : CommandGrammar.tag(in: command)
            let tail = Array(command[lineStart...].suffix(LiteralMarker.longestMarker))
            discard = Discard(tag: tag, message: message, tail: tail, interpretsLiterals: !readingRawLine)
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
            return .bad(tag: state.tag, message: state.message)
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

        private mutating func resetCommand() {
            command.removeAll(keepingCapacity: command.capacity <= State.retainedCapacity)
            literalStarts.removeAll(keepingCapacity: true)
            lineStart = 0
            commandLiteralBytes = 0
            mode = .line
            readingRawLine = false
            discard = nil
        }

        private mutating func fail(_ message: String) -> DecoderEvent {
            failed = true
            input = ByteBuffer()
            command = []
            literalStarts = []
            discard = nil
            return .fatal(message: message)
        }
    }
}
