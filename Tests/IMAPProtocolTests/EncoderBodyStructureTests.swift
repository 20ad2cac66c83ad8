import XCTest

@testable import IMAPProtocol

/// ENVELOPE and BODY/BODYSTRUCTURE, with vectors as Dovecot prints them (its lib-imap
/// test messages) and the RFC 9051 grammar.
final class EncoderBodyStructureTests: XCTestCase {
    private func b(_ s: String) -> [UInt8] { Array(s.utf8) }

    private func body(_ structure: BodyStructure, extensible: Bool, utf8: Bool = false) -> String {
        EncoderFixture.writtenText(utf8: utf8) { e, buf in e.writeBody(structure, extensible: extensible, into: &buf) }
    }

    private func envelope(_ envelope: Envelope, utf8: Bool = false) -> [UInt8] {
        EncoderFixture.written(utf8: utf8) { e, buf in e.writeEnvelope(envelope, into: &buf) }
    }

    private func text(
        _ subtype: String, _ params: [(String, [UInt8])], encoding: String = "7bit", octets: Int, lines: Int,
        id: String? = nil, description: String? = nil, md5: String? = nil, ext: BodyStructure.Extension = .init()
    ) -> BodyStructure {
        .singlepart(
            .init(
                kind: .text(subtype: b(subtype), lines: lines),
                fields: .init(
                    parameters: params, id: id.map(b), description: description.map(b), encoding: encoding,
                    octets: octets),
                md5: md5.map(b), ext: ext))
    }

    // MARK: BODYSTRUCTURE

    func testSinglePartAsInTheContract() {
        let part = BodyStructure.singlepart(
            .init(
                kind: .text(subtype: b("PLAIN"), lines: 23),
                fields: .init(
                    parameters: [("CHARSET", b("us-ascii"))], id: nil, description: nil, encoding: "7BIT", octets: 1152),
                mediaType: b("TEXT")))
        XCTAssertEqual(
            body(part, extensible: true),
            "(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"us-ascii\") NIL NIL \"7BIT\" 1152 23 NIL NIL NIL NIL)")
        XCTAssertEqual(
            body(part, extensible: false), "(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"us-ascii\") NIL NIL \"7BIT\" 1152 23)")
    }

    func testDefaultMediaTypeSpellingIsDovecots() {
        let plain = text("plain", [("charset", b("us-ascii"))], octets: 6, lines: 1)
        XCTAssertEqual(
            body(plain, extensible: true),
            "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 6 1 NIL NIL NIL NIL)")
    }

    /// Dovecot's lib-imap test-imap-bodystructure.c message: multipart/mixed holding a
    /// text part with every extension field and a message/rfc822 holding a
    /// multipart/alternative.
    private var dovecotTestMessage: BodyStructure {
        let first = text(
            "x-myown", [("charset", b("us-ascii")), ("foo", b("quoted\"string"))], octets: 7, lines: 1,
            id: "<foo@example.com>", description: "hellodescription", md5: "Q2hlY2sgSW50ZWdyaXR5IQ==",
            ext: .init(
                disposition: .init(type: b("inline"), parameters: [("foo", b("bar"))]),
                language: [b("en"), b("fi"), b("se")], location: b("http://example.com/test.txt")))
        let sub = Address(name: nil, adl: nil, mailbox: b("sub"), host: b("domain.org"))
        let innerEnvelope = Envelope(
            date: b("Sun, 12 Aug 2012 12:34:56 +0300"), subject: b("submsg"), from: [sub], sender: [sub],
            replyTo: [sub],
            to: [
                Address(name: nil, adl: nil, mailbox: b("sub-to1"), host: b("domain.org")),
                Address(name: nil, adl: nil, mailbox: b("sub-to2"), host: b("domain.org")),
            ])
        let alternative = BodyStructure.multipart(
            .init(
                parts: [
                    text("html", [("charset", b("us-ascii"))], encoding: "8bit", octets: 20, lines: 1),
                    text("plain", [("charset", b("us-ascii"))], octets: 21, lines: 1),
                ], subtype: b("alternative"), parameters: [("boundary", b("sub1"))]))
        let message = BodyStructure.singlepart(
            .init(
                kind: .message(subtype: b("rfc822"), envelope: innerEnvelope, body: alternative, lines: 21),
                fields: .init(parameters: [], id: nil, description: nil, encoding: "7bit", octets: 412)))
        return .multipart(
            .init(parts: [first, message], subtype: b("mixed"), parameters: [("boundary", b("foo bar"))]))
    }

