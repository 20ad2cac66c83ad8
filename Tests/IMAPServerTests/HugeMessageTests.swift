import Foundation
import IMAPServer
import XCTest

/// End to end: pathological messages are answered, not crashed on (issue 3). The
/// parser's limits (MessageLimits: 100 levels, 10,000 parts, 10,000 interpreted
/// header fields) keep the answers bounded; no timing is asserted.
final class HugeMessageTests: XCTestCase {
    static let headerLines = 100_000
    static let nestingLevels = 10_000

    /// About 10 MB: 100,000 header lines of 100 bytes, then a short body.
    static func manyHeaderLines() -> String {
        var text = "From: a@example.org\nSubject: many headers\n"
        let filler = String(repeating: "x", count: 85)
        for n in 0..<headerLines { text += "X-Filler-\(String(n + 100_000)): \(filler)\n" }
        return text + "\nthe body\n"
    }

    /// 10,000 multiparts, each the first part of the one around it.
    static func deeplyNested() -> String {
        var text = "From: a@example.org\nSubject: deep\nMIME-Version: 1.0\n"
        for n in 0..<nestingLevels { text += "Content-Type: multipart/mixed; boundary=b\(n)\n\n--b\(n)\n" }
        text += "Content-Type: text/plain\n\ninnermost\n"
        for n in (0..<nestingLevels).reversed() { text += "--b\(n)--\n" }
        return text
    }

    func testHundredThousandHeaderLinesAndTenThousandNestedMultiparts() async throws {
        let server = try await startServer()
        let headers = Self.manyHeaderLines()
        XCTAssertGreaterThan(headers.utf8.count, 10_000_000)
        try server.maildir.deliver("alice", name: "1700000001.M1P1.host:2,", into: "cur", body: headers)
        try server.maildir.deliver("alice", name: "1700000002.M2P1.host:2,", into: "cur", body: Self.deeplyNested())
        let client = try server.connect()
        try client.login()
        XCTAssertTrue(try client.command("SELECT INBOX").ok)

        let first = try client.command("FETCH 1 (BODYSTRUCTURE BODY[1] ENVELOPE RFC822.SIZE)")
        XCTAssertTrue(first.ok, first.tagged)
        let line = first.untagged.first ?? ""
        XCTAssertTrue(line.hasPrefix("* 1 FETCH (BODYSTRUCTURE (\"text\" \"plain\""), String(line.prefix(200)))
        XCTAssertTrue(line.contains("\"many headers\""), String(line.prefix(400)))
        let lineFeeds = headers.utf8.filter { $0 == UInt8(ascii: "\n") }.count
        XCTAssertTrue(line.contains("RFC822.SIZE \(headers.utf8.count + lineFeeds)"), String(line.suffix(100)))
        XCTAssertEqual(first.literals, [Array("the body\r\n".utf8)])

        let second = try client.command("FETCH 2 (BODYSTRUCTURE BODY[1] BODY.PEEK[1.1.1.MIME])")
        XCTAssertTrue(second.ok, second.tagged)
        let structure = second.untagged.first ?? ""
        XCTAssertTrue(structure.hasPrefix("* 2 FETCH (BODYSTRUCTURE (("), String(structure.prefix(200)))
        // Nesting stops at the depth limit: the answer is bounded, far below 10,000 levels.
        XCTAssertLessThan(structure.filter { $0 == "(" }.count, Self.nestingLevels)
        XCTAssertEqual(second.literals.count, 2)
        XCTAssertTrue(
            second.literals.first.map {
                $0.starts(with: Array("--b1\r\nContent-Type: multipart/mixed; boundary=b2\r\n\r\n--b2\r\n".utf8))
            }
                ?? false)
        XCTAssertEqual(second.literals.last, Array("Content-Type: multipart/mixed; boundary=b3\r\n\r\n".utf8))

        // The session is still usable, and FETCH BODY[1] set \Seen on disk.
        XCTAssertTrue(try client.command("NOOP").ok)
        XCTAssertEqual(
            server.maildir.files("alice", "cur"), ["1700000001.M1P1.host:2,S", "1700000002.M2P1.host:2,S"])
    }
}
