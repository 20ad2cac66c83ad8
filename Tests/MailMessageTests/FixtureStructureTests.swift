import IMAPProtocol
import XCTest

@testable import MailMessage

/// ENVELOPE and BODYSTRUCTURE of the fixture messages, compared as IMAPProtocol values.
final class FixtureStructureTests: XCTestCase {
    func testPlainLFAndCRLFAgree() throws {
        let expectedEnvelope = Envelope(
            date: b("Mon, 7 Feb 1994 21:52:25 -0800 (PST)"), subject: b("Plain hello"),
            from: [addr("Alice Example", "alice", "example.org")],
            sender: [addr("Alice Example", "alice", "example.org")],
            replyTo: [addr("Alice Example", "alice", "example.org")], to: [addr(nil, "bob", "example.com")],
            messageID: b("<plain-1@example.org>"))
        for name in ["01-plain-lf.eml", "02-plain-crlf.eml"] {
            try withMessage(fixture(name)) { tree, raw in
                XCTAssertEqual(tree.envelope(raw), expectedEnvelope, name)
                XCTAssertEqual(
                    tree.bodyStructure(raw, extensible: false), textPart("plain", octets: 38, lines: 2), name)
                XCTAssertEqual(tree.crlfSize, 237, name)
            }
        }
        try withMessage(fixture("01-plain-lf.eml")) { tree, _ in XCTAssertEqual(tree.rawSize, 228) }
        try withMessage(fixture("02-plain-crlf.eml")) { tree, _ in XCTAssertEqual(tree.rawSize, 237) }
    }

    func testMixedLineEnds() throws {
        try withMessage(fixture("03-mixed-line-ends.eml")) { tree, raw in
            XCTAssertEqual(tree.rawSize, 87)
            XCTAssertEqual(tree.crlfSize, 90)
            XCTAssertEqual(tree.bodyStructure(raw, extensible: true), textPart("plain", octets: 32, lines: 3))
            XCTAssertEqual(sectionString(tree, section([], .text), raw), "line one\r\nline two\r\nline three\r\n")
        }
    }

    func testFoldedHeadersAreUnfoldedInEnvelope() throws {
        try withMessage(fixture("04-folded-headers.eml")) { tree, raw in
            let envelope = tree.envelope(raw)
            XCTAssertEqual(envelope.date, b("Tue, 1 Jan 2002 10:00:00 +0100"))
            // Subject is cleaned for humans: the folded TAB becomes one space.
            XCTAssertEqual(envelope.subject, b("This is a long subject line that was folded"))
            XCTAssertEqual(envelope.from, [addr("Folded, Name", "folded", "example.org")])
            XCTAssertEqual(
                envelope.to,
                [addr(nil, "one", "example.org"), addr(nil, "two", "example.org"), addr(nil, "three", "example.org")])
            // Other strings keep the white space the fold left (CRLF removed, WSP kept).
            XCTAssertEqual(envelope.messageID, b(" <folded@example.org>"))
            XCTAssertEqual(
                tree.decodedHeaderValues("subject", raw), ["This is a long subject line that was\tfolded"])
        }
    }

    func testEightBitHeadersStayRawInEnvelope() throws {
        try withMessage(fixture("05-8bit-headers.eml")) { tree, raw in
            let envelope = tree.envelope(raw)
            XCTAssertEqual(envelope.subject, b("Grüße aus München"))
            XCTAssertEqual(envelope.from, [addr("Jörg Müller", "joerg", "example.de")])
        }
        try withMessage(fixture("05b-latin1-header.eml")) { tree, raw in
            XCTAssertEqual(tree.envelope(raw).subject, [0x43, 0x61, 0x66, 0xE9])
            XCTAssertEqual(tree.decodedHeaderValues("Subject", raw), ["Café"])
            XCTAssertEqual(tree.decodedHeaderValues("From", raw), ["André <andre@example.fr>"])
        }
    }