    func testDovecotBodyStructureVector() {
        let expected =
            #"(("text" "x-myown" ("charset" "us-ascii" "foo" "quoted\"string") "<foo@example.com>" "hellodescription" "7bit" 7 1 "Q2hlY2sgSW50ZWdyaXR5IQ==" ("inline" ("foo" "bar")) ("en" "fi" "se") "http://example.com/test.txt")"#
            + #"("message" "rfc822" NIL NIL NIL "7bit" 412 ("Sun, 12 Aug 2012 12:34:56 +0300" "submsg" ((NIL NIL "sub" "domain.org")) ((NIL NIL "sub" "domain.org")) ((NIL NIL "sub" "domain.org")) ((NIL NIL "sub-to1" "domain.org")(NIL NIL "sub-to2" "domain.org")) NIL NIL NIL NIL) "#
            + #"(("text" "html" ("charset" "us-ascii") NIL NIL "8bit" 20 1 NIL NIL NIL NIL)("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 21 1 NIL NIL NIL NIL) "alternative" ("boundary" "sub1") NIL NIL NIL) 21 NIL NIL NIL NIL)"#
            + #" "mixed" ("boundary" "foo bar") NIL NIL NIL)"#
        XCTAssertEqual(body(dovecotTestMessage, extensible: true), expected)
    }

    func testDovecotBodyVector() {
        let expected =
            #"(("text" "x-myown" ("charset" "us-ascii" "foo" "quoted\"string") "<foo@example.com>" "hellodescription" "7bit" 7 1)"#
            + #"("message" "rfc822" NIL NIL NIL "7bit" 412 ("Sun, 12 Aug 2012 12:34:56 +0300" "submsg" ((NIL NIL "sub" "domain.org")) ((NIL NIL "sub" "domain.org")) ((NIL NIL "sub" "domain.org")) ((NIL NIL "sub-to1" "domain.org")(NIL NIL "sub-to2" "domain.org")) NIL NIL NIL NIL) "#
            + #"(("text" "html" ("charset" "us-ascii") NIL NIL "8bit" 20 1)("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 21 1) "alternative") 21)"#
            + #" "mixed")"#
        XCTAssertEqual(body(dovecotTestMessage, extensible: false), expected)
    }

    func testFetchLabels() {
        let plain = text("plain", [], octets: 0, lines: 0)
        XCTAssertEqual(
            EncoderFixture.text(.untagged(.fetch(SequenceNumber(1), [.bodyStructure(plain, extensible: true)]))),
            "* 1 FETCH (BODYSTRUCTURE (\"text\" \"plain\" NIL NIL NIL \"7bit\" 0 0 NIL NIL NIL NIL))\r\n")
        XCTAssertEqual(
            EncoderFixture.text(.untagged(.fetch(SequenceNumber(1), [.bodyStructure(plain, extensible: false)]))),
            "* 1 FETCH (BODY (\"text\" \"plain\" NIL NIL NIL \"7bit\" 0 0))\r\n")
    }

