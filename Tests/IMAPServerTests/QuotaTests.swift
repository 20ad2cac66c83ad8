import Foundation
import IMAPServer
import XCTest

/// RFC 9208 QUOTA end to end over real sockets: the responses, [OVERQUOTA] before
/// anything is written, MOVE never refused, usage after EXPUNGE and DELETE, and the
/// rules from `--quota-rule` and the passwd entry.
final class QuotaTests: XCTestCase {
    static let message = "From: a@example.org\r\nSubject: quota\r\n\r\nHello\r\n"  // 46 bytes

    private func startServer(rules: [String], hashes: [String: String] = [:]) async throws -> RunningServer {
        try await startServer(hashes: hashes) { $0.quotaRules = rules }
    }

    private func maildirsize(_ server: RunningServer, _ user: String = "alice") -> String {
        (try? String(contentsOfFile: server.maildir.root + "/\(user)/maildirsize", encoding: .utf8)) ?? "<missing>"
    }

    private func quotaLine(_ client: TestClient) throws -> String {
        let reply = try client.command("GETQUOTAROOT INBOX")
        XCTAssertTrue(reply.ok, reply.tagged)
        return reply.untagged.first { $0.hasPrefix("* QUOTA ") } ?? "<none>"
    }

    private func deliver(_ server: RunningServer, count: Int, folder: String? = nil) throws {
        for i in 1...count {
            try server.maildir.deliver(
                "alice", folder: folder, name: "17000000\(i).M\(i)P1.host,S=46:2,", into: "cur", body: Self.message)
        }
    }

