import Foundation
import XCTest

@testable import IMAPServer

/// End to end over a socket: RFC 9394 PARTIAL on SEARCH, UID SEARCH, SORT and UID SORT
/// (first and last pages, a page beyond the end, MIN/MAX/COUNT beside it, SAVE), and
/// the BADs of malformed ranges.
final class SearchPartialTests: XCTestCase {
    /// SortThreadTests' folder: five messages, sequence number n has UID n + 1.
    func start() async throws -> (RunningServer, TestClient) {
        let server = try await startServer()
        for (index, message) in SortThreadTests.messages.enumerated() {
            try server.maildir.deliver(
                "alice", name: "17000000\(index + 10).M\(index)P1.host:2,", into: "cur", body: message.text,
                mtime: message.mtime)
        }
        let client = try server.connect()
        try client.login()
        XCTAssertTrue(try client.command("SELECT INBOX").ok)
        XCTAssertTrue(try client.command("STORE 1 +FLAGS (\\Deleted)").ok)
        XCTAssertTrue(try client.command("EXPUNGE").ok)
        return (server, client)
    }

    /// The untagged answer, `(TAG "x")` shortened to `(TAG)`.
    private func answer(_ client: TestClient, _ command: String, file: StaticString = #filePath, line: UInt = #line)
        throws -> [String]
    {
        let reply = try client.command(command)
        XCTAssertTrue(reply.ok, "\(command): \(reply.tagged)", file: file, line: line)
        return reply.untagged.map {
            $0.replacingOccurrences(of: #"\(TAG "[^"]*"\)"#, with: "(TAG)", options: .regularExpression)
        }
    }

    func testCapability() async throws {
        let (_, client) = try await start()
        let caps = try answer(client, "CAPABILITY").first ?? ""
        XCTAssertTrue(caps.contains(" SEARCH=PARTIAL"), caps)
    }

    func testSearchPages() async throws {
        let (_, client) = try await start()
        XCTAssertEqual(try answer(client, "SEARCH RETURN (PARTIAL 1:2) ALL"), ["* ESEARCH (TAG) PARTIAL (1:2 1:2)"])
        XCTAssertEqual(try answer(client, "SEARCH RETURN (PARTIAL 4:2) ALL"), ["* ESEARCH (TAG) PARTIAL (2:4 2:4)"])
        XCTAssertEqual(try answer(client, "SEARCH RETURN (PARTIAL 4:10) ALL"), ["* ESEARCH (TAG) PARTIAL (4:10 4:5)"])
        XCTAssertEqual(try answer(client, "SEARCH RETURN (PARTIAL 6:10) ALL"), ["* ESEARCH (TAG) PARTIAL (6:10 NIL)"])
        // Counted from the end: -1 is the last match.
        XCTAssertEqual(
            try answer(client, "UID SEARCH RETURN (PARTIAL -1:-2) ALL"), ["* ESEARCH (TAG) UID PARTIAL (-1:-2 5:6)"])
        XCTAssertEqual(
            try answer(client, "UID SEARCH RETURN (PARTIAL -9:-5) ALL"), ["* ESEARCH (TAG) UID PARTIAL (-5:-9 2)"])
        XCTAssertEqual(
            try answer(client, "UID SEARCH RETURN (PARTIAL -6:-9) ALL"), ["* ESEARCH (TAG) UID PARTIAL (-6:-9 NIL)"])
        // Pages of the matches, not of the folder: 1:2,4:5 match.
        XCTAssertEqual(
            try answer(client, "SEARCH RETURN (PARTIAL 2:3) 1:2,4:5"), ["* ESEARCH (TAG) PARTIAL (2:3 2,4)"])
        // MIN, MAX and COUNT describe the whole result (RFC 9394 §3.1).
        XCTAssertEqual(
            try answer(client, "UID SEARCH RETURN (MIN MAX COUNT PARTIAL 2:3) ALL"),
            ["* ESEARCH (TAG) UID MIN 2 MAX 6 COUNT 5 PARTIAL (2:3 3:4)"])
        // SAVE keeps the page returned.
        XCTAssertEqual(
            try answer(client, "SEARCH RETURN (SAVE PARTIAL -1:-2) ALL"), ["* ESEARCH (TAG) PARTIAL (-1:-2 4:5)"])
        XCTAssertEqual(try answer(client, "SEARCH $"), ["* SEARCH 4 5"])
    }

    func testSortPages() async throws {
        let (_, client) = try await start()
        // SORT (DATE) is 3 2 1 5 4 (UIDs 4 3 2 6 5): pages keep sort order.
        XCTAssertEqual(
            try answer(client, "SORT RETURN (PARTIAL 2:4) (DATE) UTF-8 ALL"), ["* ESEARCH (TAG) PARTIAL (2:4 2,1,5)"])
        XCTAssertEqual(
            try answer(client, "UID SORT RETURN (PARTIAL -1:-2 COUNT) (DATE) UTF-8 ALL"),
            ["* ESEARCH (TAG) UID COUNT 5 PARTIAL (-1:-2 6,5)"])
        XCTAssertEqual(
            try answer(client, "SORT RETURN (PARTIAL 9:9) (DATE) UTF-8 ALL"), ["* ESEARCH (TAG) PARTIAL (9:9 NIL)"])
    }

    func testMalformedRangesAreBad() async throws {
        let (_, client) = try await start()
        for command in [
            "SEARCH RETURN (PARTIAL 0:5) ALL", "SEARCH RETURN (PARTIAL 1) ALL", "SEARCH RETURN (PARTIAL 1:*) ALL",
            "SEARCH RETURN (PARTIAL -1:5) ALL", "SEARCH RETURN (PARTIAL 1:4294967296) ALL",
            "SEARCH RETURN (PARTIAL 1:5 ALL) ALL", "SORT RETURN (PARTIAL *:1) (DATE) UTF-8 ALL",
        ] {
            let reply = try client.command(command)
            XCTAssertTrue(reply.tagged.contains(" BAD "), "\(command): \(reply.tagged)")
            XCTAssertTrue(reply.untagged.isEmpty, "\(command): \(reply.untagged)")
        }
    }
}
