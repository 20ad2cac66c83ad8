import Foundation
import IMAPServer
import XCTest

/// Keywords (issue 4 §6): a new keyword gets the next `dovecot-keywords` letter and
/// shows in the next FLAGS / PERMANENTFLAGS of every session; past 26 the server says NO.
final class KeywordTests: XCTestCase {
    func testNewKeywordReachesEverySessionAndTheLimitIsANo() async throws {
        let server = try await startServer()
        let home = server.maildir.root + "/alice"
        try server.maildir.deliver("alice", name: "1700000001.M1P1.host:2,", into: "cur", body: "a\n")
        let a = try server.connect()
        let b = try server.connect()
        let c = try server.connect()
        for client in [a, b, c] {
            try client.login()
            let select = try client.command("SELECT INBOX")
            XCTAssertTrue(select.untagged.contains { $0.contains("PERMANENTFLAGS") && $0.contains("\\*") })
        }
        let store = try a.command("STORE 1 +FLAGS ($Project)")
        XCTAssertTrue(store.ok, store.tagged)
        XCTAssertTrue(
            store.untagged.contains { $0.hasPrefix("* FLAGS") && $0.contains("$Project") }, "\(store.untagged)")
        XCTAssertEqual(try String(contentsOfFile: home + "/dovecot-keywords", encoding: .utf8), "0 $Project\n")
        XCTAssertTrue(server.maildir.files("alice", "cur").first?.hasSuffix(":2,a") == true)
        for client in [b, c] {
            let noop = try client.command("NOOP")
            XCTAssertTrue(
                noop.untagged.contains { $0.hasPrefix("* FLAGS") && $0.contains("$Project") }, "\(noop.untagged)")
            XCTAssertTrue(
                noop.untagged.contains { $0.contains("[PERMANENTFLAGS") && $0.contains("$Project") }, "\(noop.untagged)"
            )
            XCTAssertTrue(
                noop.untagged.contains { $0.contains("FETCH") && $0.contains("$Project") }, "\(noop.untagged)")
        }
        // Fill the 26 letters (a–z), then one more is refused and nothing changes.
        for i in 1..<26 {
            let reply = try (i % 2 == 0 ? a : b).command("STORE 1 +FLAGS (kw\(i))")
            XCTAssertTrue(reply.ok, "kw\(i): \(reply.tagged)")
        }
        let keywords = try String(contentsOfFile: home + "/dovecot-keywords", encoding: .utf8)
        XCTAssertEqual(keywords.split(separator: "\n").count, 26)
        XCTAssertTrue(keywords.hasSuffix("25 kw25\n"), keywords)
        let before = server.maildir.files("alice", "cur")
        let refused = try c.command("STORE 1 +FLAGS (OneTooMany)")
        XCTAssertTrue(refused.tagged.contains("NO [LIMIT]"), refused.tagged)
        XCTAssertEqual(server.maildir.files("alice", "cur"), before)
        XCTAssertFalse(try String(contentsOfFile: home + "/dovecot-keywords", encoding: .utf8).contains("OneTooMany"))
        let message = "From: x@example.org\r\n\r\nhi\r\n"
        c.sendRaw("A1 APPEND INBOX (Another) {\(message.utf8.count)+}\r\n\(message)\r\n")
        let append = try c.collect(tag: "A1")
        XCTAssertTrue(append.tagged.contains("NO [LIMIT]"), append.tagged)
        XCTAssertEqual(server.maildir.files("alice", "cur").count, 1)
        XCTAssertEqual(server.maildir.files("alice", "tmp"), [], "the refused APPEND left nothing in tmp/")
        // With every letter used, PERMANENTFLAGS no longer offers \*.
        let reselect = try c.command("SELECT INBOX")
        let permanent = try XCTUnwrap(reselect.untagged.first { $0.contains("[PERMANENTFLAGS") })
        XCTAssertFalse(permanent.contains("\\*"), permanent)
        XCTAssertTrue(permanent.contains("kw25"), permanent)
    }
}
