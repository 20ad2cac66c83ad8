import IMAPProtocol
import XCTest

/// RFC 9394 PARTIAL and RFC 5267 UPDATE/CONTEXT return options on SEARCH and SORT,
/// and the BADs their malformed forms get.
final class DecoderPartialTests: XCTestCase {
    private func search(_ text: String, file: StaticString = #filePath, line: UInt = #line) -> SearchCommand? {
        guard case .search(_, let command)? = parsedCommand(text, file: file, line: line) else {
            XCTFail("not a SEARCH: \(text)", file: file, line: line)
            return nil
        }
        return command
    }

    private func sort(_ text: String, file: StaticString = #filePath, line: UInt = #line) -> SortCommand? {
        guard case .sort(_, let command)? = parsedCommand(text, file: file, line: line) else {
            XCTFail("not a SORT: \(text)", file: file, line: line)
            return nil
        }
        return command
    }

    func testPartialRanges() {
        let first = search("a SEARCH RETURN (PARTIAL 1:100) ALL")
        XCTAssertEqual(first?.returnOptions, [.partial])
        XCTAssertEqual(first?.partial, PartialRange(1, 100))
        // Either order; kept as first <= last.
        XCTAssertEqual(search("a SEARCH RETURN (PARTIAL 4:2) ALL")?.partial, PartialRange(2, 4))
        let last = search("a UID SEARCH RETURN (COUNT PARTIAL -1:-100 MIN) UNSEEN")
        XCTAssertEqual(last?.returnOptions, [.count, .partial, .min])
        XCTAssertEqual(last?.partial, PartialRange(1, 100, fromEnd: true))
        XCTAssertEqual(search("a SEARCH RETURN (partial -100:-1) ALL")?.partial, PartialRange(1, 100, fromEnd: true))
        XCTAssertEqual(
            search("a SEARCH RETURN (PARTIAL 1:4294967295) ALL")?.partial, PartialRange(1, 4_294_967_295))
        let sorted = sort("a UID SORT RETURN (PARTIAL 2:4 COUNT) (DATE) UTF-8 ALL")
        XCTAssertEqual(sorted?.partial, PartialRange(2, 4))
        XCTAssertEqual(sorted?.returnOptions, [.partial, .count])
        XCTAssertNil(search("a SEARCH RETURN (MIN) ALL")?.partial)
    }

    func testUpdateAndContext() {
        XCTAssertEqual(search("a SEARCH RETURN (UPDATE) SEEN")?.returnOptions, [.update])
        XCTAssertEqual(
            search("a SEARCH RETURN (CONTEXT UPDATE COUNT) SEEN")?.returnOptions, [.context, .update, .count])
        XCTAssertEqual(sort("a SORT RETURN (UPDATE ALL) (DATE) UTF-8 ALL")?.returnOptions, [.update, .all])
        // Taken as Dovecot takes it.
        XCTAssertEqual(search("a SEARCH RETURN (UPDATE SAVE) ALL")?.returnOptions, [.update, .save])
    }

    func testMalformedPartialIsBad() {
        for range in ["0:10", "1:0", "-0:-1", "1", "1:", ":1", "1:*", "*:1", "-1:5", "1:-5", "1:4294967296", "", "a:b"]
        {
            assertBad("a SEARCH RETURN (PARTIAL \(range)) ALL")
            assertBad("a SORT RETURN (PARTIAL \(range)) (DATE) UTF-8 ALL")
        }
        assertBad("a SEARCH RETURN (PARTIAL) ALL")
        // RFC 9394 §3.1: PARTIAL and ALL are mutually exclusive.
        assertBad("a SEARCH RETURN (PARTIAL 1:5 ALL) ALL")
        assertBad("a SORT RETURN (ALL PARTIAL 1:5) (DATE) UTF-8 ALL")
        assertBad("a SEARCH RETURN (PARTIAL 1:5 PARTIAL 6:9) ALL")
        assertBad("a SEARCH RETURN (UPDATE UPDATE) ALL")
    }

    func testCancelUpdate() {
        guard case .cancelUpdate(let tags)? = parsedCommand("a CANCELUPDATE \"B01\" {3+}\r\nB02") else {
            return XCTFail("not a CANCELUPDATE")
        }
        XCTAssertEqual(tags, ["B01", "B02"])
        assertBad("a CANCELUPDATE")
        assertBad("a CANCELUPDATE \"x\" ")
        assertBad("a CANCELUPDATE (x)")
        let many = (0...100).map { "\"t\($0)\"" }.joined(separator: " ")
        assertBad("a CANCELUPDATE " + many)
    }
}