    func testNoLimitsAndSetQuota() async throws {
        let server = try await startServer(rules: [])
        let client = try server.connect()
        try client.login()
        let caps = try client.command("CAPABILITY").untagged.first ?? ""
        for cap in [" QUOTA ", " QUOTA=RES-STORAGE ", " QUOTA=RES-MESSAGE "] { XCTAssertTrue(caps.contains(cap), cap) }
        let root = try client.command("GETQUOTAROOT INBOX")
        XCTAssertEqual(root.untagged, ["* QUOTAROOT INBOX"])
        XCTAssertTrue(root.tagged.hasSuffix(" OK No quota."), root.tagged)
        XCTAssertTrue(try client.command(#"GETQUOTA "User quota""#).tagged.hasSuffix("NO Quota root doesn't exist."))
        let set = try client.command(#"SETQUOTA "User quota" (STORAGE 100)"#)
        XCTAssertTrue(set.tagged.hasSuffix("NO [NOPERM] Quota can be changed only by admin."), set.tagged)
        XCTAssertEqual(try client.command(#"SETQUOTA "User quota" (STORAGE)"#).status, "BAD")
        XCTAssertEqual(try client.command("GETQUOTAROOT Nowhere").untagged, ["* QUOTAROOT Nowhere"])
        XCTAssertEqual(maildirsize(server), "<missing>", "an unlimited user is not tracked")
    }

    func testGetQuotaReportsKibibytesRoundedUp() async throws {
        let server = try await startServer(rules: ["*:bytes=2049", "*:messages=27"])
        try deliver(server, count: 2)
        let client = try server.connect()
        try client.login()
        let reply = try client.command("GETQUOTAROOT INBOX")
        XCTAssertEqual(
            reply.untagged, [#"* QUOTAROOT INBOX "User quota""#, #"* QUOTA "User quota" (STORAGE 1 3 MESSAGE 2 27)"#])
        let quota = try client.command(#"GETQUOTA "User quota""#)
        XCTAssertEqual(quota.untagged, [#"* QUOTA "User quota" (STORAGE 1 3 MESSAGE 2 27)"#])
        XCTAssertTrue(try client.command(#"GETQUOTA "other""#).tagged.hasSuffix("NO Quota root doesn't exist."))
        // A folder that does not exist (yet) has the root too (Dovecot 2.3).
        XCTAssertEqual(
            try client.command("GETQUOTAROOT Nowhere").untagged,
            [#"* QUOTAROOT Nowhere "User quota""#, #"* QUOTA "User quota" (STORAGE 1 3 MESSAGE 2 27)"#])
        XCTAssertTrue(try client.command("GETQUOTAROOT ../x").tagged.contains("NO [CANNOT]"))
        XCTAssertEqual(maildirsize(server), "2049S,27C\n92 2\n")
    }

    func testOverQuotaAppendAndMultiAppendLeaveNothing() async throws {
        let server = try await startServer(rules: ["*:messages=2"])
        try deliver(server, count: 1)
        let client = try server.connect()
        try client.login()
        let body = Self.message
        // Two messages would make three: the whole MULTIAPPEND is refused.
        client.sendRaw("A1 APPEND INBOX {\(body.utf8.count)+}\r\n\(body) {\(body.utf8.count)+}\r\n\(body)\r\n")
        let multi = try client.collect(tag: "A1")
        XCTAssertEqual(multi.tagged, "A1 NO [OVERQUOTA] Quota exceeded (mailbox for user is full)")
        XCTAssertEqual(server.maildir.files("alice", "cur").count, 1)
        XCTAssertEqual(server.maildir.files("alice", "tmp"), [], "nothing partial is left in tmp/")
        client.sendRaw("A2 APPEND INBOX {\(body.utf8.count)+}\r\n\(body)\r\n")
        XCTAssertTrue(try client.collect(tag: "A2").ok)
        client.sendRaw("A3 APPEND INBOX {\(body.utf8.count)+}\r\n\(body)\r\n")
        XCTAssertTrue(try client.collect(tag: "A3").tagged.hasPrefix("A3 NO [OVERQUOTA]"))
        XCTAssertEqual(server.maildir.files("alice", "cur").count, 2)
        XCTAssertEqual(server.maildir.files("alice", "tmp"), [])
        XCTAssertEqual(try quotaLine(client), #"* QUOTA "User quota" (MESSAGE 2 2)"#)
        XCTAssertEqual(maildirsize(server), "2C\n46 1\n46 1\n")
    }

    /// A synchronizing literal that cannot fit is refused before its continuation:
    /// the client never sends it, nothing reaches tmp/.
    func testOverQuotaAppendIsRefusedBeforeTheContinuation() async throws {
        let server = try await startServer(rules: ["*:bytes=100"])
        let client = try server.connect()
        try client.login()
        client.sendRaw("A1 APPEND INBOX {101}\r\n")
        XCTAssertEqual(try client.readLine(), "A1 NO [OVERQUOTA] Quota exceeded (mailbox for user is full)")
        XCTAssertEqual(server.maildir.files("alice", "tmp"), [])
        XCTAssertTrue(try client.command("NOOP").ok, "the session goes on")
        client.sendRaw("A2 APPEND INBOX {100}\r\n")
        XCTAssertTrue(try client.readLine().hasPrefix("+ "), "a message that fits gets its continuation")
    }

    func testStorageLimitCountsTheWholeCommand() async throws {
        // 100 bytes: two 46-byte messages fit, a third does not.
        let server = try await startServer(rules: ["*:bytes=100"])
        let client = try server.connect()
        try client.login()
        let body = Self.message
        let literal = "{\(body.utf8.count)+}\r\n\(body)"
        client.sendRaw("A1 APPEND INBOX \(literal) \(literal) \(literal)\r\n")
        XCTAssertTrue(try client.collect(tag: "A1").tagged.hasPrefix("A1 NO [OVERQUOTA]"))
        client.sendRaw("A2 APPEND INBOX \(literal) \(literal)\r\n")
        XCTAssertTrue(try client.collect(tag: "A2").ok)
        XCTAssertEqual(server.maildir.files("alice", "cur").count, 2)
    }

    /// Dovecot 2.3: with 26 of 27 messages used, COPY 1:2 is refused and MOVE 1:2 is
    /// not, and the MOVE changes no usage.
    func testCopyRefusedWhileMoveIsAllowed() async throws {
        let server = try await startServer(rules: ["*:messages=27"])
        _ = try server.maildir.makeUser("alice", folders: ["Archive"])
        try deliver(server, count: 26)
        let client = try server.connect()
        try client.login()
        XCTAssertTrue(try client.command("SELECT INBOX").ok)
        let copy = try client.command("COPY 1:2 Archive")
        XCTAssertTrue(copy.tagged.hasSuffix("NO [OVERQUOTA] Quota exceeded (mailbox for user is full)"), copy.tagged)
        XCTAssertEqual(server.maildir.files("alice", "cur", folder: "Archive"), [])
        XCTAssertEqual(server.maildir.files("alice", "tmp", folder: "Archive"), [])
        XCTAssertTrue(try client.command("COPY 1 Archive").ok, "one more fits")
        XCTAssertTrue(try client.command("MOVE 1:2 Archive").ok)
        XCTAssertEqual(server.maildir.files("alice", "cur", folder: "Archive").count, 3)
        XCTAssertEqual(try quotaLine(client), #"* QUOTA "User quota" (MESSAGE 27 27)"#)
        XCTAssertEqual(maildirsize(server), "27C\n1196 26\n46 1\n")
    }

    func testUsageRightAfterExpungeCloseAndDelete() async throws {
        let server = try await startServer(rules: ["*:storage=1M", "*:messages=100"])
        _ = try server.maildir.makeUser("alice", folders: ["Old"])
        try deliver(server, count: 4)
        try deliver(server, count: 2, folder: "Old")
        let client = try server.connect()
        try client.login()
        XCTAssertEqual(try quotaLine(client), #"* QUOTA "User quota" (STORAGE 1 1024 MESSAGE 6 100)"#)
        XCTAssertTrue(try client.command("SELECT INBOX").ok)
        XCTAssertTrue(try client.command("STORE 1:2 +FLAGS.SILENT (\\Deleted)").ok)
        let status = try client.command("STATUS INBOX (DELETED DELETED-STORAGE)")
        XCTAssertEqual(status.untagged, ["* STATUS INBOX (DELETED 2 DELETED-STORAGE 92)"])
        XCTAssertTrue(try client.command("EXPUNGE").ok)
        XCTAssertEqual(try quotaLine(client), #"* QUOTA "User quota" (STORAGE 1 1024 MESSAGE 4 100)"#)
        XCTAssertTrue(try client.command("STORE 1 +FLAGS.SILENT (\\Deleted)").ok)
        XCTAssertTrue(try client.command("CLOSE").ok)
        XCTAssertEqual(try quotaLine(client), #"* QUOTA "User quota" (STORAGE 1 1024 MESSAGE 3 100)"#)
        XCTAssertTrue(try client.command("DELETE Old").ok)
        XCTAssertEqual(try quotaLine(client), #"* QUOTA "User quota" (STORAGE 1 1024 MESSAGE 1 100)"#)
        XCTAssertEqual(maildirsize(server), "1048576S,100C\n276 6\n-92 -2\n-46 -1\n-92 -2\n")
    }

    func testPasswdRulesReplaceTheDefaultAndPerFolderRulesAreRefused() async throws {
        let server = try await startServer(
            rules: ["*:messages=1000", "*:storage=1G"],
            hashes: [
                "carol": "{PLAIN}pw::::::userdb_quota_rule=*:messages=5 x=",
                "dave": "{PLAIN}pw::::::quota_rule2=Trash:storage=+100M x=",
            ])
        let carol = try server.connect()
        try carol.login("carol", "pw")
        XCTAssertEqual(try quotaLine(carol), #"* QUOTA "User quota" (STORAGE 0 1048576 MESSAGE 0 5)"#)
        let dave = try server.connect()
        let refused = try dave.command("LOGIN dave pw")
        XCTAssertTrue(refused.tagged.contains("NO [UNAVAILABLE]"), refused.tagged)
        let alice = try server.connect()
        try alice.login()
        XCTAssertEqual(try quotaLine(alice), #"* QUOTA "User quota" (STORAGE 0 1048576 MESSAGE 0 1000)"#)
    }

    /// Two sessions appending at once with room for one message: the check and the
    /// update happen under one lock, so exactly one of them gets in.
    func testConcurrentAppendsCannotBothPass() async throws {
        let server = try await startServer(rules: ["*:messages=1"])
        let body = Self.message
        let clients = try (0..<4).map { _ in try server.connect() }
        for client in clients { try client.login() }
        for client in clients { client.sendRaw("A1 APPEND INBOX {\(body.utf8.count)+}\r\n\(body)\r\n") }
        let replies = try clients.map { try $0.collect(tag: "A1") }
        XCTAssertEqual(replies.filter(\.ok).count, 1, "\(replies.map(\.tagged))")
        XCTAssertEqual(replies.filter { $0.tagged.contains("[OVERQUOTA]") }.count, 3)
        XCTAssertEqual(server.maildir.files("alice", "cur").count, 1)
    }

    /// A FIFO planted at maildirsize must not stall the session (nor the server).
    func testPlantedFIFODoesNotStallTheSession() async throws {
        let server = try await startServer(rules: ["*:messages=10"])
        XCTAssertEqual(mkfifo(server.maildir.root + "/alice/maildirsize", 0o600), 0)
        let client = try server.connect()
        try client.login()
        XCTAssertEqual(try quotaLine(client), #"* QUOTA "User quota" (MESSAGE 0 10)"#)
        XCTAssertEqual(maildirsize(server), "10C\n0 0\n")
    }
}