    func testAttachmentWithDisposition() {
        let pdf = BodyStructure.singlepart(
            .init(
                kind: .basic(type: b("application"), subtype: b("pdf")),
                fields: .init(
                    parameters: [("name", b("a.pdf"))], id: nil, description: nil, encoding: "base64", octets: 1234),
                ext: .init(disposition: .init(type: b("attachment"), parameters: [("filename", b("a.pdf"))]))))
        XCTAssertEqual(
            body(pdf, extensible: true),
            #"("application" "pdf" ("name" "a.pdf") NIL NIL "base64" 1234 NIL ("attachment" ("filename" "a.pdf")) NIL NIL)"#
        )
        XCTAssertEqual(body(pdf, extensible: false), #"("application" "pdf" ("name" "a.pdf") NIL NIL "base64" 1234)"#)
        let inline = BodyStructure.singlepart(
            .init(
                kind: .basic(type: b("image"), subtype: b("png")),
                fields: .init(parameters: [], id: b("<img1>"), description: nil, encoding: "base64", octets: 8),
                ext: .init(disposition: .init(type: b("inline"), parameters: []), language: [b("en")])))
        XCTAssertEqual(
            body(inline, extensible: true),
            #"("image" "png" NIL "<img1>" NIL "base64" 8 NIL ("inline" NIL) ("en") NIL)"#)
    }

    func testMultipartWithoutPartsGetsDovecotsPlaceholder() {
        let empty = BodyStructure.multipart(.init(parts: [], subtype: b("mixed"), parameters: []))
        XCTAssertEqual(
            body(empty, extensible: true),
            #"(("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 0 0 NIL NIL NIL NIL) "mixed" NIL NIL NIL NIL)"#)
        XCTAssertEqual(
            body(empty, extensible: false), #"(("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 0 0) "mixed")"#)
    }

    func testHeaderDerivedStringsAreUnfoldedAndQuotedCorrectly() {
        let part = BodyStructure.singlepart(
            .init(
                kind: .basic(type: b("application"), subtype: b("octet-stream")),
                fields: .init(
                    parameters: [("name", b("very\r\n long.bin")), ("name*", b("utf-8''%E2%82%AC.bin"))],
                    id: nil, description: b("Grüße"), encoding: "base64", octets: 3)))
        XCTAssertEqual(
            Array(body(part, extensible: false).utf8),
            b(#"("application" "octet-stream" ("name" "very long.bin" "name*" "utf-8''%E2%82%AC.bin") NIL {7}"#)
                + b("\r\nGrüße \"base64\" 3)"))
        XCTAssertEqual(
            body(part, extensible: false, utf8: true),
            #"("application" "octet-stream" ("name" "very long.bin" "name*" "utf-8''%E2%82%AC.bin") NIL "Grüße" "base64" 3)"#
        )
    }

    func testDeepNestingIsCutOffWithoutCrashing() {
        var structure = text("plain", [], octets: 1, lines: 1)
        for _ in 0..<5000 {
            structure = .multipart(.init(parts: [structure], subtype: b("mixed"), parameters: []))
        }
        let out = body(structure, extensible: false)
        XCTAssertTrue(out.hasPrefix(String(repeating: "(", count: ResponseEncoder.maxBodyDepth)))
        XCTAssertTrue(out.contains(#"("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 0 0)"#))
        XCTAssertFalse(out.contains(#""7bit" 1 1"#), "the innermost part is beyond the cut")
        XCTAssertEqual(
            out.filter { $0 == "(" }.count, out.filter { $0 == ")" }.count, "parentheses stay balanced")
    }

    // MARK: ENVELOPE

    func testDovecotEnvelopeVectors() {
        // Dovecot lib-imap test-imap-envelope.c (from imaptest).
        func addr(_ name: String?, _ adl: String?, _ mailbox: String?, _ host: String?) -> Address {
            Address(name: name.map(b), adl: adl.map(b), mailbox: mailbox.map(b), host: host.map(b))
        }
        let full = Envelope(
            date: b("Thu, 15 Feb 2007 01:02:03 +0200"), subject: b("subject header"),
            from: [addr("From Real", nil, "fromuser", "fromdomain.org")],
            sender: [addr("Sender Real", nil, "senderuser", "senderdomain.org")],
            replyTo: [addr("ReplyTo Real", nil, "replytouser", "replytodomain.org")],
            to: [addr("To Real", nil, "touser", "todomain.org")], cc: [addr("Cc Real", nil, "ccuser", "ccdomain.org")],
            bcc: [addr("Bcc Real", nil, "bccuser", "bccdomain.org")], inReplyTo: b("<reply@to.id>"),
            messageID: b("<msg@id>"))
        XCTAssertEqual(
            String(decoding: envelope(full), as: UTF8.self),
            #"("Thu, 15 Feb 2007 01:02:03 +0200" "subject header" (("From Real" NIL "fromuser" "fromdomain.org")) (("Sender Real" NIL "senderuser" "senderdomain.org")) (("ReplyTo Real" NIL "replytouser" "replytodomain.org")) (("To Real" NIL "touser" "todomain.org")) (("Cc Real" NIL "ccuser" "ccdomain.org")) (("Bcc Real" NIL "bccuser" "bccdomain.org")) "<reply@to.id>" "<msg@id>")"#
        )

        let user = addr("Real Name", nil, "user", "domain")
        let groups = Envelope(
            date: b("Thu, 15 Feb 2007 01:02:03 +0200"), from: [user], sender: [user], replyTo: [user],
            to: [
                addr(nil, nil, "group", nil), addr(nil, nil, "g1", "d1.org"), addr(nil, nil, "g2", "d2.org"),
                addr(nil, nil, nil, nil), addr(nil, nil, "group2", nil), addr(nil, nil, "g3", "d3.org"),
                addr(nil, nil, nil, nil),
            ],
            cc: [
                addr(nil, nil, "group", nil), addr(nil, nil, nil, nil), addr(nil, nil, "group2", nil),
                addr(nil, nil, nil, nil),
            ])
        XCTAssertEqual(
            String(decoding: envelope(groups), as: UTF8.self),
            #"("Thu, 15 Feb 2007 01:02:03 +0200" NIL (("Real Name" NIL "user" "domain")) (("Real Name" NIL "user" "domain")) (("Real Name" NIL "user" "domain")) ((NIL NIL "group" NIL)(NIL NIL "g1" "d1.org")(NIL NIL "g2" "d2.org")(NIL NIL NIL NIL)(NIL NIL "group2" NIL)(NIL NIL "g3" "d3.org")(NIL NIL NIL NIL)) ((NIL NIL "group" NIL)(NIL NIL NIL NIL)(NIL NIL "group2" NIL)(NIL NIL NIL NIL)) NIL NIL NIL)"#
        )

        let route = addr(nil, "@route", "user", "domain")
        let routed = Envelope(
            date: b("Thu, 15 Feb 2007 01:02:03 +0200"), from: [route], sender: [route], replyTo: [route])
        XCTAssertEqual(
            String(decoding: envelope(routed), as: UTF8.self),
            #"("Thu, 15 Feb 2007 01:02:03 +0200" NIL ((NIL "@route" "user" "domain")) ((NIL "@route" "user" "domain")) ((NIL "@route" "user" "domain")) NIL NIL NIL NIL NIL)"#
        )
        XCTAssertEqual(
            String(decoding: envelope(Envelope()), as: UTF8.self), "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)")
    }

    func testSubjectCleanedForHumans() {
        // Dovecot lib-imap test-imap-quote.c `imap_append_string_for_humans` vectors.
        let cases: [(String, String)] = [
            ("", "\"\""), (" ", "\"\""), ("  ", "\"\""), ("\t", "\"\""), (" \t", "\"\""), (" \t ", "\"\""),
            (" foo", "{3}\r\nfoo"), ("\tfoo", "{3}\r\nfoo"), ("\t \tfoo", "{3}\r\nfoo"), (" foo ", "{3}\r\nfoo"),
            (" foo  ", "{3}\r\nfoo"), (" foo  \t  \t", "{3}\r\nfoo"),
            ("hello\"world", "{11}\r\nhello\"world"), ("hello\\world", "{11}\r\nhello\\world"),
            ("hello\rworld", "{11}\r\nhello world"), ("hello\nworld", "{11}\r\nhello world"),
            ("hello\r\nworld", "{11}\r\nhello world"), ("hello\r\n  world", "{11}\r\nhello world"),
            ("hello  \r\n  world", "{11}\r\nhello world"), ("plain subject", "\"plain subject\""),
        ]
        for (input, output) in cases {
            XCTAssertEqual(
                EncoderFixture.writtenText { e, buf in e.writeHumanNString(self.b(input), into: &buf) }, output,
                "\(input.debugDescription)")
        }
        XCTAssertEqual(EncoderFixture.writtenText { e, buf in e.writeHumanNString(nil, into: &buf) }, "NIL")
    }

    func testHumanStringsWithEightBitAndNUL() {
        func human(_ bytes: [UInt8], utf8: Bool) -> [UInt8] {
            EncoderFixture.written(utf8: utf8) { e, buf in e.writeHumanNString(bytes, into: &buf) }
        }
        let umlaut = b("Grüße aus Köln")
        XCTAssertEqual(human(umlaut, utf8: false), b("{\(umlaut.count)}\r\n") + umlaut)
        XCTAssertEqual(human(umlaut, utf8: true), b("\"") + umlaut + b("\""))
        XCTAssertEqual(human(b(" Grüße "), utf8: true), b("{7}\r\nGrüße"), "cleaning still means a literal")
        XCTAssertEqual(human([0x61, 0x00, 0x62], utf8: true), b("{3}\r\n") + [0x61, 0x80, 0x62])
        XCTAssertEqual(human([0xE9], utf8: true), b("{1}\r\n") + [0xE9], "invalid UTF-8")
    }

    func testEnvelopeUnfoldsOtherFields() {
        let folded = Envelope(
            date: b("Thu, 15 Feb 2007\r\n 01:02:03 +0200"), subject: b("a\r\n\tb"),
            from: [Address(name: b("\"Quoted\" Name"), adl: nil, mailbox: b("q"), host: b("example.org"))],
            messageID: b("<x@y>\r\n"))
        XCTAssertEqual(
            String(decoding: envelope(folded), as: UTF8.self),
            "(\"Thu, 15 Feb 2007 01:02:03 +0200\" {3}\r\na b (({13}\r\n\"Quoted\" Name NIL \"q\" \"example.org\")) NIL NIL NIL NIL NIL NIL \"<x@y>\")"
        )
    }
}
