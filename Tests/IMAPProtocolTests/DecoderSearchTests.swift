import IMAPProtocol
import XCTest

/// SEARCH vectors (RFC 9051 §6.4.4, RFC 4731 ESEARCH, RFC 5182 SEARCHRES, RFC 7162
/// MODSEQ).
final class DecoderSearchTests: XCTestCase {
    private func search(_ text: String, file: StaticString = #filePath, line: UInt = #line) -> (
        MessageSetKind, SearchCommand
    )? {
        guard case .search(let kind, let command)? = parsedCommand(text, file: file, line: line) else { return nil }
        return (kind, command)
    }

    /// The keys of `SEARCH <keys>`.
    private func key(_ keys: String, file: StaticString = #filePath, line: UInt = #line) -> SearchKey? {
        search("a SEARCH " + keys, file: file, line: line)?.1.key
    }

    func testRFCExamples() {
        let feb1 = IMAPDate(year: 1994, month: 2, day: 1)
        guard let (kind, a) = search(#"A282 SEARCH RETURN (MIN COUNT) FLAGGED SINCE 1-Feb-1994 NOT FROM "Smith""#)
        else {
            return
        }
        XCTAssertEqual(kind, .sequenceNumber)
        XCTAssertTrue(a.hasReturn)
        XCTAssertEqual(a.returnOptions, [.min, .count])
        XCTAssertNil(a.charset)
        XCTAssertEqual(a.key, .and([.flagged, .since(feb1), .not(.from("Smith"))]))

        guard let (_, b) = search(#"A283 SEARCH RETURN () TEXT "string not in mailbox""#) else { return }
        XCTAssertTrue(b.hasReturn)
        XCTAssertEqual(b.returnOptions, [])
        XCTAssertEqual(b.key, .and([.text("string not in mailbox")]))

        guard let (_, c) = search("A285 SEARCH CHARSET UTF-8 TEXT {12+}\r\nновост") else { return }
        XCTAssertFalse(c.hasReturn)
        XCTAssertEqual(c.charset, "UTF-8")
        XCTAssertEqual(c.key, .and([.text("новост")]))

        guard let (uidKind, d) = search("a UID SEARCH RETURN (SAVE) CHARSET us-ascii UID 1:* DELETED") else { return }
        XCTAssertEqual(uidKind, .uid)
        XCTAssertEqual(d.returnOptions, [.save])
        XCTAssertEqual(d.charset, "us-ascii")
        XCTAssertEqual(d.key, .and([.uid(uids([(1, nil)])), .deleted]))
    }

    func testEveryKey() {
        let d = IMAPDate(year: 2024, month: 12, day: 31)
        XCTAssertEqual(
            key(
                "ALL ANSWERED DELETED DRAFT FLAGGED SEEN UNANSWERED UNDELETED UNDRAFT UNFLAGGED UNSEEN RECENT NEW OLD"),
            .and([
                .all, .answered, .deleted, .draft, .flagged, .seen, .unanswered, .undeleted, .undraft, .unflagged,
                .unseen, .recent, .new, .old,
            ]))
        XCTAssertEqual(
            key(#"KEYWORD $Junk UNKEYWORD NonJunk BCC a CC "b c" FROM {1+}"# + "\r\nd TO e SUBJECT f BODY g TEXT h"),
            .and([
                .keyword("$Junk"), .unkeyword("NonJunk"), .bcc("a"), .cc("b c"), .from("d"), .to("e"),
                .subject("f"), .body("g"), .text("h"),
            ]))
        XCTAssertEqual(
            key(#"HEADER Message-ID "<x@y>" HEADER X-Empty """#),
            .and([.header(field: "Message-ID", value: "<x@y>"), .header(field: "X-Empty", value: "")]))
        XCTAssertEqual(
            key(
                #"BEFORE 31-Dec-2024 ON "31-dec-2024" SINCE 1-Jan-2000 SENTBEFORE 31-DEC-2024 SENTON 31-Dec-2024 SENTSINCE 31-Dec-2024"#
            ),
            .and([
                .before(d), .on(d), .since(IMAPDate(year: 2000, month: 1, day: 1)), .sentBefore(d), .sentOn(d),
                .sentSince(d),
            ]))
        XCTAssertEqual(
            key("LARGER 1024 SMALLER 99999999999"), .and([.larger(1024), .smaller(UInt32.max)]))
        XCTAssertEqual(
            key("UID 1,5:7 2:4,*"),
            .and([.uid(uids([(1, 1), (5, 7)])), .sequenceNumbers(seqs([(2, 4), (nil, nil)]))]))
        XCTAssertEqual(key("$"), .and([.sequenceNumbers(.lastSearchResult)]))
        XCTAssertEqual(key("UID $"), .and([.uid(.lastSearchResult)]))
        XCTAssertEqual(key("MODSEQ 620162338"), .and([.modSeq(620162338)]))
        XCTAssertEqual(key(#"MODSEQ "/flags/\\draft" all 620162338"#), .and([.modSeq(620162338)]))
        XCTAssertEqual(key("modseq 0"), .and([.modSeq(0)]))
    }

    func testNesting() {
        XCTAssertEqual(
            key("OR (SEEN FLAGGED) NOT (DELETED OR ANSWERED DRAFT)"),
            .and([.or(.and([.seen, .flagged]), .not(.and([.deleted, .or(.answered, .draft)])))]))
        XCTAssertEqual(key("NOT NOT SEEN"), .and([.not(.not(.seen))]))
        XCTAssertEqual(key("OR OR SEEN DRAFT 1:3"), .and([.or(.or(.seen, .draft), .sequenceNumbers(seqs([(1, 3)])))]))
        XCTAssertEqual(key("((SEEN))"), .and([.and([.and([.seen])])]))
        // 99 levels of parentheses are fine, 150 are not.
        XCTAssertEqual(
            key(String(repeating: "(", count: 99) + "ALL" + String(repeating: ")", count: 99)).map { _ in true }, true)
        assertBad(
            "a SEARCH " + String(repeating: "(", count: 150) + "ALL" + String(repeating: ")", count: 150),
            message: "Too deeply nested")
        assertBad("a SEARCH " + String(repeating: "NOT ", count: 5_000) + "ALL", message: "Too deeply nested")
        assertBad("a SEARCH " + String(repeating: "OR ALL ", count: 5_000) + "ALL", message: "Too deeply nested")
    }

    func testCharsets() {
        guard let (_, ascii) = search("a SEARCH CHARSET ISO-8859-1 SUBJECT {3+}\r\nxyz") else { return }
        XCTAssertEqual(ascii.key, .and([.subject("xyz")]))
        // Latin-1 bytes (not UTF-8) are decoded when the client says so.
        var decoder = CommandDecoder()
        let latin1 = bytes("a SEARCH CHARSET ISO-8859-1 SUBJECT {2+}\r\n") + [0x47, 0xFC] + bytes("\r\n")
        let events = feed(&decoder, latin1)
        guard case .command(let tagged)? = events.first, case .search(_, let command) = tagged.command else {
            return XCTFail("\(events.map(canonical))")
        }
        XCTAssertEqual(command.key, .and([.subject("Gü")]))
        // Any other charset: the bytes are carried one scalar per byte, even when they
        // happen to be valid UTF-8 (the handler converts them from the charset).
        var koi8 = CommandDecoder()
        let koi8Events = feed(
            &koi8, bytes("a SEARCH CHARSET KOI8-R BODY {4+}\r\n") + [0xD0, 0xD2, 0xC3, 0xBC] + bytes("\r\n"))
        guard case .command(let koi8Tagged)? = koi8Events.first, case .search(_, let koi8Command) = koi8Tagged.command
        else { return XCTFail("\(koi8Events.map(canonical))") }
        XCTAssertEqual(koi8Command.key, .and([.body("\u{D0}\u{D2}\u{C3}\u{BC}")]))
        // …and are a BAD otherwise.
        let utf8Claimed = bytes("a SEARCH SUBJECT {2+}\r\n") + [0x47, 0xFC] + bytes("\r\n")
        let bad = decodeEvents(utf8Claimed)
        guard case .bad(let tag, let message)? = bad.first else { return XCTFail("\(bad.map(canonical))") }
        XCTAssertEqual(tag, "a")
        XCTAssertEqual(message, "Invalid UTF-8")
    }

    func testBadSearch() {
        assertBad("a SEARCH", message: "Missing argument")
        assertBad("a SEARCH FOO", message: "Unknown search key")
        assertBad("a SEARCH (SEEN", message: "Unbalanced parentheses")
        assertBad("a SEARCH SEEN)", message: "Unbalanced parentheses")
        assertBad("a SEARCH ()")
        assertBad("a SEARCH OR SEEN", message: "Missing argument")
        assertBad("a SEARCH NOT")
        assertBad("a SEARCH SINCE 32-Jan-2024", message: "Invalid date")
        assertBad("a SEARCH SINCE 29-Feb-2023", message: "Invalid date")
        assertBad("a SEARCH SINCE 1-Foo-2024", message: "Invalid date")
        assertBad("a SEARCH SINCE 1-Jan-24", message: "Invalid date")
        assertBad("a SEARCH SINCE \"1-Jan-2024", message: "Missing argument")
        assertBad("a SEARCH LARGER x")
        assertBad("a SEARCH LARGER 99999999999999999999999")
        assertBad("a SEARCH RETURN (FOO) ALL", message: "Unknown SEARCH return option")
        assertBad("a SEARCH CHARSET", message: "Unknown search key")
        assertBad("a SEARCH UID 0", message: "Invalid sequence set")
        assertBad("a SEARCH KEYWORD \\Seen")
        assertBad("a SEARCH MODSEQ \"/flags/\\\\Seen\" bogus 5", message: "Invalid MODSEQ entry type")
        assertBad("a SEARCH SEEN  DELETED")
    }

    func testLeapYearDate() {
        XCTAssertEqual(key("ON 29-Feb-2024"), .and([.on(IMAPDate(year: 2024, month: 2, day: 29))]))
        XCTAssertEqual(key("ON 29-Feb-2000"), .and([.on(IMAPDate(year: 2000, month: 2, day: 29))]))
        assertBad("a SEARCH ON 29-Feb-1900", message: "Invalid date")
    }
}
