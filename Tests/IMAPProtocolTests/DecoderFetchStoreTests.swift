import IMAPProtocol
import XCTest

/// FETCH, STORE and sequence-set vectors (RFC 9051 §6.4.5, §6.4.6, §9; RFC 3516,
/// RFC 5182, RFC 7162).
final class DecoderFetchStoreTests: XCTestCase {
    private func fetchAttributes(_ text: String, file: StaticString = #filePath, line: UInt = #line)
        -> [FetchAttribute]?
    {
        guard case .fetch(_, let attributes, _)? = parsedCommand("a FETCH 1 " + text, file: file, line: line) else {
            return nil
        }
        return attributes
    }

    func testSequenceSets() {
        func set(_ text: String) -> MessageSet? {
            guard case .copy(let set, _)? = parsedCommand("a COPY \(text) x") else { return nil }
            return set
        }
        XCTAssertEqual(set("1"), .sequenceNumbers(seq(1)))
        XCTAssertEqual(set("4294967295"), .sequenceNumbers(seq(UInt32.max)))
        XCTAssertEqual(set("*"), .sequenceNumbers(seqs([(nil, nil)])))
        XCTAssertEqual(set("2:4"), .sequenceNumbers(seqs([(2, 4)])))
        XCTAssertEqual(set("4:2"), .sequenceNumbers(seqs([(4, 2)])))
        XCTAssertEqual(set("1:*"), .sequenceNumbers(seqs([(1, nil)])))
        XCTAssertEqual(set("*:3"), .sequenceNumbers(seqs([(nil, 3)])))
        XCTAssertEqual(set("1,3:5,7,9:*"), .sequenceNumbers(seqs([(1, 1), (3, 5), (7, 7), (9, nil)])))
        XCTAssertEqual(set("$"), .sequenceNumbers(.lastSearchResult))
        guard case .copy(let uidSet, _)? = parsedCommand("a UID COPY 4827313:4828442 x") else { return XCTFail() }
        XCTAssertEqual(uidSet, .uids(uids([(4827313, 4828442)])))
    }

    func testBadSequenceSets() {
        for text in ["0", "0:5", "5:0", "4294967296", "1,", ",1", "1::2", "1:", "1abc", "$,1", "$1", "-1", "1.5", "01"]
        {
            assertBad("a COPY \(text) x", message: text == "01" ? nil : "Invalid sequence set")
        }
        assertBad("a UID FETCH 1,,2 FLAGS", message: "Invalid sequence set")
        assertBad("a FETCH", message: "Missing argument")
    }

    func testFetchMacrosAndSimpleAttributes() {
        XCTAssertEqual(fetchAttributes("ALL"), [.flags, .internalDate, .rfc822Size, .envelope])
        XCTAssertEqual(fetchAttributes("fast"), [.flags, .internalDate, .rfc822Size])
        XCTAssertEqual(fetchAttributes("FULL"), [.flags, .internalDate, .rfc822Size, .envelope, .body])
        XCTAssertEqual(fetchAttributes("FLAGS"), [.flags])
        XCTAssertEqual(
            fetchAttributes(
                "(ENVELOPE FLAGS INTERNALDATE RFC822.SIZE RFC822 RFC822.HEADER RFC822.TEXT UID BODY BODYSTRUCTURE MODSEQ)"
            ),
            [
                .envelope, .flags, .internalDate, .rfc822Size, .rfc822, .rfc822Header, .rfc822Text, .uid, .body,
                .bodyStructure, .modSeq,
            ])
        XCTAssertEqual(fetchAttributes("(uid rfc822.size)"), [.uid, .rfc822Size])
    }

    func testFetchSections() {
        XCTAssertEqual(fetchAttributes("BODY[]"), [.bodySection(SectionSpec(), partial: nil, peek: false)])
        XCTAssertEqual(fetchAttributes("body.peek[]"), [.bodySection(SectionSpec(), partial: nil, peek: true)])
        XCTAssertEqual(
            fetchAttributes("BODY[1.2.HEADER.FIELDS (From To)]<0.1024>"),
            [
                .bodySection(
                    SectionSpec(part: [1, 2], text: .headerFields(["From", "To"])),
                    partial: Partial(offset: 0, count: 1024),
                    peek: false)
            ])
        XCTAssertEqual(
            fetchAttributes("BODY.PEEK[HEADER.FIELDS.NOT (\"Received\" X-Spam)]"),
            [.bodySection(SectionSpec(text: .headerFieldsNot(["Received", "X-Spam"])), partial: nil, peek: true)])
        XCTAssertEqual(
            fetchAttributes("(BODY[TEXT] BODY[1] BODY[3.MIME] BODY[4.2.TEXT] BODY[2.HEADER]<10.20>)"),
            [
                .bodySection(SectionSpec(text: .text), partial: nil, peek: false),
                .bodySection(SectionSpec(part: [1]), partial: nil, peek: false),
                .bodySection(SectionSpec(part: [3], text: .mime), partial: nil, peek: false),
                .bodySection(SectionSpec(part: [4, 2], text: .text), partial: nil, peek: false),
                .bodySection(
                    SectionSpec(part: [2], text: .header), partial: Partial(offset: 10, count: 20), peek: false),
            ])
        XCTAssertEqual(
            fetchAttributes("(FLAGS BODY[HEADER.FIELDS (DATE FROM)])"),
            [.flags, .bodySection(SectionSpec(text: .headerFields(["DATE", "FROM"])), partial: nil, peek: false)])
    }

    func testFetchBinary() {
        XCTAssertEqual(
            fetchAttributes("(BINARY[1.2]<0.10> BINARY.PEEK[] BINARY.SIZE[1] BINARY.PEEK[3]<5.6>)"),
            [
                .binary(part: [1, 2], partial: Partial(offset: 0, count: 10), peek: false),
                .binary(part: [], partial: nil, peek: true),
                .binarySize(part: [1]),
                .binary(part: [3], partial: Partial(offset: 5, count: 6), peek: true),
            ])
    }

    func testFetchModifiersAndUID() {
        assertCommand(
            "a UID FETCH 1:* (FLAGS) (CHANGEDSINCE 12345 VANISHED)",
            .fetch(.uids(uids([(1, nil)])), [.flags], FetchModifiers(changedSince: 12345, vanished: true)))
        assertCommand(
            "s100 UID FETCH 300:500 (FLAGS) (CHANGEDSINCE 12345)",
            .fetch(.uids(uids([(300, 500)])), [.flags], FetchModifiers(changedSince: 12345)), tag: "s100")
        assertCommand(
            "A999 UID FETCH 4827313:4828442 FLAGS",
            .fetch(.uids(uids([(4827313, 4828442)])), [.flags], FetchModifiers()),
            tag: "A999")
        assertCommand(
            "a FETCH $ FAST",
            .fetch(.sequenceNumbers(.lastSearchResult), [.flags, .internalDate, .rfc822Size], FetchModifiers()))
    }

    func testBadFetch() {
        assertBad("a FETCH 1 (ALL)", message: "FETCH macro inside a list")
        assertBad("a FETCH 1 FOO", message: "Unknown FETCH attribute")
        assertBad("a FETCH 1 BODY[MIME]")
        assertBad("a FETCH 1 BODY[0]")
        assertBad("a FETCH 1 BODY[1.0]")
        assertBad("a FETCH 1 BODY[1.]")
        assertBad("a FETCH 1 BODY[HEADER.FIELDS ()]")
        assertBad("a FETCH 1 BODY[HEADER.FIELDS]")
        assertBad("a FETCH 1 BODY[TEXT")
        assertBad("a FETCH 1 BODY[]<0.0>")
        assertBad("a FETCH 1 BODY[]<5>")
        assertBad("a FETCH 1 BODY.PEEK")
        assertBad("a FETCH 1 BINARY[TEXT]")
        assertBad("a FETCH 1 BINARY.SIZE[1]<0.1>")
        assertBad("a FETCH 1 (FLAGS", message: "Unbalanced parentheses")
        assertBad("a FETCH 1 (FLAGS))", message: "Unbalanced parentheses")
        assertBad("a FETCH 1 ()")
        assertBad("a FETCH 1 FLAGS (FOO)", message: "Unknown FETCH modifier")
        assertBad("a FETCH 1 FLAGS (CHANGEDSINCE)")
    }

    func testStore() {
        assertCommand(
            "A003 STORE 2:4 +FLAGS (\\Deleted)",
            .store(
                .sequenceNumbers(seqs([(2, 4)])), StoreModifiers(),
                StoreAction(operation: .add, silent: false, flags: [.deleted])),
            tag: "A003")
        assertCommand(
            "a STORE 1 -FLAGS.SILENT \\Seen \\Flagged $Junk",
            .store(
                .sequenceNumbers(seq(1)), StoreModifiers(),
                StoreAction(operation: .remove, silent: true, flags: [.seen, .flagged, .keyword("$Junk")])))
        assertCommand(
            "a UID STORE 5 flags ()",
            .store(.uids(uid(5)), StoreModifiers(), StoreAction(operation: .replace, silent: false, flags: [])))
        assertCommand(
            "d105 STORE 7,5,9 (UNCHANGEDSINCE 320162338) +FLAGS.SILENT (\\Deleted \\Recent NonJunk)",
            .store(
                .sequenceNumbers(seqs([(7, 7), (5, 5), (9, 9)])), StoreModifiers(unchangedSince: 320162338),
                StoreAction(
                    operation: .add, silent: true, flags: [.deleted, .extension("Recent"), .keyword("NonJunk")])),
            tag: "d105")
        assertCommand(
            "a STORE 1 (UNCHANGEDSINCE 0) FLAGS \\draft",
            .store(
                .sequenceNumbers(seq(1)), StoreModifiers(unchangedSince: 0),
                StoreAction(operation: .replace, silent: false, flags: [.draft])))
    }

    func testBadStore() {
        assertBad("a STORE 1 +FLAGS (\\*)", message: "Invalid flag")
        assertBad("a STORE 1 +FLAGS \\*", message: "Invalid flag")
        assertBad("a STORE 1 +FLAGS", message: "Missing argument")
        assertBad("a STORE 1 FLAGS.LOUD \\Seen", message: "Invalid STORE attribute")
        assertBad("a STORE 1 *FLAGS \\Seen")
        assertBad("a STORE 1 (FOO 1) FLAGS \\Seen", message: "Unknown STORE modifier")
        assertBad("a STORE 1 +FLAGS (\\Seen", message: "Unbalanced parentheses")
        assertBad("a STORE 1 +FLAGS \\Seen ", message: "Missing argument")
        assertBad("a STORE 1 +FLAGS \"\\Seen\"", message: "Invalid flag")
    }
}
