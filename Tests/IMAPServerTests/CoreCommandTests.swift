import Foundation
import IMAPServer
import Logging
import XCTest

/// End to end: the real server on a loopback port, a socket client, real temporary
/// Maildirs; every test checks the replies and, where a command changes mail, the
/// file names on disk.
final class CoreCommandTests: XCTestCase {
    static let plain =
        "From: Alice <alice@example.org>\nTo: bob@example.org\nSubject: Hello there\nDate: Mon, 2 Oct 2023 10:00:00 +0200\nMessage-ID: <1@example.org>\n\nFirst line\nSecond line\n"
    static let second =
        "From: Carol <carol@example.net>\nTo: alice@example.org\nSubject: =?UTF-8?B?R3LDvMOfZQ==?=\nDate: Tue, 3 Oct 2023 11:00:00 +0000\n\nMünchen body text\n"

    func testGreetingLoginAndWrongPassword() async throws {
        let server = try await startServer()
        let client = try server.connect()
        XCTAssertTrue(client.greetingLine.hasPrefix("* OK [CAPABILITY "), client.greetingLine)
        XCTAssertTrue(client.greetingLine.contains("IMAP4rev2"))
        let bad = try client.command("LOGIN alice wrong")
        XCTAssertTrue(bad.tagged.contains("NO [AUTHENTICATIONFAILED]"), bad.tagged)
        let good = try client.command("LOGIN alice secret")
        XCTAssertTrue(good.tagged.contains("OK [CAPABILITY "), good.tagged)
        let logout = try client.command("LOGOUT")
        XCTAssertTrue(logout.untagged.contains { $0.hasPrefix("* BYE") })
        XCTAssertTrue(logout.ok)
        await server.stop()
    }

    func testAuthenticatePlainContinuationInitialResponseAndCancel() async throws {
        let server = try await startServer()
        let client = try server.connect()
        client.sendRaw("a1 AUTHENTICATE PLAIN\r\n")
        XCTAssertEqual(try client.readLine(), "+ ")
        client.sendRaw("*\r\n")
        XCTAssertTrue(try client.readLine().hasPrefix("a1 BAD"))
        client.sendRaw("a2 AUTHENTICATE PLAIN\r\n")
        XCTAssertEqual(try client.readLine(), "+ ")
        client.sendRaw(Data("\0alice\0secret".utf8).base64EncodedString() + "\r\n")
        let reply = try client.collect(tag: "a2")
        XCTAssertTrue(reply.ok, reply.tagged)
        let other = try server.connect()
        let ir = try other.command("AUTHENTICATE PLAIN " + Data("\0bob\0hunter2".utf8).base64EncodedString())
        XCTAssertTrue(ir.ok, ir.tagged)
        await server.stop()
    }

