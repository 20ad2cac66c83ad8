import Foundation
import XCTest

@testable import IMAPServer

/// SEARCH on header fields, SORT and THREAD read only a message's top-level header
/// (MessageFile.withTopHeader): the first 16 KiB of a large file, or the whole file
/// when the header is longer. Their answers must be those the whole file gives.
final class TopHeaderReadTests: XCTestCase {
    /// Message `index`: a 40 KB body that quotes header lines ("From: trap…"), and for
    /// message 5 a header of about 20 KB whose From and Subject come after the first
    /// 16 KiB.
    static func message(_ index: Int) -> String {
        var header = ""
        if index == 5 {
            for hop in 0..<100 {
                header +=
                    "Received: from relay\(hop).example.net by mx.example.org; " + String(repeating: "x", count: 140)
                    + "\n"
            }
        }
        header += "From: \"Sender \(index % 4)\" <s\(index % 4)@example.org>\n"
        header += "To: r\(index % 3)@example.org\n"
        header += "Subject: topic \(index % 5)\n"
        header += "Date: Mon, \(1 + index) Feb 2023 10:00:00 +0000\n"
        header += "Message-ID: <big\(index)@example.org>\n"
        var body = ""
        while body.utf8.count < 40_000 {
            body += "From: trap@example.org\nSubject: trap\nline \(body.utf8.count) of message \(index)\n\n"
        }
        return header + "\n" + body
    }

    func testHeaderSearchesAndSortsReadTheTopLevelHeaderOnly() async throws {
        let server = try await startServer()
        try server.deliverNumbered(0..<12, Self.message) { TimeInterval(1_600_000_000 + $0) }
        let client = try server.connect()
        try client.login()
        XCTAssertTrue(try client.command("SELECT INBOX").ok)
        func answer(_ command: String) throws -> String {
            let reply = try client.command(command)
            XCTAssertTrue(reply.ok, "\(command): \(reply.tagged)")
            return reply.untagged.joined(separator: "\n")
        }
        // The body's quoted header lines are not the header.
        XCTAssertEqual(try answer("UID SEARCH FROM trap"), "* SEARCH")
        XCTAssertEqual(try answer("UID SEARCH SUBJECT trap"), "* SEARCH")
        // s1 sends messages 1, 5 and 9 (UIDs 2, 6, 10); message 5's From is past 16 KiB.
        XCTAssertEqual(try answer("UID SEARCH FROM s1"), "* SEARCH 2 6 10")
        XCTAssertEqual(try answer("UID SEARCH SUBJECT \"topic 0\""), "* SEARCH 1 6 11")
        XCTAssertEqual(try answer("UID SEARCH HEADER Received relay99"), "* SEARCH 6")
        XCTAssertEqual(try answer("UID SEARCH SENTBEFORE 4-Feb-2023"), "* SEARCH 1 2 3")
        XCTAssertEqual(try answer("UID SEARCH BODY trap"), "* SEARCH 1 2 3 4 5 6 7 8 9 10 11 12")
        XCTAssertEqual(
            try answer("UID SORT (FROM REVERSE DATE) UTF-8 ALL"), "* SORT 9 5 1 10 6 2 11 7 3 12 8 4")
        XCTAssertEqual(
            try answer("UID SORT (SUBJECT) UTF-8 FROM s1"), "* SORT 6 2 10")
    }
}
