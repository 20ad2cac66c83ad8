import Foundation
import XCTest

/// A FETCH the records answer alone (FetchJob.encodeRecordItems), large enough to take
/// several steps of `FetchJob.stepBytes`: every message exactly once, in order, with
/// its own flags, and the same bytes as the general path gives.
final class FetchStepsTests: XCTestCase {
    func testRecordOnlyFetchOverManyStepsAnswersEveryMessageOnce() async throws {
        let server = try await startServer()
        let count = 9_000
        let letters = ["", "S", "FS", "RS"]
        for i in 1...count {
            try server.maildir.deliver(
                "alice", name: "\(1_700_000_000 + i).M\(i)P1.host:2,\(letters[i % 4])", into: "cur", body: "x\n")
        }
        let client = try server.connect()
        try client.login()
        XCTAssertTrue(try client.command("ENABLE IMAP4rev2").ok)
        XCTAssertTrue(try client.command("SELECT INBOX").ok)
        let fetch = try client.command("UID FETCH 1:* (FLAGS)")
        XCTAssertTrue(fetch.ok, fetch.tagged)
        let words = ["", "\\Seen", "\\Flagged \\Seen", "\\Answered \\Seen"]
        let expected = (1...count).map { "* \($0) FETCH (UID \($0) FLAGS (\(words[$0 % 4])))" }
        XCTAssertEqual(fetch.untagged.count, count)
        XCTAssertEqual(fetch.untagged, expected)
        // The general path (RFC822.SIZE takes it) gives the same FLAGS, message for message.
        let general = try client.command("FETCH 1:* (UID FLAGS RFC822.SIZE)")
        XCTAssertTrue(general.ok, general.tagged)
        XCTAssertEqual(general.untagged.map { $0.replacingOccurrences(of: " RFC822.SIZE 3)", with: ")") }, expected)
        // MODSEQ too, and keywords: the raw writer and the general path agree.
        XCTAssertTrue(try client.command("STORE 5,9,13,8000:8100 +FLAGS.SILENT ($Label1 Work)").ok)
        let raw = try client.command("UID FETCH 1:* (FLAGS MODSEQ)")
        XCTAssertTrue(raw.ok, raw.tagged)
        // (The first MODSEQ item enables CONDSTORE: an untagged OK [HIGHESTMODSEQ] first.)
        let rawLines = raw.untagged.filter { $0.contains(" FETCH (") }
        XCTAssertEqual(rawLines.count, count)
        XCTAssertTrue(rawLines[4].contains("$Label1 Work") && rawLines[4].contains("MODSEQ ("), rawLines[4])
        let slow = try client.command("FETCH 1:* (UID FLAGS MODSEQ RFC822.SIZE)")
        // (Compared as a whole: a failure would print 9,000 lines.)
        XCTAssertTrue(slow.untagged.map { $0.replacingOccurrences(of: " RFC822.SIZE 3)", with: ")") } == rawLines)
    }
}