    func testSelectFetchStoreSearchExpunge() async throws {
        let server = try await startServer()
        let m = server.maildir
        try m.deliver("alice", name: "1700000001.M1P1.host", into: "new", body: Self.plain)
        try m.deliver("alice", name: "1700000002.M2P1.host:2,S", into: "cur", body: Self.second)
        let client = try server.connect()
        try client.login()
        let select = try client.command("SELECT INBOX")
        XCTAssertTrue(select.tagged.contains("OK [READ-WRITE]"), select.tagged)
        XCTAssertTrue(select.untagged.contains("* 2 EXISTS"), "\(select.untagged)")
        XCTAssertTrue(select.untagged.contains { $0.contains("[UIDVALIDITY ") })
        XCTAssertTrue(select.untagged.contains { $0.contains("[UIDNEXT 3]") }, "\(select.untagged)")
        // A read-write SELECT moves new/ into cur/ (Maildir convention).
        XCTAssertEqual(m.files("alice", "new"), [])
        XCTAssertEqual(m.files("alice", "cur"), ["1700000001.M1P1.host:2,", "1700000002.M2P1.host:2,S"])
        XCTAssertTrue(FileManager.default.fileExists(atPath: m.root + "/alice/dovecot-uidlist"))

        let fetch = try client.command("FETCH 1:2 (UID FLAGS RFC822.SIZE)")
        XCTAssertEqual(
            fetch.untagged,
            [
                "* 1 FETCH (UID 1 FLAGS (\\Recent) RFC822.SIZE \(Self.plain.utf8.count + Self.plain.filter { $0 == "\n" }.count))",
                "* 2 FETCH (UID 2 FLAGS (\\Seen \\Recent) RFC822.SIZE \(Self.second.utf8.count + Self.second.filter { $0 == "\n" }.count))",
            ])
        let body = try client.command("FETCH 1 BODY[]")
        XCTAssertEqual(body.literals.first, Array(Self.plain.replacingOccurrences(of: "\n", with: "\r\n").utf8))
        XCTAssertTrue(body.untagged.first?.contains("FLAGS (\\Seen \\Recent)") ?? false, "\(body.untagged)")
        XCTAssertEqual(m.files("alice", "cur").first, "1700000001.M1P1.host:2,S")
        let partial = try client.command("UID FETCH 1 BODY.PEEK[TEXT]<6.4>")
        XCTAssertEqual(partial.literals.first, Array("line".utf8))

        let store = try client.command("STORE 2 +FLAGS (\\Flagged \\Deleted)")
        XCTAssertEqual(store.untagged, ["* 2 FETCH (FLAGS (\\Flagged \\Deleted \\Seen \\Recent))"])
        XCTAssertEqual(m.files("alice", "cur").last, "1700000002.M2P1.host:2,FST")

        let search = try client.command("SEARCH FROM carol")
        XCTAssertEqual(search.untagged, ["* SEARCH 2"])
        // UTF-8 in a non-synchronizing literal; case-insensitive match of the decoded body.
        let searchText = try client.command("SEARCH CHARSET UTF-8 BODY {8+}\r\nMÜnchen")
        XCTAssertEqual(searchText.untagged, ["* SEARCH 2"])
        let subject = try client.command("SEARCH SUBJECT {6+}\r\ngrüß")
        XCTAssertEqual(subject.untagged, ["* SEARCH 2"])
        let uidSearch = try client.command("UID SEARCH DELETED")
        XCTAssertEqual(uidSearch.untagged, ["* SEARCH 2"])

        let expunge = try client.command("EXPUNGE")
        XCTAssertEqual(expunge.untagged, ["* 2 EXPUNGE"])
        XCTAssertEqual(m.files("alice", "cur"), ["1700000001.M1P1.host:2,S"])
        await server.stop()
    }

    /// A scan takes messages in without a stat (MessageRecord): INTERNALDATE and
    /// RFC822.SIZE are read when a command first needs them, and a message gone by then
    /// is reported as expunged.
    func testInternalDateAndSizeAreReadWhenFirstAsked() async throws {
        let server = try await startServer()
        let m = server.maildir
        // 2023-11-14 22:13:20 UTC and 2023-11-15 01:00:00 UTC.
        try m.deliver("alice", name: "1700000000.M1P1.host:2,", into: "cur", body: Self.plain, mtime: 1_700_000_000)
        try m.deliver("alice", name: "1700000001.M2P1.host:2,S", into: "cur", body: Self.second, mtime: 1_700_010_000)
        let plainSize = Self.plain.utf8.count + Self.plain.filter { $0 == "\n" }.count
        let secondSize = Self.second.utf8.count + Self.second.filter { $0 == "\n" }.count
        let client = try server.connect()
        try client.login()
        XCTAssertTrue(try client.command("SELECT INBOX").ok)
        let fetch = try client.command("FETCH 1:2 (INTERNALDATE RFC822.SIZE)")
        XCTAssertEqual(
            fetch.untagged,
            [
                "* 1 FETCH (INTERNALDATE \"14-Nov-2023 22:13:20 +0000\" RFC822.SIZE \(plainSize))",
                "* 2 FETCH (INTERNALDATE \"15-Nov-2023 01:00:00 +0000\" RFC822.SIZE \(secondSize))",
            ])
        let larger = try client.command("SEARCH LARGER \(min(plainSize, secondSize))")
        XCTAssertEqual(larger.untagged, ["* SEARCH \(plainSize > secondSize ? 1 : 2)"])
        let since = try client.command("SEARCH SINCE 15-Nov-2023")
        XCTAssertEqual(since.untagged, ["* SEARCH 2"])
        let other = try server.connect()
        try other.login()
        let status = try other.command("STATUS INBOX (SIZE)")
        XCTAssertEqual(status.untagged, ["* STATUS INBOX (SIZE \(plainSize + secondSize))"])

        // Another program expunges a message after SELECT, before anyone read its
        // details: FETCH may not send EXPUNGE (RFC 9051 §7.5.1) and answers without it.
        try m.deliver("bob", name: "1700000000.M1P1.host:2,", into: "cur", body: Self.plain)
        let doomed = try m.deliver("bob", name: "1700000001.M2P1.host:2,", into: "cur", body: Self.second)
        let late = try server.connect()
        XCTAssertTrue(try late.command("LOGIN bob hunter2").ok)
        XCTAssertTrue(try late.command("SELECT INBOX").untagged.contains("* 2 EXISTS"))
        try FileManager.default.removeItem(atPath: doomed)
        let partial = try late.command("FETCH 1:2 (RFC822.SIZE)")
        XCTAssertEqual(partial.untagged, ["* 1 FETCH (RFC822.SIZE \(plainSize))"])
        XCTAssertTrue(partial.tagged.contains("NO [EXPUNGEISSUED]"), partial.tagged)
        await server.stop()
    }

