import Foundation
import IMAPServer
import XCTest

/// End to end: BODY[] of a message larger than MessageFile.readWholeLimit is streamed
/// from its mapping without a MIME parse, the pages already sent dropped from the
/// resident set (FetchJob.releaseSentPages); the bytes must still be exact, also when
/// the same FETCH reads the file a second time (issue 6).
final class LargeBodyTests: XCTestCase {
    /// About 3 MB of LF-terminated lines, each different.
    static func largeMessage() -> String {
        var text = "From: a@example.org\nSubject: large\n\n"
        var n = 0
        while text.utf8.count < 3_000_000 {
            text += "line \(n) " + String(repeating: Character(UnicodeScalar(UInt8(65 + n % 26))), count: 70) + "\n"
            n += 1
        }
        return text
    }

    func testLargeBodyIsExactTwiceInOneFetchAndInParts() async throws {
        let server = try await startServer()
        let message = Self.largeMessage()
        try server.maildir.deliver("alice", name: "1700000001.M1P1.host:2,S", into: "cur", body: message)
        let wire = Array(message.replacingOccurrences(of: "\n", with: "\r\n").utf8)
        let client = try server.connect()
        try client.login()
        XCTAssertTrue(try client.command("EXAMINE INBOX").ok)

        let whole = try client.command("FETCH 1 (RFC822.SIZE BODY.PEEK[] RFC822)")
        XCTAssertTrue(whole.ok, whole.tagged)
        XCTAssertTrue(whole.untagged.first?.contains("RFC822.SIZE \(wire.count)") ?? false)
        XCTAssertEqual(whole.literals.count, 2)
        XCTAssertTrue(whole.literals.first == wire, "BODY[] differs from the stored message in CRLF form")
        XCTAssertTrue(whole.literals.last == wire, "RFC822 after BODY[] in the same FETCH differs")

        let part = try client.command("FETCH 1 BODY.PEEK[]<2000000.1000>")
        XCTAssertTrue(part.ok, part.tagged)
        XCTAssertEqual(part.literals, [Array(wire[2_000_000..<2_001_000])])
        // The file on disk is untouched (read-only mapping).
        let files = server.maildir.files("alice", "cur")
        XCTAssertEqual(files, ["1700000001.M1P1.host:2,S"])
    }
}
