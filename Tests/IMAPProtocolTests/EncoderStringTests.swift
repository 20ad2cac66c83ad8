import NIOCore
import XCTest

@testable import IMAPProtocol

/// Atom / quoted / literal choice (RFC 9051 §4.3, Dovecot imap-quote.c behaviour).
final class EncoderStringTests: XCTestCase {
    private func string(_ value: [UInt8], utf8: Bool = false, strip: Bool = false) -> [UInt8] {
        EncoderFixture.written(utf8: utf8) { e, buf in e.writeString(value, stripLineBreaks: strip, into: &buf) }
    }

    private func astring(_ value: String, utf8: Bool = false) -> String {
        EncoderFixture.writtenText(utf8: utf8) { e, buf in e.writeAString(value, into: &buf) }
    }

    private func b(_ s: String) -> [UInt8] { Array(s.utf8) }

    func testAStringUsesAtomWhenPossible() {
        XCTAssertEqual(astring("INBOX"), "INBOX")
        XCTAssertEqual(astring("Archive.2024"), "Archive.2024")
        XCTAssertEqual(astring("a]b"), "a]b", "resp-specials is an ASTRING-CHAR")
        XCTAssertEqual(astring("ni"), "ni")
    }

    func testAStringQuotesWhatIsNotAnAtom() {
        XCTAssertEqual(astring(""), "\"\"")
        XCTAssertEqual(astring("NIL"), #""NIL""#, "never confuse NIL with the string NIL")
        XCTAssertEqual(astring("niL"), #""niL""#)
        XCTAssertEqual(astring("Sent Items"), #""Sent Items""#)
        XCTAssertEqual(astring("a(b"), #""a(b""#)
        XCTAssertEqual(astring("a{b"), #""a{b""#)
        XCTAssertEqual(astring("50%"), #""50%""#)
        XCTAssertEqual(astring("a*"), #""a*""#)
        XCTAssertEqual(astring(#"a"b"#), #""a\"b""#)
        XCTAssertEqual(astring(#"\"#), #""\\""#)
    }

    func testStringIsQuotedEvenWhenItCouldBeAnAtom() {
        XCTAssertEqual(string(b("us-ascii")), b(#""us-ascii""#))
        XCTAssertEqual(string(b("a]b")), b(#""a]b""#))
        XCTAssertEqual(string([]), b("\"\""))
    }

    func testEscapesUpToFourThenLiteral() {
        XCTAssertEqual(string(b(#"\\\\"#)), b(#""\\\\\\\\""#))
        let fourQuotes = [UInt8](repeating: EncoderByte.dquote, count: 4)
        XCTAssertEqual(string(fourQuotes), b("\"" + String(repeating: "\\\"", count: 4) + "\""))
        XCTAssertEqual(string(b(#"\\\\\"#)), b("{5}\r\n" + #"\\\\\"#))
        XCTAssertEqual(string(b(#"a"b"c"d"e"f"#)), b("{11}\r\n" + #"a"b"c"d"e"f"#))
    }

    func testLineBreaksForceALiteral() {
        XCTAssertEqual(string(b("a\r\nb")), b("{4}\r\na\r\nb"))
        XCTAssertEqual(string(b("a\nb")), b("{3}\r\na\nb"))
        XCTAssertEqual(string(b("a\rb")), b("{3}\r\na\rb"))
    }

    func testLineBreaksCanBeStripped() {
        XCTAssertEqual(string(b("a\r\n b"), strip: true), b(#""a b""#))
        XCTAssertEqual(string(b("\r\n"), strip: true), b("\"\""))
        XCTAssertEqual(string(b("x\r\n\"y"), strip: true), b(#""x\"y""#))
        // Still a literal when something else needs one; the length excludes CR/LF.
        XCTAssertEqual(string([0x61, 0x0D, 0x0A, 0x20, 0xE9], strip: true), b("{3}\r\n") + [0x61, 0x20, 0xE9])
    }

    func testEightBitIsALiteralWithoutUTF8() {
        let grusse = b("Grüße")
        XCTAssertEqual(string(grusse), b("{7}\r\n") + grusse)
    }

    func testValidUTF8IsQuotedWhenEnabled() {
        let grusse = b("Grüße")
        XCTAssertEqual(string(grusse, utf8: true), b("\"") + grusse + b("\""))
        XCTAssertEqual(astring("Entwürfe", utf8: true), #""Entwürfe""#)
        XCTAssertEqual(string(b("日本語 \"x\""), utf8: true), b(#""日本語 \"x\"""#))
    }

    func testInvalidUTF8IsALiteralEvenWhenEnabled() {
        for bad: [UInt8] in [
            [0xC3, 0x28], [0xE9], [0xED, 0xA0, 0x80], [0xC0, 0xAF], [0xF4, 0x90, 0x80, 0x80], [0xE2, 0x82],
        ] {
            XCTAssertEqual(string(bad, utf8: true), b("{\(bad.count)}\r\n") + bad, "\(bad)")
        }
    }

    func testNULBecomes0x80InsideALiteral() {
        XCTAssertEqual(string([0x61, 0x00, 0x62]), b("{3}\r\n") + [0x61, 0x80, 0x62])
        XCTAssertEqual(string([0x61, 0x00, 0x62], utf8: true), b("{3}\r\n") + [0x61, 0x80, 0x62])
    }

    func testLongStringsBecomeLiterals() {
        let limit = [UInt8](repeating: 0x61, count: EncoderLimits.maxQuotedLength)
        XCTAssertEqual(string(limit), b("\"") + limit + b("\""))
        let over = limit + [0x61]
        XCTAssertEqual(string(over), b("{\(over.count)}\r\n") + over)
    }

    func testNString() {
        XCTAssertEqual(EncoderFixture.writtenText { e, buf in e.writeNString(nil, into: &buf) }, "NIL")
        XCTAssertEqual(EncoderFixture.writtenText { e, buf in e.writeNString([], into: &buf) }, "\"\"")
        XCTAssertEqual(EncoderFixture.writtenText { e, buf in e.writeNString(self.b("NIL"), into: &buf) }, #""NIL""#)
    }

    func testNumbers() {
        let cases: [(UInt64, String)] = [
            (0, "0"), (7, "7"), (10, "10"), (99, "99"), (100, "100"), (4_294_967_295, "4294967295"),
            (UInt64.max, "18446744073709551615"),
        ]
        for (value, text) in cases {
            XCTAssertEqual(EncoderFixture.writtenText { e, buf in e.writeNumber(value, into: &buf) }, text)
        }
        XCTAssertEqual(EncoderFixture.writtenText { e, buf in e.writeNumber(-5, into: &buf) }, "0")
        XCTAssertEqual(
            EncoderFixture.writtenText { e, buf in e.writePaddedNumber(7, width: 4, into: &buf) }, "0007")
        XCTAssertEqual(
            EncoderFixture.writtenText { e, buf in e.writePaddedNumber(123_456, width: 4, into: &buf) }, "9999")
    }

    func testDelimiter() {
        func delimiter(_ c: Character?, utf8: Bool = false) -> String {
            EncoderFixture.writtenText(utf8: utf8) { e, buf in e.writeDelimiter(c, into: &buf) }
        }
        XCTAssertEqual(delimiter("/"), #""/""#)
        XCTAssertEqual(delimiter("."), #"".""#)
        XCTAssertEqual(delimiter("\\"), #""\\""#)
        XCTAssertEqual(delimiter("\""), #""\"""#)
        XCTAssertEqual(delimiter(nil), "NIL")
        XCTAssertEqual(delimiter("\r\n"), "NIL")
        XCTAssertEqual(delimiter("§"), "NIL")
        XCTAssertEqual(delimiter("§", utf8: true), #""§""#)
    }

    func testSequenceSet() {
        XCTAssertEqual(encodeSequenceSet([1...3, 7...7, 9...12]), "1:3,7,9:12")
        XCTAssertEqual(encodeSequenceSet([5...5]), "5")
        XCTAssertEqual(encodeSequenceSet([1...4_294_967_295]), "1:4294967295")
        XCTAssertEqual(encodeSequenceSet([]), "")
        XCTAssertEqual(
            EncoderFixture.writtenText { e, buf in e.writeSequenceSet([1...3, 7...7, 9...12], into: &buf) },
            "1:3,7,9:12")
    }
}