    func testTwoSessionsSeeEachOthersChangesAtNoop() async throws {
        let server = try await startServer()
        let m = server.maildir
        for i in 1...3 {
            try m.deliver("alice", name: "170000000\(i).M\(i)P1.host:2,", into: "cur", body: Self.plain)
        }
        let a = try server.connect()
        let b = try server.connect()
        try a.login()
        try b.login()
        XCTAssertTrue(try a.command("SELECT INBOX").ok)
        XCTAssertTrue(try b.command("SELECT INBOX").ok)
        XCTAssertEqual(try a.command("STORE 2 +FLAGS.SILENT (\\Deleted)").untagged, [])
        XCTAssertEqual(try a.command("EXPUNGE").untagged, ["* 2 EXPUNGE"])
        XCTAssertEqual(try a.command("STORE 2 +FLAGS.SILENT (\\Answered)").untagged, [])
        // B still numbers 1…3 until it is told; NOOP reports the expunge and the flag.
        let noop = try b.command("NOOP")
        XCTAssertEqual(noop.untagged, ["* 2 EXPUNGE", "* 2 FETCH (UID 3 FLAGS (\\Answered))"])
        // A delivery by another program appears at the next NOOP.
        try m.deliver("alice", name: "1700000009.M9P1.host", into: "new", body: Self.second)
        let after = try b.command("NOOP")
        XCTAssertEqual(after.untagged, ["* 3 EXISTS", "* 1 RECENT"])
        let fetch = try b.command("FETCH 3 (UID)")
        XCTAssertEqual(fetch.untagged, ["* 3 FETCH (UID 4)"])
        await server.stop()
    }

    func testFetchDoesNotReportExpungeButNoopDoes() async throws {
        let server = try await startServer()
        for i in 1...2 {
            try server.maildir.deliver("alice", name: "170000000\(i).M\(i)P1.host:2,T", into: "cur", body: Self.plain)
        }
        let a = try server.connect()
        let b = try server.connect()
        try a.login()
        try b.login()
        XCTAssertTrue(try a.command("SELECT INBOX").ok)
        XCTAssertTrue(try b.command("SELECT INBOX").ok)
        XCTAssertEqual(try a.command("EXPUNGE").untagged, ["* 1 EXPUNGE", "* 1 EXPUNGE"])
        // RFC 9051 §7.5.1: no EXPUNGE during FETCH; sequence numbers stay valid.
        let fetch = try b.command("FETCH 1:2 (FLAGS)")
        XCTAssertFalse(fetch.untagged.contains { $0.contains("EXPUNGE") }, "\(fetch.untagged)")
        let noop = try b.command("NOOP")
        XCTAssertEqual(noop.untagged, ["* 1 EXPUNGE", "* 1 EXPUNGE"])
        await server.stop()
    }

    func testExamineChangesNothingOnDisk() async throws {
        let server = try await startServer()
        let m = server.maildir
        try m.deliver("alice", name: "1700000001.M1P1.host", into: "new", body: Self.plain)
        let writer = try server.connect()
        try writer.login()
        XCTAssertTrue(try writer.command("EXAMINE INBOX").ok)  // creates the uidlist
        let before = m.files("alice", "new") + m.files("alice", "cur")
        let client = try server.connect()
        try client.login()
        XCTAssertTrue(try client.command("EXAMINE INBOX").tagged.contains("[READ-ONLY]"))
        _ = try client.command("FETCH 1 BODY[]")
        XCTAssertEqual(try client.command("STORE 1 +FLAGS (\\Seen)").status, "NO")
        XCTAssertEqual(try client.command("EXPUNGE").status, "NO")
        XCTAssertEqual(m.files("alice", "new") + m.files("alice", "cur"), before)
        XCTAssertEqual(before, ["1700000001.M1P1.host"])
        await server.stop()
    }