    func testEncodedWordsStayEncodedInEnvelope() throws {
        try withMessage(fixture("06-rfc2047-subject.eml")) { tree, raw in
            let envelope = tree.envelope(raw)
            XCTAssertEqual(
                envelope.subject,
                b("=?UTF-8?B?R3LDvMOfZQ==?= =?UTF-8?Q?_aus_M=C3=BCnchen?= =?ISO-8859-2?Q?_=A3=F3d=BC?= plain"))
            XCTAssertEqual(envelope.from, [addr("=?ISO-8859-1?Q?Andr=E9?= Pirard", "PIRARD", "vm1.ulg.ac.be")])
            XCTAssertEqual(envelope.to, [addr("=?US-ASCII?Q?Keith_Moore?=", "moore", "cs.utk.edu")])
            XCTAssertEqual(tree.decodedHeaderValues("Subject", raw), ["Grüße aus München Łódź plain"])
            XCTAssertEqual(tree.decodedHeaderValues("from", raw), ["André Pirard <PIRARD@vm1.ulg.ac.be>"])
            XCTAssertEqual(tree.decodedHeaderValues("To", raw), ["Keith Moore <moore@cs.utk.edu>"])
        }
    }

    func testAlternative() throws {
        try withMessage(fixture("07-alternative.eml")) { tree, raw in
            XCTAssertEqual(
                tree.bodyStructure(raw, extensible: true),
                multipart(
                    "alternative",
                    [
                        textPart(
                            "plain", params: [("charset", "utf-8")], encoding: "quoted-printable", octets: 53, lines: 1),
                        textPart(
                            "html", params: [("charset", "UTF-8")], encoding: "quoted-printable", octets: 39, lines: 1),
                    ], params: [("boundary", "alt-boundary")]))
            XCTAssertEqual(
                tree.decodedBodyTexts(raw),
                ["Café crème = tasty, soft break joined.", "<p>Café crème = tasty</p>\r\n"])
        }
    }

    func testMixedWithAttachmentKeepsRFC2231Raw() throws {
        try withMessage(fixture("08-mixed-attachment.eml")) { tree, raw in
            let disposition = BodyStructure.Disposition(
                type: b("attachment"), parameters: [("filename*", b("utf-8''Bericht%20f%C3%BCr%20M%C3%A4rz.pdf"))])
            XCTAssertEqual(
                tree.bodyStructure(raw, extensible: true),
                multipart(
                    "mixed",
                    [
                        textPart("plain", octets: 21, lines: 1),
                        basicPart(
                            "application", "pdf", params: [("name", "report.pdf")], encoding: "base64", octets: 356,
                            ext: BodyStructure.Extension(disposition: disposition)),
                    ], params: [("boundary", "----=_Part_0_12345")]))
            XCTAssertEqual(tree.attachmentNames(raw), ["Bericht für März.pdf"])
            // The attachment decodes back to what was encoded.
            let pdf = sectionBytes(tree, section([2]), raw) ?? []
            XCTAssertEqual(
                String(decoding: Base64.decode(pdf), as: UTF8.self),
                String(repeating: "%PDF-1.4 fake pdf content ", count: 10))
        }
    }

    func testNestedMultiparts() throws {
        try withMessage(fixture("09-nested-multipart.eml")) { tree, raw in
            XCTAssertEqual(tree.partCount, 7)
            XCTAssertEqual(
                tree.bodyStructure(raw, extensible: false),
                multipart(
                    "mixed",
                    [
                        multipart(
                            "alternative",
                            [
                                textPart("plain", octets: 13, lines: 0),
                                multipart(
                                    "related",
                                    [
                                        textPart("html", octets: 20, lines: 0),
                                        basicPart("image", "gif", id: "<logo>", encoding: "base64", octets: 20),
                                    ]),
                            ]),
                        textPart("csv", params: [("charset", "utf-8")], octets: 8, lines: 1),
                    ]))
            XCTAssertEqual(tree.decodedBodyTexts(raw), ["plain version", "<img src=\"cid:logo\">", "a,b\n1,2"])
        }
    }

