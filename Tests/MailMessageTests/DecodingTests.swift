import IMAPProtocol
import XCTest

@testable import MailMessage

/// RFC 2047, RFC 2231, base64, quoted-printable and charset conversion for SEARCH.
final class DecodingTests: XCTestCase {
    func decode2047(_ s: String) -> String { RFC2047.decode(Array(s.utf8)) }

    func testEncodedWords() {
        XCTAssertEqual(decode2047("=?ISO-8859-1?Q?a?= b"), "a b")
        XCTAssertEqual(decode2047("=?ISO-8859-1?Q?a?=  =?ISO-8859-1?Q?b?="), "ab")
        XCTAssertEqual(decode2047("=?ISO-8859-1?Q?a?=\t =?ISO-8859-2?Q?_b?="), "a b")
        XCTAssertEqual(decode2047("=?ISO-8859-1?Q?a_b?="), "a b")
        XCTAssertEqual(decode2047("(=?ISO-8859-1?Q?a?=)"), "(a)")
        XCTAssertEqual(decode2047("=?utf-8?b?w6k=?="), "é")
        XCTAssertEqual(decode2047("=?UTF-8*en?Q?caf=C3=A9?="), "café")
        XCTAssertEqual(decode2047("x=?utf-8?q?=C3=A9?=y"), "xéy")
        // A UTF-8 character split across two words (each invalid alone) is rejoined.
        XCTAssertEqual(decode2047("=?UTF-8?B?4oI=?= =?UTF-8?B?rA==?="), "€")
        // Not encoded words: left as they are.
        XCTAssertEqual(decode2047("=?utf-8?x?abc?="), "=?utf-8?x?abc?=")
        XCTAssertEqual(decode2047("=?utf-8?q?no end"), "=?utf-8?q?no end")
        XCTAssertEqual(decode2047("=??q?a?="), "=??q?a?=")
        XCTAssertEqual(decode2047("price =?"), "price =?")
        // Unknown charset: UTF-8 if valid, else Latin-1.
        XCTAssertEqual(decode2047("=?x-unknown?q?=C3=A9?="), "é")
        XCTAssertEqual(decode2047("=?x-unknown?q?=E9?="), "é")
        XCTAssertEqual(decode2047("=?windows-1252?q?=80?="), "€")
        XCTAssertEqual(decode2047("=?koi8-r?b?8NLJ18XU?="), "Привет")
    }

    func testQuotedPrintable() {
        func qp(_ s: String) -> String {
            String(decoding: QuotedPrintable.decode(Array(s.utf8), header: false), as: UTF8.self)
        }
        XCTAssertEqual(qp("a=3Db"), "a=b")
        XCTAssertEqual(qp("a=3db"), "a=b")
        XCTAssertEqual(qp("soft=\nbreak"), "softbreak")
        XCTAssertEqual(qp("soft=\r\nbreak"), "softbreak")
        XCTAssertEqual(qp("soft= \t\nbreak"), "softbreak")
        XCTAssertEqual(qp("trailing   \nnext"), "trailing\r\nnext")
        XCTAssertEqual(qp("kept=20\nnext"), "kept \r\nnext")
        XCTAssertEqual(qp("bad=ZZ and =4"), "bad=ZZ and =4")
        XCTAssertEqual(qp("end="), "end")
        XCTAssertEqual(qp("under_score"), "under_score")
        XCTAssertEqual(
            String(decoding: QuotedPrintable.decode(Array("a_b=5F".utf8), header: true), as: UTF8.self), "a b_")
    }

    func testBase64() {
        func b64(_ s: String) -> String { String(decoding: Base64.decode(Array(s.utf8)), as: UTF8.self) }
        XCTAssertEqual(b64("aGVsbG8="), "hello")
        XCTAssertEqual(b64("aGVs\r\nbG8="), "hello")
        XCTAssertEqual(b64("aGVsbG8"), "hello")
        XCTAssertEqual(b64("a GV*sb!G8=ignored"), "hello")
        XCTAssertEqual(b64(""), "")
        XCTAssertEqual(b64("="), "")
    }

