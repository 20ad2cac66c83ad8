import Foundation
import IMAPServer
import Logging
import XCTest

/// CREATE, DELETE, RENAME, SUBSCRIBE, UNSUBSCRIBE and LSUB end to end, checking the
/// Maildir++ tree and the `subscriptions` file on disk after each command.
final class MailboxManagementTests: XCTestCase {
    static let body = "From: a@example.org\nSubject: x\n\nbody\n"

    private func exists(_ path: String) -> Bool { FileManager.default.fileExists(atPath: path) }

    func testCreateMakesMaildirFolderAndRefusesInboxAndDuplicates() async throws {
        let server = try await startServer()
        let home = server.maildir.root + "/alice"
        let client = try server.connect()
        try client.login()
        let create = try client.command("CREATE Work/Projects")
        XCTAssertTrue(create.ok, create.tagged)
        for sub in ["cur", "new", "tmp", "maildirfolder"] {
            XCTAssertTrue(exists(home + "/.Work.Projects/" + sub), sub)
        }
        XCTAssertFalse(exists(home + "/.Work"), "parents are not created in Maildir++")
        let again = try client.command("CREATE Work/Projects")
        XCTAssertTrue(again.tagged.contains("NO [ALREADYEXISTS]"), again.tagged)
        let inbox = try client.command("CREATE inbox")
        XCTAssertTrue(inbox.tagged.contains("NO [ALREADYEXISTS]"), inbox.tagged)
        // Modified UTF-7 on disk; the rev1 client sends modified UTF-7 too.
        let utf7 = try client.command("CREATE \"Entw&APw-rfe\"")
        XCTAssertTrue(utf7.ok, utf7.tagged)
        XCTAssertTrue(exists(home + "/.Entw&APw-rfe/maildirfolder"))
        // A second session sees it at once.
        let other = try server.connect()
        try other.login()
        let list = try other.command("LIST \"\" \"*\"")
        XCTAssertTrue(list.untagged.contains { $0.hasSuffix("\"/\" Work/Projects") }, "\(list.untagged)")
        XCTAssertTrue(list.untagged.contains { $0.contains("\\Noselect") && $0.hasSuffix(" Work") }, "\(list.untagged)")
        await server.stop()
    }

    func testCreateSpecialUse() async throws {
        let server = try await startServer()
        let client = try server.connect()
        try client.login()
        let caps = try client.command("CAPABILITY")
        XCTAssertTrue(caps.untagged.first?.contains("CREATE-SPECIAL-USE") == true, "\(caps.untagged)")
        let sent = try client.command("CREATE Sent (USE (\\Sent))")
        XCTAssertTrue(sent.ok, sent.tagged)
        XCTAssertTrue(exists(server.maildir.root + "/alice/.Sent/maildirfolder"))
        let wrong = try client.command("CREATE Stuff (USE (\\Bogus))")
        XCTAssertTrue(wrong.tagged.contains("NO [USEATTR]"), wrong.tagged)
        XCTAssertFalse(exists(server.maildir.root + "/alice/.Stuff"))
        await server.stop()
    }

    /// CREATE-SPECIAL-USE for any name (RFC 6154 §3): kept in `imapd-special-use`,
    /// shown by LIST after a restart, moved by RENAME (with children), dropped by DELETE.
    func testCreateSpecialUseForAnyNameSurvivesRestartRenameAndDelete() async throws {
        let server = try await startServer()
        let home = server.maildir.root + "/alice"
        let file = home + "/imapd-special-use"
        let client = try server.connect()
        try client.login()
        for command in [
            "CREATE Receipts (USE (\\Archive))", "CREATE Work (USE (\\drafts \\Flagged))",
            "CREATE Work/Sub (USE (\\Junk))",
        ] {
            XCTAssertTrue(try client.command(command).ok, command)
        }
        XCTAssertEqual(
            try String(contentsOfFile: file, encoding: .utf8),
            "\\Archive\tReceipts\n\\Drafts \\Flagged\tWork\n\\Junk\tWork\tSub\n")
        XCTAssertTrue(try client.command("RENAME Work Job").ok)
        XCTAssertTrue(try client.command("DELETE Receipts").ok)
        XCTAssertEqual(
            try String(contentsOfFile: file, encoding: .utf8), "\\Drafts \\Flagged\tJob\n\\Junk\tJob\tSub\n")
        XCTAssertTrue(try client.command("CREATE Receipts (USE (\\Archive))").ok)
        await server.stop()

        // A new server process on the same spool.
        var config = ServerConfiguration(root: server.maildir.root, passwdFile: server.passwdPath)
        config.listen = [ListenAddress(host: "127.0.0.1", port: 0)]
        var logger = Logger(label: "test")
        logger.logLevel = .error
        let restarted = try IMAPServer(configuration: config, logger: logger)
        addTeardownBlock { await restarted.shutdown() }
        let port = try await restarted.start().first?.port ?? 0
        let again = try TestClient(port: port)
        try again.login()
        let list = try again.command("LIST (SPECIAL-USE) \"\" \"*\"")
        XCTAssertEqual(
            list.untagged.sorted(),
            [
                "* LIST (\\HasChildren \\Drafts \\Flagged) \"/\" Job", "* LIST (\\HasNoChildren \\Junk) \"/\" Job/Sub",
                "* LIST (\\HasNoChildren \\Archive) \"/\" Receipts",
            ].sorted())
        await restarted.shutdown()
    }