    func testAttachedMessage() throws {
        try withMessage(fixture("10-attached-message.eml")) { tree, raw in
            let inner = Envelope(
                date: b("Wed, 2 Mar 2022 08:00:00 +0000"), subject: b("original"),
                from: [addr(nil, "orig", "example.org")], sender: [addr(nil, "orig", "example.org")],
                replyTo: [addr(nil, "orig", "example.org")], to: [addr(nil, "fwd", "example.org")],
                messageID: b("<orig@example.org>"))
            let expected = multipart(
                "mixed",
                [
                    textPart("plain", octets: 10, lines: 0),
                    messagePart(
                        envelope: inner,
                        body: multipart(
                            "alternative",
                            [textPart("plain", octets: 13, lines: 0), textPart("html", octets: 15, lines: 0)],
                            params: [("boundary", "orig")]),
                        octets: 322, lines: 17,
                        ext: BodyStructure.Extension(
                            disposition: BodyStructure.Disposition(type: b("inline"), parameters: []))),
                ], params: [("boundary", "fwd")])
            XCTAssertEqual(tree.bodyStructure(raw, extensible: true), expected)
            XCTAssertEqual(tree.decodedBodyTexts(raw), ["See below.", "original text", "<b>original</b>"])
        }
    }

    func testNeverClosedBoundaryEndsAtEOF() throws {
        try withMessage(fixture("11-never-closed.eml")) { tree, raw in
            XCTAssertEqual(
                tree.bodyStructure(raw, extensible: false),
                multipart("mixed", [textPart("plain", octets: 5, lines: 0), textPart("plain", octets: 51, lines: 2)]))
            XCTAssertEqual(
                sectionString(tree, section([2]), raw), "second runs to the end\r\nwithout a close delimiter\r\n")
        }
    }

    func testEmptyParts() throws {
        try withMessage(fixture("12-empty-parts.eml")) { tree, raw in
            XCTAssertEqual(
                tree.bodyStructure(raw, extensible: false),
                multipart(
                    "mixed",
                    [
                        textPart("plain", octets: 0, lines: 0), textPart("plain", octets: 14, lines: 0),
                        basicPart("application", "octet-stream", octets: 0),
                    ]))
            XCTAssertEqual(sectionString(tree, section([1]), raw), "")
            XCTAssertEqual(sectionString(tree, section([2]), raw), "no header here")
            XCTAssertEqual(sectionString(tree, section([2], .mime), raw), "\r\n")
            // A delimiter inside a header ends it; the line break before it is the delimiter's.
            XCTAssertEqual(sectionString(tree, section([3], .mime), raw), "Content-Type: application/octet-stream")
            XCTAssertEqual(sectionString(tree, section([3]), raw), "")
        }
    }

    func testNULBytes() throws {
        try withMessage(fixture("13-nul-bytes.eml")) { tree, raw in
            // ENVELOPE strings end at a NUL, as Dovecot's C strings do.
            XCTAssertEqual(tree.envelope(raw).subject, b("has\u{FFFD}nul"))
            XCTAssertEqual(tree.bodyStructure(raw, extensible: false), textPart("plain", octets: 16, lines: 1))
            XCTAssertEqual(sectionBytes(tree, section([1]), raw), Array("body\0with\0nuls\r\n".utf8))
            XCTAssertEqual(tree.decodedHeaderValues("X-Junk", raw), ["a\0b"])
        }
    }

    func testGroups() throws {
        try withMessage(fixture("14-groups.eml")) { tree, raw in
            let envelope = tree.envelope(raw)
            XCTAssertEqual(
                envelope.to,
                [
                    addr(nil, "Team", nil), addr(nil, "alice", "example.org"), addr("Bob B.", "bob", "example.org"),
                    addr(nil, nil, nil), addr(nil, "carol", "example.org"),
                ])
            XCTAssertEqual(envelope.cc, [addr(nil, "undisclosed-recipients", nil), addr(nil, nil, nil)])
            XCTAssertEqual(envelope.bcc, [addr(nil, "Empty Group", nil), addr(nil, nil, nil)])
        }
    }

