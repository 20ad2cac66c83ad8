import Foundation
import IMAPServer
import LogCapture
import XCTest

/// Issue 11 item 8: client-sent strings never reach a log line raw. A LOGIN user name
/// sent as a literal with CRLF used to forge a second `authentication failed` line.
final class LogInjectionTests: XCTestCase {
    func testEscapingMakesOneLineThatCannotBeForged() {
        XCTAssertEqual(LogEscaping.escape("a\r\nb\tc"), "a\\r\\nb\\tc")
        XCTAssertEqual(LogEscaping.escape("nul\u{0} bel\u{7} del\u{7f} c1\u{85}"), "nul\\x00 bel\\x07 del\\x7f c1\\x85")
        XCTAssertEqual(LogEscaping.escape("ls\u{2028}ps\u{2029}"), "ls\\u{2028}ps\\u{2029}")
        // A backslash is doubled, so `\r` typed by the client stays distinguishable.
        XCTAssertEqual(LogEscaping.escape("a\\r"), "a\\\\r")
        // The log handler's second pass escapes control characters only.
        XCTAssertEqual(LogEscaping.escape("a\\r\r", doublingBackslashes: false), "a\\r\\r")
        XCTAssertEqual(LogEscaping.escape("ünïcödé ok@example.org"), "ünïcödé ok@example.org")
        XCTAssertEqual(LogEscaping.escape(String(repeating: "x", count: 300)).count, LogEscaping.maxCharacters + 1)
    }

    func testLiteralUserNameWithCRLFIsLoggedOnOneLine() async throws {
        let capture = LogCapture()
        let server = try await startServer(logger: capture.logger())
        let forged = "mallory\r\nimapd: notice authentication failed peer=203.0.113.9 user=root"
        let client = try server.connect()
        let bytes = Array(forged.utf8)
        client.sendRaw(Array("a LOGIN {\(bytes.count)+}\r\n".utf8) + bytes + Array(" wrong\r\n".utf8))
        let reply = try client.collect(tag: "a")
        XCTAssertTrue(reply.tagged.contains("NO [AUTHENTICATIONFAILED]"), reply.tagged)
        // ID fields are client text too.
        let id = Array("x\r\ny".utf8)
        client.sendRaw(Array("b ID (\"name\" {\(id.count)+}\r\n".utf8) + id + Array(")\r\n".utf8))
        XCTAssertTrue(try client.collect(tag: "b").ok)
        await server.stop()

        let records = capture.records
        for record in records {
            XCTAssertFalse(
                record.rendered.unicodeScalars.contains { $0.value < 0x20 }, "raw control character: \(record.rendered)"
            )
        }
        let failures = records.filter { $0.message == "authentication failed" }
        XCTAssertEqual(failures.count, 1)
        XCTAssertEqual(
            failures.first?.metadata["user"],
            "mallory\\r\\nimapd: notice authentication failed peer=203.0.113.9 user=root")
        XCTAssertTrue(records.contains { $0.message == "client id" && $0.metadata["id"] == "name=x\\r\\ny" })
    }
}