    func testDeleteKeepsChildrenAndRefusesInbox() async throws {
        let server = try await startServer()
        let home = try server.maildir.makeUser("alice", folders: ["A", "A.B"])
        try server.maildir.deliver("alice", folder: "A", name: "1700000001.M1P1.host", body: Self.body)
        let client = try server.connect()
        try client.login()
        let inbox = try client.command("DELETE INBOX")
        XCTAssertEqual(inbox.status, "NO", inbox.tagged)
        XCTAssertTrue(exists(home + "/cur"))
        let delete = try client.command("DELETE A")
        XCTAssertTrue(delete.ok, delete.tagged)
        XCTAssertFalse(exists(home + "/.A"))
        XCTAssertTrue(exists(home + "/.A.B/maildirfolder"))
        let list = try client.command("LIST \"\" \"*\"")
        XCTAssertTrue(list.untagged.contains { $0.contains("\\Noselect") && $0.hasSuffix(" A") }, "\(list.untagged)")
        // §6.3.5: a \Noselect name with children can't be deleted.
        let again = try client.command("DELETE A")
        XCTAssertTrue(again.tagged.contains("NO [HASCHILDREN]"), again.tagged)
        let missing = try client.command("DELETE Nope")
        XCTAssertTrue(missing.tagged.contains("NO [NONEXISTENT]"), missing.tagged)
        await server.stop()
    }

    func testDeleteSelectedMailboxDeselects() async throws {
        let server = try await startServer()
        let home = try server.maildir.makeUser("alice", folders: ["Old"])
        let client = try server.connect()
        try client.login()
        XCTAssertTrue(try client.command("SELECT Old").ok)
        let delete = try client.command("DELETE Old")
        XCTAssertTrue(delete.ok, delete.tagged)
        XCTAssertTrue(delete.untagged.contains { $0.contains("[CLOSED]") }, "\(delete.untagged)")
        XCTAssertFalse(exists(home + "/.Old"))
        let fetch = try client.command("FETCH 1 FLAGS")
        XCTAssertEqual(fetch.status, "BAD", fetch.tagged)
        await server.stop()
    }

    func testRenameMovesChildrenAndKeepsUIDValidity() async throws {
        let server = try await startServer()
        let home = try server.maildir.makeUser("alice", folders: ["A", "A.B", "AB"])
        try server.maildir.deliver("alice", folder: "A", name: "1700000001.M1P1.host", body: Self.body)
        let client = try server.connect()
        try client.login()
        let before = try client.command("STATUS A (UIDVALIDITY MESSAGES)")
        let rename = try client.command("RENAME A Z/Y")
        XCTAssertTrue(rename.ok, rename.tagged)
        XCTAssertFalse(exists(home + "/.A"))
        XCTAssertFalse(exists(home + "/.A.B"))
        XCTAssertTrue(exists(home + "/.AB/maildirfolder"), "a sibling sharing the prefix stays")
        XCTAssertTrue(exists(home + "/.Z.Y/maildirfolder"))
        XCTAssertTrue(exists(home + "/.Z.Y.B/maildirfolder"))
        XCTAssertEqual(server.maildir.files("alice", "new", folder: "Z.Y").count, 1)
        let after = try client.command("STATUS Z/Y (UIDVALIDITY MESSAGES)")
        XCTAssertEqual(
            before.untagged.first?.split(separator: "(").last, after.untagged.first?.split(separator: "(").last)
        let missing = try client.command("RENAME Nope Other")
        XCTAssertTrue(missing.tagged.contains("NO [NONEXISTENT]"), missing.tagged)
        let exists = try client.command("RENAME AB Z/Y")
        XCTAssertTrue(exists.tagged.contains("NO [ALREADYEXISTS]"), exists.tagged)
        await server.stop()
    }

