import IMAPProtocol
import XCTest

/// Malformed commands: each is one BAD (with the tag when it can be read) and the
/// decoder goes on with the next command. The decoder knows nothing of session
/// state: a command valid only in another state still parses.
final class DecoderBadTests: XCTestCase {
    func testGarbage() {
        assertBad("\u{1}\u{2}\u{3}", tag: nil, message: "Invalid tag")
        assertBad(" a NOOP", tag: nil, message: "Invalid tag")
        assertBad("(((", tag: nil, message: "Invalid tag")
        assertBad("a", tag: "a", message: "Missing command")
        assertBad("a ", tag: "a", message: "Missing command")
        assertBad("a  NOOP", tag: "a")
        assertBad("a FOO", tag: "a", message: "Unknown command FOO")
        assertBad("a UID FOO 1", tag: "a", message: "Unknown command UID FOO")
        assertBad("a UID", tag: "a", message: "Missing argument")
        assertBad(
            "a " + String(repeating: "Z", count: 100), message: "Unknown command " + String(repeating: "Z", count: 32))
        assertBad("a NOOP extra", message: "Unexpected character")
        assertBad("a NOOP ", message: "Unexpected character")
        assertBad("a \u{7F}", message: "Unexpected character")
    }

    func testGarbageDoesNotStopTheNextCommand() {
        let events = decodeBothWays(bytes("\u{0}\u{FF}garbage\r\na LIST (\r\nb NOOP\r\n"))
        XCTAssertEqual(
            events.map(canonical),
            [
                DecoderEvent.bad(tag: nil, message: "Invalid tag"), .bad(tag: "a", message: "Missing argument"),
                .command(TaggedCommand(tag: "b", command: .noop)),
            ].map(canonical))
    }

    func testMissingArguments() {
        for text in [
            "a LOGIN", "a LOGIN fred", "a SELECT", "a EXAMINE", "a CREATE", "a DELETE", "a RENAME x", "a SUBSCRIBE",
            "a LIST", "a LIST \"\"", "a LSUB x", "a STATUS x", "a APPEND", "a APPEND x", "a FETCH 1", "a STORE 1",
            "a COPY 1", "a MOVE 1", "a UID EXPUNGE", "a ENABLE", "a AUTHENTICATE", "a ID",
        ] {
            assertBad(text, message: "Missing argument")
        }
    }

    func testUnbalancedParentheses() {
        assertBad("a STATUS x (MESSAGES", message: "Unbalanced parentheses")
        assertBad("a STATUS x MESSAGES)", message: "Unexpected character")
        assertBad("a FETCH 1 (FLAGS UID", message: "Unbalanced parentheses")
        assertBad("a LIST (SUBSCRIBED \"\" *", message: "Unexpected character")
        assertBad("a SELECT x (CONDSTORE", message: "Unbalanced parentheses")
        assertBad("a APPEND x (\\Seen {1+}\r\nx", message: "Invalid flag")
        assertBad("a ID (\"a\" \"b\"", message: "Unbalanced parentheses")
        assertBad("a LIST \"\" % RETURN (X (((")
    }

    func testStrings() {
        assertBad("a LOGIN \"fred pw", message: "Invalid quoted string")
        assertBad("a LOGIN \"fr\\ed\" pw", message: "Invalid quoted string")
        assertBad("a LOGIN \"fr\red\" pw", message: "Invalid quoted string")
        assertBad("a LOGIN fred\u{80} pw", message: "Unexpected character")
        assertBad("a LOGIN \"fred\"pw", message: "Unexpected character")
        assertBad("a ID (\"k\" v)", message: "Unexpected character")
        assertBad("a ID FOO", message: "Unexpected character")
        var decoder = CommandDecoder()
        let invalid = bytes("a DELETE \"") + [0xC3, 0x28] + bytes("\"\r\n")
        guard case .bad(let tag, let message)? = feed(&decoder, invalid).first else { return XCTFail() }
        XCTAssertEqual(tag, "a")
        XCTAssertEqual(message, "Invalid mailbox name")
    }

    func testArgumentsOfSimpleCommands() {
        assertBad("a AUTHENTICATE PLAIN a=b", message: "Invalid base64")
        assertBad("a AUTHENTICATE PLAIN ab$", message: "Unexpected character")
        assertBad("a SELECT x (FOO)", message: "Unknown SELECT parameter")
        assertBad("a SELECT x (QRESYNC (0 1))", message: "Invalid number")
        assertBad("a SELECT x (QRESYNC (1 0))", message: "Invalid number")
        assertBad("a SELECT x (QRESYNC (1 2 3:4 (1)))")
        assertBad("a CREATE x (FOO (\\Sent))", message: "Unknown CREATE parameter")
        assertBad("a CREATE x (USE (Sent))")
        assertBad("a STATUS x (FOO)", message: "Unknown STATUS attribute")
        assertBad("a STATUS x ()")
        assertBad("a LIST \"\" % FOO (CHILDREN)")
        assertBad("a LIST \"\" ()")
        assertBad("a APPEND x {1+}\r\na (\\Seen)")
        assertBad("a APPEND x \"1-Jan-2024 25:00:00 +0000\" {1+}\r\na", message: "Invalid date")
        assertBad("a APPEND x \"1-Jan-2024 10:00:00 0000\" {1+}\r\na", message: "Invalid date")
        assertBad("a APPEND x \"1-Jan-2024 10:00:00 +0060\" {1+}\r\na", message: "Invalid date")
        assertBad("a APPEND x \\Seen {1+}\r\na", message: "Expected a literal")
        assertBad("a APPEND x (\\*) {1+}\r\na", message: "Invalid flag")
        assertBad("a LOGIN {3+}\r\nabc", message: "Missing argument")
    }

    func testStateAgnostic() {
        // The decoder parses FETCH before LOGIN and LOGIN after SELECT alike; the
        // session decides what is allowed.
        let events = decodeBothWays(bytes("a FETCH 1 FLAGS\r\nb LOGIN x y\r\nc STARTTLS\r\n"))
        XCTAssertEqual(events.count, 3)
        for event in events {
            guard case .command = event else { return XCTFail(canonical(event)) }
        }
    }
}