    func testCharsets() {
        XCTAssertEqual(Charset.decode([0xE9], charset: Array("ISO-8859-1".utf8)), "é")
        XCTAssertEqual(Charset.decode([0xA4], charset: Array("iso-8859-15".utf8)), "€")
        XCTAssertEqual(Charset.decode([0xA4], charset: Array("latin1".utf8)), "¤")
        XCTAssertEqual(Charset.decode([0xB1, 0xE6], charset: Array("ISO_8859-2".utf8)), "ąć")
        XCTAssertEqual(Charset.decode([0x9A, 0xE8], charset: Array("windows-1250".utf8)), "šč")
        XCTAssertEqual(Charset.decode([0xCF, 0xF0, 0xE8], charset: Array("cp1251".utf8)), "При")
        XCTAssertEqual(Charset.decode([0x93, 0x94, 0x80], charset: Array("Windows-1252".utf8)), "“”€")
        XCTAssertEqual(Charset.decode([0xF0, 0xD2, 0xC9], charset: Array("KOI8-R".utf8)), "При")
        XCTAssertEqual(Charset.decode([0xC1], charset: Array("iso-8859-7".utf8)), "Α")
        XCTAssertEqual(Charset.decode([0xBF], charset: Array("iso-8859-5".utf8)), "П")
        XCTAssertEqual(Charset.decode([0xFD], charset: Array("latin5".utf8)), "ı")
        XCTAssertEqual(Charset.decode(Array("é".utf8), charset: Array("utf8".utf8)), "é")
        XCTAssertEqual(Charset.decode([0xFF], charset: Array("UTF-8".utf8)), "\u{FFFD}")
        // US-ASCII text with 8-bit bytes, and unknown charsets: UTF-8 if valid, else Latin-1.
        XCTAssertEqual(Charset.decode(Array("é".utf8), charset: Array("us-ascii".utf8)), "é")
        XCTAssertEqual(Charset.decode([0xE9], charset: Array("x-mystery".utf8)), "é")
        XCTAssertEqual(Charset.decode([0xE9], charset: nil as [UInt8]?), "é")
        XCTAssertNil(Charset.named(Array("x-mystery".utf8)))
        // Every table is complete.
        for table in [
            CharsetTables.iso88592, CharsetTables.iso88595, CharsetTables.iso88597, CharsetTables.iso88599,
            CharsetTables.iso885915, CharsetTables.windows1250, CharsetTables.windows1251, CharsetTables.windows1252,
            CharsetTables.koi8r,
        ] {
            XCTAssertEqual(table.count, 128)
        }
    }

    func testRFC2231Values() {
        let extended = MIMEParameter(name: Array("filename*".utf8), value: Array("utf-8'de'M%C3%A4rz.txt".utf8))
        XCTAssertEqual(extended.decodedValue, "März.txt")
        XCTAssertEqual(extended.baseName, Array("filename".utf8))
        let latin = MIMEParameter(name: Array("name*".utf8), value: Array("iso-8859-1''caf%E9".utf8))
        XCTAssertEqual(latin.decodedValue, "café")
        let noCharset = MIMEParameter(name: Array("name*".utf8), value: Array("plain%20text".utf8))
        XCTAssertEqual(noCharset.decodedValue, "plain text")
        let encodedWord = MIMEParameter(name: Array("name".utf8), value: Array("=?utf-8?q?caf=C3=A9?=".utf8))
        XCTAssertEqual(encodedWord.decodedValue, "café")
    }

    func testRFC2231Merging() {
        func params(_ value: String) -> [String] {
            MIMEParameters.parseContentType(Array(value.utf8)).parameters.map {
                String(decoding: $0.name, as: UTF8.self) + "=" + String(decoding: $0.value, as: UTF8.self)
            }
        }
        XCTAssertEqual(params("a/b; x*1=\"b\"; x*0=a; y=1"), ["y=1", "x=ab"])
        XCTAssertEqual(params("a/b; x*0*=utf-8''%41; x*1=\"100%\""), ["x*=utf-8''%41100%25"])
        XCTAssertEqual(params("a/b; x*0=a; x*2=c"), ["x*0=a", "x*2=c"])
        XCTAssertEqual(params("a/b; x*=us-ascii'en'a%20b"), ["x*=us-ascii'en'a%20b"])
        // Dovecot resynchronises byte by byte after a broken parameter: the ";" that
        // ended it is skipped, and so is everything after it.
        XCTAssertEqual(params("a/b; broken; ok=1"), [])
        XCTAssertEqual(params("a/b; ok=1; broken"), ["ok=1"])
        XCTAssertEqual(params("a/b; q=\"a\\\"b\" (comment) ; r=tok"), ["q=a\"b", "r=tok"])
        XCTAssertEqual(params("a/b; name==?utf-8?b?YQ==?="), ["name==?utf-8?b?YQ==?="])
    }