    func testRenameInboxMovesMessagesAndLeavesInboxEmpty() async throws {
        let server = try await startServer()
        let m = server.maildir
        try m.deliver("alice", name: "1700000001.M1P1.host", into: "new", body: Self.body)
        try m.deliver("alice", name: "1700000002.M2P1.host:2,S", into: "cur", body: Self.body)
        let watcher = try server.connect()
        try watcher.login()
        XCTAssertTrue(try watcher.command("SELECT INBOX").untagged.contains("* 2 EXISTS"))
        let client = try server.connect()
        try client.login()
        let rename = try client.command("RENAME INBOX Old-Inbox")
        XCTAssertTrue(rename.ok, rename.tagged)
        XCTAssertEqual(m.files("alice", "cur") + m.files("alice", "new"), [])
        let moved = m.files("alice", "cur", folder: "Old-Inbox")
        XCTAssertEqual(moved.count, 2)
        XCTAssertEqual(moved.filter { $0.hasSuffix(":2,S") }.count, 1, "\(moved)")
        let noop = try watcher.command("NOOP")
        XCTAssertEqual(noop.untagged.filter { $0.hasSuffix(" EXPUNGE") }.count, 2, "\(noop.untagged)")
        await server.stop()
    }

    func testSubscribeUnsubscribeAndLsub() async throws {
        let server = try await startServer()
        let home = try server.maildir.makeUser("alice", folders: ["Lists", "Lists.swift"])
        let client = try server.connect()
        try client.login()
        XCTAssertTrue(try client.command("SUBSCRIBE Lists/swift").ok)
        XCTAssertTrue(try client.command("SUBSCRIBE Gone").ok, "the folder need not exist")
        let file = try String(contentsOfFile: home + "/subscriptions", encoding: .utf8)
        XCTAssertEqual(file, "V\t2\n\nLists\tswift\nGone\n")
        let other = try server.connect()
        try other.login()
        let lsub = try other.command("LSUB \"\" \"*\"")
        XCTAssertEqual(
            lsub.untagged.sorted(), ["* LSUB () \"/\" Lists/swift", "* LSUB () \"/\" Gone"].sorted())
        let percent = try other.command("LSUB \"\" \"%\"")
        XCTAssertEqual(percent.untagged, ["* LSUB (\\Noselect) \"/\" Lists", "* LSUB () \"/\" Gone"])
        XCTAssertTrue(try other.command("UNSUBSCRIBE Gone").ok)
        XCTAssertEqual(try String(contentsOfFile: home + "/subscriptions", encoding: .utf8), "V\t2\n\nLists\tswift\n")
        let bad = try client.command("SUBSCRIBE \"../x\"")
        XCTAssertEqual(bad.status, "NO", bad.tagged)
        XCTAssertFalse(try String(contentsOfFile: home + "/subscriptions", encoding: .utf8).contains(".."))
        await server.stop()
    }

    /// Dovecot renames the subscriptions of the folder and of its children with it.
    func testSubscriptionsFollowRename() async throws {
        let server = try await startServer()
        let home = try server.maildir.makeUser("alice", folders: ["Lists", "Lists.swift", "Listsx"])
        let client = try server.connect()
        try client.login()
        for name in ["Lists", "Lists/swift", "Listsx", "Lists/gone"] {
            XCTAssertTrue(try client.command("SUBSCRIBE \(name)").ok)
        }
        XCTAssertTrue(try client.command("RENAME Lists Groups").ok)
        XCTAssertEqual(
            try String(contentsOfFile: home + "/subscriptions", encoding: .utf8),
            "V\t2\n\nGroups\nGroups\tswift\nListsx\nGroups\tgone\n")
        XCTAssertTrue(FileManager.default.fileExists(atPath: home + "/.Groups.swift/maildirfolder"))
        let lsub = try client.command("LSUB \"\" \"*\"")
        XCTAssertEqual(
            lsub.untagged.sorted(),
            [
                "* LSUB () \"/\" Groups", "* LSUB () \"/\" Groups/swift", "* LSUB () \"/\" Listsx",
                "* LSUB () \"/\" Groups/gone",
            ].sorted())
        await server.stop()
    }