    func testMissingHeadersGiveNIL() throws {
        try withMessage(fixture("15-missing-headers.eml")) { tree, raw in
            XCTAssertEqual(tree.envelope(raw), Envelope())
            XCTAssertNil(tree.sentDate(raw))
        }
        try withMessage(fixture("17-body-no-header.eml")) { tree, raw in
            XCTAssertEqual(tree.envelope(raw), Envelope())
            XCTAssertEqual(tree.bodyStructure(raw, extensible: false), textPart("plain", octets: 50, lines: 2))
            XCTAssertEqual(sectionString(tree, section([], .header), raw), "\r\n")
            XCTAssertEqual(tree.headerRange, 0..<1)
        }
    }

    func testHeaderWithoutEmptyLine() throws {
        try withMessage(fixture("16-no-blank-line.eml")) { tree, raw in
            XCTAssertEqual(tree.envelope(raw).subject, b("header only"))
            XCTAssertEqual(tree.bodyStructure(raw, extensible: false), textPart("plain", octets: 0, lines: 0))
            XCTAssertEqual(
                sectionString(tree, section([], .header), raw), "From: a@example.org\r\nSubject: header only")
            XCTAssertEqual(sectionString(tree, section([], .text), raw), "")
            XCTAssertEqual(tree.crlfSize, 41)
        }
    }

    func testCharsetBodies() throws {
        let cases: [(String, String, String)] = [
            ("18-base64-utf8.eml", "utf-8", "Ünïcödé text: naïve café, Straße.\nZweite Zeile.\n"),
            ("19-qp-latin1.eml", "ISO-8859-1", "Déjà vu à Genève, façade.\r\n"),
            ("20-koi8r.eml", "koi8-r", "Привет, мир!\n"),
            ("21-windows-1252.eml", "windows-1252", "“Quoted” price: 5 €\r\n"),
            ("22-iso-8859-2.eml", "iso-8859-2", "Zażółć gęślą jaźń\n"),
        ]
        for (name, charset, text) in cases {
            try withMessage(fixture(name)) { tree, raw in
                XCTAssertEqual(tree.decodedBodyTexts(raw), [text], name)
                guard case .singlepart(let part) = tree.bodyStructure(raw, extensible: false) else {
                    return XCTFail(name)
                }
                XCTAssertEqual(part.fields.parameters.first?.1, b(charset), name)
            }
        }
        try withMessage(fixture("20-koi8r.eml")) { tree, raw in
            XCTAssertEqual(tree.decodedHeaderValues("Subject", raw), ["Привет"])
        }
    }

    func testDigestDefaultsToMessage() throws {
        try withMessage(fixture("23-digest.eml")) { tree, raw in
            let inner = Envelope(
                subject: b("first"), from: [addr(nil, "one", "example.org")], sender: [addr(nil, "one", "example.org")],
                replyTo: [addr(nil, "one", "example.org")])
            XCTAssertEqual(
                tree.bodyStructure(raw, extensible: false),
                multipart(
                    "digest",
                    [
                        messagePart(
                            envelope: inner, body: textPart("plain", octets: 10, lines: 0), octets: 51, lines: 3),
                        textPart("plain", octets: 18, lines: 0),
                    ]))
        }
    }

    func testRFC2231Parameters() throws {
        try withMessage(fixture("24-rfc2231-params.eml")) { tree, raw in
            XCTAssertEqual(
                DovecotFormat.body(tree.bodyStructure(raw, extensible: true), extensible: true),
                #"("application" "octet-stream" ("name*" "iso-8859-1'fr'r%E9sum%E9 final.txt") NIL NIL "base64" 4 NIL ("attachment" ("filename*" "utf-8''%E2%82%AC%20part2.bin")) NIL NIL)"#
                    + #"("text" "plain" ("name" "=?utf-8?Q?caf=C3=A9.txt?=" "charset" "us-ascii") NIL NIL "7bit" 1 0 NIL NIL NIL NIL) "mixed" ("boundary" "p") NIL NIL NIL"#
            )
            XCTAssertEqual(tree.attachmentNames(raw), ["€ part2.bin", "café.txt"])
        }
    }