    func testListStatusNamespaceAndUTF7Names() async throws {
        let server = try await startServer()
        try server.maildir.makeUser("alice", folders: ["Sent", "Archive", "Archive.2024", "Entw&APw-rfe"])
        try server.maildir.deliver(
            "alice", folder: "Sent", name: "1700000001.M1P1.host:2,S", into: "cur", body: Self.plain)
        let client = try server.connect()
        try client.login()
        let list = try client.command("LIST \"\" *")
        XCTAssertTrue(list.untagged.contains("* LIST (\\HasNoChildren) \"/\" INBOX"), "\(list.untagged)")
        XCTAssertTrue(list.untagged.contains("* LIST (\\HasChildren \\Archive) \"/\" Archive"), "\(list.untagged)")
        XCTAssertTrue(list.untagged.contains("* LIST (\\HasNoChildren) \"/\" Archive/2024"), "\(list.untagged)")
        XCTAssertTrue(list.untagged.contains("* LIST (\\HasNoChildren) \"/\" Entw&APw-rfe"), "\(list.untagged)")
        let top = try client.command("LIST \"\" %")
        XCTAssertFalse(top.untagged.contains { $0.hasSuffix("Archive/2024") }, "\(top.untagged)")
        let status = try client.command("STATUS Sent (MESSAGES UNSEEN UIDNEXT)")
        XCTAssertEqual(status.untagged, ["* STATUS Sent (MESSAGES 1 UNSEEN 0 UIDNEXT 2)"])
        XCTAssertEqual(try client.command("ENABLE UTF8=ACCEPT").untagged, ["* ENABLED UTF8=ACCEPT"])
        let utf8 = try client.command("LIST \"\" Entw*")
        XCTAssertEqual(utf8.untagged, ["* LIST (\\HasNoChildren) \"/\" \"Entwürfe\""])
        let ns = try client.command("NAMESPACE")
        XCTAssertEqual(ns.untagged, ["* NAMESPACE ((\"\" \"/\")) NIL NIL"])
        XCTAssertEqual(try client.command("SELECT Nope").status, "NO")
        await server.stop()
    }

    func testBadInputKeepsTheConnectionAndChangesNothing() async throws {
        let server = try await startServer { $0.decoderLimits.maxLiteralSize = 1 << 20 }
        try server.maildir.deliver("alice", name: "1700000001.M1P1.host:2,", into: "cur", body: Self.plain)
        let client = try server.connect()
        client.sendRaw("x1 FROBNICATE\r\n")
        XCTAssertTrue(try client.readLine().hasPrefix("x1 BAD"))
        XCTAssertEqual(try client.command("SELECT INBOX").status, "BAD")  // wrong state
        try client.login()
        XCTAssertTrue(try client.command("SELECT INBOX").ok)
        XCTAssertEqual(try client.command("FETCH (((").status, "BAD")
        XCTAssertEqual(try client.command("FETCH 9 FLAGS").status, "BAD")
        client.sendRaw("x2 APPEND INBOX {107374182400}\r\n")
        let refused = try client.readLine()
        XCTAssertTrue(refused.hasPrefix("x2 NO") || refused.hasPrefix("x2 BAD"), refused)
        client.sendRaw("x3 NOOP " + String(repeating: "a", count: 1 << 20) + "\r\n")
        XCTAssertTrue(try client.readLine().contains("BAD"))
        XCTAssertTrue(try client.command("NOOP").ok)
        XCTAssertEqual(server.maildir.files("alice", "cur"), ["1700000001.M1P1.host:2,"])
        await server.stop()
    }

    func testRestartKeepsUIDValidityAndUIDs() async throws {
        let first = try await startServer()
        let m = first.maildir
        for i in 1...3 {
            try m.deliver("alice", name: "170000000\(i).M\(i)P1.host", into: "new", body: Self.plain)
        }
        let client = try first.connect()
        try client.login()
        let select1 = try client.command("SELECT INBOX")
        let fetch1 = try client.command("FETCH 1:* (UID)")
        await first.stop()
        var config = first.server.configuration
        config.listen = [.init(host: "127.0.0.1", port: 0)]
        let second = try IMAPServerHarness.start(config)
        addTeardownBlock { await second.shutdown() }
        let client2 = try TestClient(port: try await second.start().first?.port ?? 0)
        try client2.login()
        let select2 = try client2.command("SELECT INBOX")
        XCTAssertEqual(
            select1.untagged.first { $0.contains("UIDVALIDITY") }, select2.untagged.first { $0.contains("UIDVALIDITY") }
        )
        XCTAssertEqual(fetch1.untagged, try client2.command("FETCH 1:* (UID)").untagged)
        XCTAssertEqual(fetch1.untagged.count, 3)
        await second.shutdown()
    }
}

enum IMAPServerHarness {
    static func start(_ config: ServerConfiguration) throws -> IMAPServer {
        var logger = Logger(label: "test")
        logger.logLevel = .error
        return try IMAPServer(configuration: config, logger: logger)
    }
}