    /// A session in IDLE whose selected folder is deleted by another session, or
    /// removed by another program (`rm -rf`), gets `* BYE` at once and is closed.
    func testIdleSessionIsToldAtOnceWhenItsFolderIsDeleted() async throws {
        let server = try await startServer()
        let home = try server.maildir.makeUser("alice", folders: ["Shared", "Other"])
        try server.maildir.deliver("alice", folder: "Shared", name: "1700000001.M1P1.host", body: Self.body)
        let other = try server.connect()
        try other.login()
        for (folder, remove) in [
            ("Shared", { XCTAssertTrue(try other.command("DELETE Shared").ok) }),
            ("Other", { try FileManager.default.removeItem(atPath: home + "/.Other") }),
        ] as [(String, () throws -> Void)] {
            let idler = try server.connect()
            try idler.login()
            XCTAssertTrue(try idler.command("SELECT \(folder)").ok)
            idler.sendRaw("I1 IDLE\r\n")
            XCTAssertTrue(try idler.readLine().hasPrefix("+"))
            try remove()
            XCTAssertFalse(exists(home + "/." + folder))
            let rest = idler.readUntilClosed()
            XCTAssertTrue(rest.hasPrefix("* BYE Selected mailbox was deleted"), "\(folder): \(rest)")
            XCTAssertFalse(rest.contains("I1 "), rest)
        }
        XCTAssertTrue(try other.command("NOOP").ok, "the deleting session goes on")
        await server.stop()
    }

    func testDeletingAFolderAnotherSessionHasSelectedEndsThatSession() async throws {
        let server = try await startServer()
        try server.maildir.makeUser("alice", folders: ["Shared"])
        try server.maildir.deliver("alice", folder: "Shared", name: "1700000001.M1P1.host", body: Self.body)
        let reader = try server.connect()
        try reader.login()
        XCTAssertTrue(try reader.command("SELECT Shared").untagged.contains("* 1 EXISTS"))
        let other = try server.connect()
        try other.login()
        XCTAssertTrue(try other.command("DELETE Shared").ok)
        XCTAssertFalse(exists(server.maildir.root + "/alice/.Shared"))
        let noop = try reader.command("NOOP")
        XCTAssertTrue(noop.ok, noop.tagged)
        // Then BYE, and the server closes the connection (readUntilClosed returns at EOF).
        XCTAssertTrue(reader.readUntilClosed().hasPrefix("* BYE "))
        XCTAssertTrue(try other.command("NOOP").ok, "the deleting session goes on")
        await server.stop()
    }

    func testUTF8NamesOnTheWireAreModifiedUTF7OnDisk() async throws {
        let server = try await startServer()
        let home = server.maildir.root + "/alice"
        let modern = try server.connect()
        try modern.login()
        XCTAssertTrue(try modern.command("ENABLE UTF8=ACCEPT").ok)
        let create = try modern.command("CREATE \"Entwürfe/Größe\"")
        XCTAssertTrue(create.ok, create.tagged)
        XCTAssertTrue(exists(home + "/.Entw&APw-rfe.Gr&APYA3w-e/maildirfolder"))
        XCTAssertTrue(try modern.command("SUBSCRIBE \"Entwürfe/Größe\"").ok)
        let list = try modern.command("LIST \"\" \"Entw*\" RETURN (SUBSCRIBED)")
        XCTAssertTrue(
            list.untagged.contains { $0.hasSuffix(" \"Entwürfe/Größe\"") && $0.contains("\\Subscribed") },
            "\(list.untagged)")
        let legacy = try server.connect()
        try legacy.login()
        let old = try legacy.command("LIST \"\" \"Entw*\"")
        XCTAssertTrue(old.untagged.contains { $0.hasSuffix(" Entw&APw-rfe/Gr&APYA3w-e") }, "\(old.untagged)")
        let rename = try legacy.command("RENAME Entw&APw-rfe/Gr&APYA3w-e Entw&APw-rfe/Kleine")
        XCTAssertTrue(rename.ok, rename.tagged)
        XCTAssertTrue(exists(home + "/.Entw&APw-rfe.Kleine/maildirfolder"))
        let raw = try legacy.command("CREATE \"Größe\"")
        XCTAssertEqual(raw.status, "NO", "8-bit names need UTF8=ACCEPT: \(raw.tagged)")
        await server.stop()
    }
}