    func testAddressForms() throws {
        try withMessage(fixture("25-route-addresses.eml")) { tree, raw in
            let envelope = tree.envelope(raw)
            XCTAssertEqual(envelope.from, [addr("Doe, John \"JD\"", "john", "example.org")])
            XCTAssertEqual(envelope.sender, [addr(nil, "route", "example.org", adl: "@relay1.example,@relay2.example")])
            XCTAssertEqual(
                envelope.replyTo, [addr("Plain Name", "plain", "example.org"), addr(nil, "noname", "example.org")])
            XCTAssertEqual(
                envelope.to,
                [addr("Mary Smith", "mary", "x.test"), addr(nil, "jdoe", "example.org"), addr("Who?", "one", "y.test")])
            XCTAssertEqual(
                envelope.cc, [addr(nil, "boss", "nil.test"), addr("Giant; \"Big\" Box", "sysservices", "example.net")])
            XCTAssertEqual(envelope.inReplyTo, b("<parent@example.org>"))
            XCTAssertNil(envelope.messageID)
        }
    }

    func testLinesWithoutColonAreSkipped() throws {
        try withMessage(fixture("26-no-colon-lines.eml")) { tree, raw in
            XCTAssertEqual(tree.envelope(raw).subject, b("still parsed"))
            XCTAssertEqual(tree.envelope(raw).to, [addr(nil, "b", "example.org")])
            XCTAssertEqual(tree.decodedHeaders(raw).map(\.0), ["From", "Subject", "To"])
        }
    }

    func testTopLevelMessageRFC822() throws {
        try withMessage(fixture("27-top-level-rfc822.eml")) { tree, raw in
            let inner = Envelope(
                subject: b("inner"), from: [addr(nil, "inner", "example.org")],
                sender: [addr(nil, "inner", "example.org")], replyTo: [addr(nil, "inner", "example.org")])
            XCTAssertEqual(
                tree.bodyStructure(raw, extensible: false),
                messagePart(envelope: inner, body: textPart("plain", octets: 12, lines: 1), octets: 55, lines: 4))
        }
    }

    func testBoundaryPrefixesAndTrailingWhiteSpace() throws {
        try withMessage(fixture("28-boundary-prefixes.eml")) { tree, raw in
            XCTAssertEqual(
                tree.bodyStructure(raw, extensible: false),
                multipart(
                    "mixed",
                    [
                        multipart(
                            "mixed", [textPart("plain", octets: 9, lines: 0), textPart("plain", octets: 9, lines: 0)]),
                        textPart("plain", octets: 9, lines: 0),
                    ]))
            XCTAssertEqual(tree.decodedBodyTexts(raw), ["inner one", "inner two", "outer two"])
        }
    }

    func testCRLFMultipart() throws {
        try withMessage(fixture("29-crlf-multipart.eml")) { tree, raw in
            XCTAssertEqual(tree.rawSize, tree.crlfSize)
            XCTAssertEqual(
                tree.bodyStructure(raw, extensible: false),
                multipart("mixed", [textPart("plain", octets: 8, lines: 1), textPart("plain", octets: 5, lines: 0)]))
            XCTAssertEqual(sectionString(tree, section([1]), raw), "one\r\ntwo")
        }
    }

    func testEveryFixtureSurvivesEveryAccessor() throws {
        let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")
        let names = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".eml") }
        XCTAssertGreaterThanOrEqual(names.count, 25)
        for name in names {
            try withMessage(fixture(name)) { tree, raw in
                XCTAssertEqual(tree.rawSize, raw.count, name)
                XCTAssertEqual(tree.crlfSize, crlfLength(raw), name)
                XCTAssertEqual(sectionBytes(tree, section([]), raw)?.count, tree.crlfSize, name)
                // HEADER + TEXT is the whole message.
                let header = sectionBytes(tree, section([], .header), raw) ?? []
                let text = sectionBytes(tree, section([], .text), raw) ?? []
                XCTAssertEqual(header + text, sectionBytes(tree, section([]), raw), name)
                _ = tree.envelope(raw)
                _ = tree.decodedHeaders(raw)
                _ = tree.decodedBodyTexts(raw)
            }
        }
    }
}
