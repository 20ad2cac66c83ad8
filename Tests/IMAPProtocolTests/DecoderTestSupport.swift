import IMAPProtocol
import NIOCore
import XCTest

/// Helpers shared by the Decoder* tests: feeding bytes whole, one byte at a time or
/// in chunks, and comparing events structurally (the wire types are not all
/// Equatable, and `Secret` hides its bytes from `description`).

/// A structural rendering of any value; `Secret` shows its bytes so passwords can be
/// compared in tests.
func canonical(_ value: Any) -> String {
    if let secret = value as? Secret { return "Secret(\(secret.bytes))" }
    if let string = value as? String { return string.debugDescription }
    let mirror = Mirror(reflecting: value)
    switch mirror.displayStyle {
    case .enum?:
        guard let child = mirror.children.first else { return "\(value)" }
        return ".\(child.label ?? "?")(\(canonical(child.value)))"
    case .optional?:
        guard let child = mirror.children.first else { return "nil" }
        return canonical(child.value)
    case .collection?:
        return "[" + mirror.children.map { canonical($0.value) }.joined(separator: ", ") + "]"
    case .struct?, .tuple?, .class?:
        let fields = mirror.children.map { ($0.label.map { "\($0): " } ?? "") + canonical($0.value) }
        return "\(type(of: value))(" + fields.joined(separator: ", ") + ")"
    default:
        return "\(value)"
    }
}

/// Feeds `input` in pieces of `chunkSize` bytes (nil: all at once), draining the
/// decoder after each piece. Fails the test if the decoder ever returns more events
/// than bytes it was given plus a margin (it must always make progress and stop).
func decodeEvents(
    _ input: [UInt8], chunkSize: Int? = nil, limits: DecoderLimits = DecoderLimits(),
    file: StaticString = #filePath, line: UInt = #line
) -> [DecoderEvent] {
    var decoder = CommandDecoder(limits: limits)
    return feed(&decoder, input, chunkSize: chunkSize, file: file, line: line)
}

func feed(
    _ decoder: inout CommandDecoder, _ input: [UInt8], chunkSize: Int? = nil,
    file: StaticString = #filePath, line: UInt = #line
) -> [DecoderEvent] {
    var events: [DecoderEvent] = []
    let step = max(1, chunkSize ?? input.count)
    var offset = 0
    repeat {
        let end = min(input.count, offset + step)
        decoder.append(ByteBuffer(bytes: input[offset..<end]))
        offset = end
        var drained = 0
        while let event = decoder.next() {
            events.append(event)
            drained += 1
            if drained > input.count + 2 {
                XCTFail("decoder does not stop producing events", file: file, line: line)
                return events
            }
        }
    } while offset < input.count
    return events
}

func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }

/// Decodes `input` whole and byte by byte; asserts both give the same events and
/// returns them.
func decodeBothWays(
    _ input: [UInt8], limits: DecoderLimits = DecoderLimits(), file: StaticString = #filePath, line: UInt = #line
) -> [DecoderEvent] {
    let whole = decodeEvents(input, limits: limits, file: file, line: line)
    let dripped = decodeEvents(input, chunkSize: 1, limits: limits, file: file, line: line)
    XCTAssertEqual(
        whole.map(canonical), dripped.map(canonical), "whole vs byte-by-byte differ", file: file, line: line)
    return whole
}

/// Asserts `text` (CRLF appended unless it already ends in LF) decodes to exactly
/// the command `expected` with tag `tag`, both whole and byte by byte.
func assertCommand(
    _ text: String, _ expected: Command, tag: String = "a", file: StaticString = #filePath, line: UInt = #line
) {
    let input = text.hasSuffix("\n") ? bytes(text) : bytes(text + "\r\n")
    let events = decodeBothWays(input, file: file, line: line)
    XCTAssertEqual(
        events.map(canonical), [canonical(DecoderEvent.command(TaggedCommand(tag: tag, command: expected)))],
        text, file: file, line: line)
}

/// Asserts `text` decodes to one BAD with `tag` and (if given) `message`.
func assertBad(
    _ text: String, tag: String? = "a", message: String? = nil, file: StaticString = #filePath, line: UInt = #line
) {
    let input = text.hasSuffix("\n") ? bytes(text) : bytes(text + "\r\n")
    let events = decodeBothWays(input, file: file, line: line)
    guard events.count == 1, case .bad(let badTag, let badMessage) = events[0] else {
        XCTFail(
            "expected one BAD for \(text.prefix(80).debugDescription), got \(events.map(canonical))", file: file,
            line: line)
        return
    }
    let shown = String(text.prefix(80))
    XCTAssertEqual(badTag, tag, shown, file: file, line: line)
    if let message { XCTAssertEqual(badMessage, message, shown, file: file, line: line) }
}

/// The single command `text` decodes to, or nil (with a failure) otherwise.
func parsedCommand(_ text: String, file: StaticString = #filePath, line: UInt = #line) -> Command? {
    let events = decodeBothWays(bytes(text + "\r\n"), file: file, line: line)
    guard events.count == 1, case .command(let tagged) = events[0] else {
        XCTFail(
            "expected one command for \(text.debugDescription), got \(events.map(canonical))", file: file, line: line)
        return nil
    }
    return tagged.command
}

/// Sequence-set shorthands.
func seqs(_ ranges: [(UInt32?, UInt32?)]) -> SequenceSet<SequenceNumber> {
    .ranges(ranges.map { SequenceRange(bound($0.0), bound($0.1)) })
}

func uids(_ ranges: [(UInt32?, UInt32?)]) -> SequenceSet<UID> {
    .ranges(ranges.map { SequenceRange(bound($0.0), bound($0.1)) })
}

/// nil is `*`.
func bound<N: MessageNumber>(_ n: UInt32?) -> SequenceBound<N> {
    n.map { .number(N($0)) } ?? .star
}

func seq(_ n: UInt32) -> SequenceSet<SequenceNumber> { seqs([(n, n)]) }
func uid(_ n: UInt32) -> SequenceSet<UID> { uids([(n, n)]) }
