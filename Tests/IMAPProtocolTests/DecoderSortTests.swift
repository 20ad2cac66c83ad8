import IMAPProtocol
import XCTest

/// SORT and THREAD vectors (RFC 5256 §4, RFC 5957, RFC 5267 ESORT), and the BADs
/// their malformed forms get.
final class DecoderSortTests: XCTestCase {
    private func sort(_ text: String, file: StaticString = #filePath, line: UInt = #line) -> (
        MessageSetKind, SortCommand
    )? {
        guard case .sort(let kind, let command)? = parsedCommand(text, file: file, line: line) else {
            XCTFail("not a SORT: \(text)", file: file, line: line)
            return nil
        }
        return (kind, command)
    }

    private func thread(_ text: String, file: StaticString = #filePath, line: UInt = #line) -> (
        MessageSetKind, ThreadCommand
    )? {
        guard case .thread(let kind, let command)? = parsedCommand(text, file: file, line: line) else {
            XCTFail("not a THREAD: \(text)", file: file, line: line)
            return nil
        }
        return (kind, command)
    }

    func testRFC5256Examples() {
        guard let (kind, a) = sort("A282 SORT (SUBJECT) UTF-8 SINCE 1-Feb-1994") else { return }
        XCTAssertEqual(kind, .sequenceNumber)
        XCTAssertEqual(a.criteria, [SortCriterion(.subject)])
        XCTAssertEqual(a.charset, "UTF-8")
        XCTAssertEqual(a.key, .and([.since(IMAPDate(year: 1994, month: 2, day: 1))]))
        XCTAssertFalse(a.hasReturn)

        guard let (_, b) = sort("A285 SORT (SUBJECT REVERSE DATE) UTF-8 ALL") else { return }
        XCTAssertEqual(b.criteria, [SortCriterion(.subject), SortCriterion(.date, reverse: true)])
        XCTAssertEqual(b.key, .and([.all]))

        guard let (uidKind, c) = sort("A284 UID SORT (REVERSE ARRIVAL) US-ASCII TEXT \"not in mailbox\" UNSEEN") else {
            return
        }
        XCTAssertEqual(uidKind, .uid)
        XCTAssertEqual(c.criteria, [SortCriterion(.arrival, reverse: true)])
        XCTAssertEqual(c.key, .and([.text("not in mailbox"), .unseen]))

        guard let (tk, t) = thread("A283 THREAD ORDEREDSUBJECT UTF-8 SINCE 5-MAR-2000") else { return }
        XCTAssertEqual(tk, .sequenceNumber)
        XCTAssertEqual(t.algorithm, .orderedSubject)
        XCTAssertEqual(t.charset, "UTF-8")
        XCTAssertEqual(t.key, .and([.since(IMAPDate(year: 2000, month: 3, day: 5))]))

        guard let (uk, u) = thread("A284 uid thread references US-ASCII TEXT \"gewp\"") else { return }
        XCTAssertEqual(uk, .uid)
        XCTAssertEqual(u.algorithm, .references)
        XCTAssertEqual(u.key, .and([.text("gewp")]))
        XCTAssertEqual(thread("a THREAD REFS utf-8 ALL")?.1.algorithm, .refs)
    }

    func testEveryKeyAndReverse() {
        guard
            let (_, s) = sort(
                "a SORT (ARRIVAL CC DATE FROM SIZE SUBJECT TO DISPLAYFROM DISPLAYTO reverse size REVERSE displayto) "
                    + "UTF-8 ALL")
        else { return }
        XCTAssertEqual(
            s.criteria,
            SortKey.allCases.map { SortCriterion($0) } + [
                SortCriterion(.size, reverse: true), SortCriterion(.displayTo, reverse: true),
            ])
    }

    func testESortReturnOptionsAndLatin1Strings() {
        guard let (_, s) = sort("a UID SORT RETURN (MIN MAX COUNT ALL) (DATE) UTF-8 UNDELETED") else { return }
        XCTAssertTrue(s.hasReturn)
        XCTAssertEqual(s.returnOptions, [.min, .max, .count, .all])
        XCTAssertEqual(sort("a SORT RETURN () (DATE) UTF-8 ALL")?.1.returnOptions, [])
        // Another charset: the bytes travel as Latin-1 scalars for the handler to convert.
        let events = decodeEvents(Array("a SORT (FROM) ISO-8859-1 FROM {1+}\r\n".utf8) + [0xE9] + Array("\r\n".utf8))
        guard case .command(let tagged)? = events.first, case .sort(_, let command) = tagged.command else {
            return XCTFail("\(events.map(canonical))")
        }
        XCTAssertEqual(command.charset, "ISO-8859-1")
        XCTAssertEqual(command.key, .and([.from("é")]))
    }

    func testMalformedIsBad() {
        assertBad("a SORT")
        assertBad("a SORT (DATE)")
        assertBad("a SORT (DATE) UTF-8")
        assertBad("a SORT () UTF-8 ALL")
        assertBad("a SORT DATE UTF-8 ALL")
        assertBad("a SORT (NAME) UTF-8 ALL")
        assertBad("a SORT (REVERSE) UTF-8 ALL")
        assertBad("a SORT (REVERSE REVERSE DATE) UTF-8 ALL")
        assertBad("a SORT (DATE) UTF-8 ALL ")
        assertBad("a SORT (DATE)UTF-8 ALL")
        assertBad("a SORT (DATE) UTF-8 NOSUCHKEY")
        assertBad("a SORT RETURN (FIRST) (DATE) UTF-8 ALL")
        assertBad("a SORT RETURN (DATE) UTF-8 ALL")
        assertBad("a SORT (DATE) (UTF-8) ALL")
        assertBad("a UID SORT (DATE) UTF-8 ALL)")
        assertBad("a THREAD")
        assertBad("a THREAD REFERENCES")
        assertBad("a THREAD REFERENCES UTF-8")
        assertBad("a THREAD XYZZY UTF-8 ALL")
        assertBad("a THREAD (REFERENCES) UTF-8 ALL")
        assertBad("a UID THREAD REFS UTF-8 (ALL")
        // Nesting stays bounded as in SEARCH.
        assertBad("a THREAD REFS UTF-8 " + String(repeating: "NOT ", count: 200) + "ALL")
    }

    /// RFC 5032 WITHIN keys, in SEARCH and in SORT's criteria.
    func testWithinKeys() {
        guard case .search(_, let search)? = parsedCommand("a SEARCH OLDER 3600 NOT YOUNGER 60") else {
            return XCTFail("not a SEARCH")
        }
        XCTAssertEqual(search.key, .and([.older(3600), .not(.younger(60))]))
        XCTAssertEqual(sort("a SORT (DATE) UTF-8 YOUNGER 1")?.1.key, .and([.younger(1)]))
        assertBad("a SEARCH OLDER 0")
        assertBad("a SEARCH YOUNGER")
        assertBad("a SEARCH YOUNGER -5")
        assertBad("a SEARCH OLDER 1h")
        assertBad("a SEARCH OLDER 99999999999")
    }
}
