import IMAPProtocol
import NIOCore
import XCTest

/// Streamed APPEND (`CommandDecoder.streamsAppend`): the message literal leaves the
/// decoder in chunks, never buffered whole; the events are the same whether the input
/// arrives at once or byte by byte (apart from how the data is chunked).
final class DecoderAppendStreamTests: XCTestCase {
    /// Renders events with consecutive `appendData` merged into one `data(...)`.
    private func render(_ input: String, chunkSize: Int? = nil, abandonAt: String? = nil) -> [String] {
        var decoder = CommandDecoder()
        decoder.streamsAppend = true
        let all = bytes(input)
        let step = chunkSize ?? all.count
        var out: [String] = []
        var offset = 0
        while offset < all.count {
            let end = min(all.count, offset + step)
            decoder.append(ByteBuffer(bytes: all[offset..<end]))
            offset = end
            while let event = decoder.next() {
                var rendered: String
                switch event {
                case .appendData(let buffer):
                    let text = String(buffer: buffer)
                    if let last = out.last, last.hasPrefix("data:") {
                        out[out.count - 1] = last + text
                        continue
                    }
                    rendered = "data:" + text
                case .appendBegin(let tag, let mailbox): rendered = "begin \(tag) \(mailbox.rawValue)"
                case .appendMessage(let h):
                    rendered = "message \(h.size) \(h.flags) \(h.internalDate.map { "\($0)" } ?? "-") \(h.isBinary)"
                case .appendEnd: rendered = "end"
                case .appendAborted: rendered = "aborted"
                case .needsContinuation: rendered = "+"
                case .bad(let tag, let message): rendered = "bad \(tag ?? "*") \(message)"
                case .literalTooLarge(let tag, let size): rendered = "toobig \(tag ?? "*") \(size)"
                case .command(let c): rendered = "command \(c.tag) \(c.command.name)"
                default: rendered = canonical(event)
                }
                out.append(rendered)
                if let abandonAt, rendered.hasPrefix(abandonAt) { decoder.abandonAppend() }
            }
        }
        return out
    }

    private func assertStreams(
        _ input: String, _ expected: [String], file: StaticString = #filePath, line: UInt = #line
    ) {
        XCTAssertEqual(render(input), expected, "whole", file: file, line: line)
        XCTAssertEqual(render(input, chunkSize: 1), expected, "byte by byte", file: file, line: line)
    }

    func testSingleMessage() {
        assertStreams(
            "a APPEND INBOX (\\Seen) {5}\r\nhello\r\na NOOP\r\n",
            ["begin a INBOX", "message 5 [\\Seen] - false", "+", "data:hello", "end", "command a NOOP"])
    }

    func testMultiAppendWithLiteralPlusAndLiteral8() {
        assertStreams(
            "t APPEND Drafts {2+}\r\nab ~{3}\r\nxyz {1+}\r\nq\r\n",
            [
                "begin t Drafts", "message 2 [] - false", "data:ab", "message 3 [] - true", "+", "data:xyz",
                "message 1 [] - false", "data:q", "end",
            ])
    }

    func testGarbageAfterALiteralAbortsThenBad() {
        assertStreams(
            "t APPEND INBOX {2+}\r\nab junk\r\nt2 NOOP\r\n",
            [
                "begin t INBOX", "message 2 [] - false", "data:ab", "aborted", "bad t Invalid APPEND arguments",
                "command t2 NOOP",
            ])
        assertStreams(
            "t APPEND INBOX {2+}\r\nab junk {3+}\r\nxyz\r\nt2 NOOP\r\n",
            [
                "begin t INBOX", "message 2 [] - false", "data:ab", "aborted", "bad t Invalid APPEND arguments",
                "command t2 NOOP",
            ])
    }

    /// RFC 6855 §4 `UTF8 (literal8)`: the closing `)` follows the literal.
    func testUTF8DataItem() {
        assertStreams(
            "t APPEND INBOX UTF8 (~{3}\r\nabc)\r\n",
            ["begin t INBOX", "message 3 [] - true", "+", "data:abc", "end"])
        assertStreams(
            "t APPEND INBOX (\\Seen) utf8 (~{3+}\r\nabc) UTF8 (~{1+}\r\nq) {1+}\r\nz\r\n",
            [
                "begin t INBOX", "message 3 [\\Seen] - true", "data:abc", "message 1 [] - true", "data:q",
                "message 1 [] - false", "data:z", "end",
            ])
        assertStreams(
            "t APPEND INBOX UTF8 (~{3+}\r\nabc\r\n",
            ["begin t INBOX", "message 3 [] - true", "data:abc", "aborted", "bad t Invalid APPEND arguments"])
    }

    /// The total per command still applies across streamed literals.
    func testTotalLimitAcrossMessages() {
        var decoder = CommandDecoder(limits: DecoderLimits(maxCommandLiteralBytes: 4))
        decoder.streamsAppend = true
        decoder.append(ByteBuffer(string: "t APPEND INBOX {3+}\r\nabc {3}\r\n"))
        var kinds: [String] = []
        while let event = decoder.next() { kinds.append(String(canonical(event).prefix(14))) }
        XCTAssertEqual(kinds.last, ".literalTooLar")
        XCTAssertEqual(kinds.dropLast().last, "appendAborted")
    }

    /// Refused by the handler: a synchronizing literal is never requested; a
    /// non-synchronizing one (and the rest of the command) is skipped silently.
    func testAbandon() {
        XCTAssertEqual(
            render("a APPEND X {5}\r\na NOOP\r\n", abandonAt: "begin"), ["begin a X", "command a NOOP"])
        XCTAssertEqual(
            render("a APPEND X {5+}\r\nhello {2+}\r\nab\r\nb NOOP\r\n", abandonAt: "begin"),
            ["begin a X", "command b NOOP"])
        XCTAssertEqual(
            render("a APPEND X {5+}\r\nhello {2+}\r\nab\r\nb NOOP\r\n", chunkSize: 1, abandonAt: "data"),
            ["begin a X", "message 5 [] - false", "data:h", "command b NOOP"])
    }

    /// Without `streamsAppend` the command is parsed whole, as before.
    func testOffByDefault() {
        let events = decodeBothWays(bytes("a APPEND INBOX {5}\r\nhello\r\n"))
        XCTAssertEqual(events.count, 2)
        guard case .command(let c) = events.last else { return XCTFail("\(events)") }
        XCTAssertEqual(c.command.name, "APPEND")
    }
}