    func testContentTypeValues() {
        let ct = MIMEParameters.parseContentType(Array(" (c) Text / HTML ; charset=\"UTF-8\"".utf8))
        XCTAssertEqual(ct.type, Array("Text".utf8))
        XCTAssertEqual(ct.subtype, Array("HTML".utf8))
        XCTAssertEqual(ct.parameters.first?.value, Array("UTF-8".utf8))
        let noSubtype = MIMEParameters.parseContentType(Array("text".utf8))
        XCTAssertEqual(noSubtype.type, Array("text".utf8))
        XCTAssertNil(noSubtype.subtype)
        XCTAssertNil(MIMEParameters.parseEncoding(Array("?invalid".utf8)))
        XCTAssertNil(MIMEParameters.parseEncoding(Array("base64 junk".utf8)))
        XCTAssertEqual(MIMEParameters.parseEncoding(Array(" BASE64 (c)".utf8)), Array("BASE64".utf8))
        XCTAssertEqual(
            MIMEParameters.parseLanguages(Array("en, de-CH (Swiss)".utf8)), [Array("en".utf8), Array("de-CH".utf8)])
    }

    func testSearchMatches() {
        XCTAssertTrue(searchMatches("Grüße aus München", "MÜNCHEN"))
        XCTAssertTrue(searchMatches("MÜNCHEN", "münchen"))
        XCTAssertTrue(searchMatches("anything", ""))
        XCTAssertTrue(searchMatches("abcabd", "abd"))
        XCTAssertTrue(searchMatches("ΣΊΣΥΦΟΣ", "σίσυφ"))
        XCTAssertFalse(searchMatches("abc", "abcd"))
        XCTAssertFalse(searchMatches("", "a"))
        XCTAssertFalse(searchMatches("hello world", "word"))
    }

    func testMediaTypeKeepsHeaderSpelling() {
        withMessage("Content-Type: TEXT/Plain\n\nx\n") { tree, raw in
            guard case .singlepart(let part) = tree.bodyStructure(raw, extensible: false) else { return XCTFail() }
            XCTAssertEqual(part.mediaType, Array("TEXT".utf8))
            XCTAssertEqual(part.kind, .text(subtype: Array("Plain".utf8), lines: 1))
        }
        withMessage("Content-Type: text/plain\n\nx\n") { tree, raw in
            guard case .singlepart(let part) = tree.bodyStructure(raw, extensible: false) else { return XCTFail() }
            XCTAssertNil(part.mediaType)
        }
    }

    func testNonMIMEContentFieldsAreIgnored() {
        // Without MIME-Version or Content-Type, Dovecot forgets the Content-* fields.
        withMessage("Content-Transfer-Encoding: base64\nContent-ID: <x>\n\naGk=\n") { tree, raw in
            XCTAssertEqual(tree.bodyStructure(raw, extensible: false), textPart("plain", octets: 6, lines: 1))
            XCTAssertEqual(tree.decodedBodyTexts(raw), ["aGk=\n"])
        }
        withMessage("MIME-Version: 1.0\nContent-Transfer-Encoding: base64\n\naGk=\n") { tree, raw in
            XCTAssertEqual(
                tree.bodyStructure(raw, extensible: false),
                textPart("plain", encoding: "base64", octets: 6, lines: 1))
            XCTAssertEqual(tree.decodedBodyTexts(raw), ["hi"])
        }
    }
}

/// message/global (RFC 6532) nests a message like message/rfc822.
final class MessageGlobalTests: XCTestCase {
    func testMessageGlobalNestsAMessage() {
        let text = """
            Content-Type: multipart/mixed; boundary=g

            --g
            Content-Type: Message/Global

            Subject: Grüße

            inner
            --g--

            """
        withMessage(text) { tree, raw in
            XCTAssertEqual(tree.partCount, 3)
            guard case .multipart(let m) = tree.bodyStructure(raw, extensible: false),
                case .singlepart(let part) = m.parts.first,
                case .message(let subtype, let envelope, _, let lines) = part.kind
            else { return XCTFail("message/global expected") }
            XCTAssertEqual(subtype, Array("global".utf8))
            XCTAssertEqual(envelope.subject, Array("Grüße".utf8))
            XCTAssertEqual(lines, 2)
            XCTAssertEqual(sectionString(tree, section([1, 1]), raw), "inner")
            XCTAssertEqual(sectionString(tree, section([1], .header), raw), "Subject: Grüße\r\n\r\n")
        }
    }
}
