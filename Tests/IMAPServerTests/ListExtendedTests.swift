import Foundation
import IMAPServer
import XCTest

/// LIST-EXTENDED (RFC 5258) selection and return options, SPECIAL-USE (RFC 6154) and
/// LIST-STATUS (RFC 5819), against folders and a `subscriptions` file on disk.
final class ListExtendedTests: XCTestCase {
    func testSubscribedSelectionNonExistentAndRecursiveMatch() async throws {
        let server = try await startServer()
        let home = try server.maildir.makeUser("alice", folders: ["Sent", "Lists", "Lists.swift", "Work"])
        try "V\t2\n\nSent\nLists\tswift\nGone\n".write(
            toFile: home + "/subscriptions", atomically: true, encoding: .utf8)
        let client = try server.connect()
        try client.login()
        let caps = try client.command("CAPABILITY").untagged.first ?? ""
        XCTAssertTrue(caps.contains("LIST-EXTENDED") && caps.contains("LIST-STATUS"), caps)
        let subscribed = try client.command("LIST (SUBSCRIBED) \"\" \"*\"")
        XCTAssertTrue(subscribed.ok, subscribed.tagged)
        XCTAssertEqual(
            subscribed.untagged.sorted(),
            [
                "* LIST (\\Subscribed \\HasNoChildren \\Sent) \"/\" Sent",
                "* LIST (\\Subscribed \\HasNoChildren) \"/\" Lists/swift",
                "* LIST (\\Subscribed \\NonExistent) \"/\" Gone",
            ].sorted())
        let recursive = try client.command("LIST (SUBSCRIBED RECURSIVEMATCH) \"\" \"%\"")
        XCTAssertTrue(
            recursive.untagged.contains("* LIST () \"/\" Lists (\"CHILDINFO\" (\"SUBSCRIBED\"))"),
            "\(recursive.untagged)")
        XCTAssertFalse(recursive.untagged.contains { $0.hasSuffix("Work") })
        let alone = try client.command("LIST (RECURSIVEMATCH) \"\" \"*\"")
        XCTAssertEqual(alone.status, "BAD", alone.tagged)
        let returned = try client.command("LIST \"\" \"*\" RETURN (SUBSCRIBED CHILDREN)")
        XCTAssertTrue(
            returned.untagged.contains("* LIST (\\HasNoChildren \\Subscribed \\Sent) \"/\" Sent"),
            "\(returned.untagged)")
        XCTAssertTrue(returned.untagged.contains("* LIST (\\HasNoChildren) \"/\" Work"), "\(returned.untagged)")
        XCTAssertTrue(returned.untagged.contains("* LIST (\\HasChildren) \"/\" Lists"), "\(returned.untagged)")
    }

    func testSpecialUseSelectionAndListStatus() async throws {
        let server = try await startServer()
        try server.maildir.makeUser("alice", folders: ["Trash", "Drafts", "Notes"])
        try server.maildir.deliver("alice", folder: "Trash", name: "1700000001.M1P1.host:2,S", into: "cur", body: "a\n")
        try server.maildir.deliver("alice", folder: "Trash", name: "1700000002.M2P1.host", body: "b\n")
        let client = try server.connect()
        try client.login()
        let special = try client.command("LIST (SPECIAL-USE) \"\" \"*\"")
        XCTAssertEqual(
            special.untagged.sorted(),
            ["* LIST (\\HasNoChildren \\Drafts) \"/\" Drafts", "* LIST (\\HasNoChildren \\Trash) \"/\" Trash"])
        let status = try client.command("LIST \"\" \"Trash\" RETURN (STATUS (MESSAGES UNSEEN))")
        XCTAssertEqual(
            status.untagged,
            ["* LIST (\\HasNoChildren \\Trash) \"/\" Trash", "* STATUS Trash (MESSAGES 2 UNSEEN 1)"])
    }

    func testConfiguredSpecialUseNames() async throws {
        let server = try await startServer { $0.specialUse = ["outbox/done": "\\Sent", "sent": "\\Archive"] }
        try server.maildir.makeUser("alice", folders: ["Outbox", "Outbox.Done", "Sent", "Trash"])
        let client = try server.connect()
        try client.login()
        let list = try client.command("LIST (SPECIAL-USE) \"\" \"*\"")
        XCTAssertEqual(
            list.untagged.sorted(),
            [
                "* LIST (\\HasNoChildren \\Archive) \"/\" Sent", "* LIST (\\HasNoChildren \\Sent) \"/\" Outbox/Done",
                "* LIST (\\HasNoChildren \\Trash) \"/\" Trash",
            ].sorted())
        let create = try client.command("CREATE Outbox/done2 (USE (\\Outgoing))")
        XCTAssertTrue(create.tagged.contains("NO [USEATTR]"), create.tagged)
        XCTAssertFalse(FileManager.default.fileExists(atPath: server.maildir.root + "/alice/.Outbox.done2"))
    }

    /// Issue 18 (imaptest listext), answered as Dovecot 2.3 does: options the server
    /// does not know are a BAD, and RETURN (CHILDREN) reaches the parents that
    /// RECURSIVEMATCH lists for a subscribed child.
    func testUnknownOptionsAreBadAndRecursiveMatchParentsGetChildren() async throws {
        let server = try await startServer()
        try server.maildir.makeUser("alice", folders: ["x", "x.test2", "x.test2.test1", "x.test3"])
        try "V\t2\n\nx\ttest2\ttest1\n".write(
            toFile: server.maildir.root + "/alice/subscriptions", atomically: true, encoding: .utf8)
        let client = try server.connect()
        try client.login()
        for command in [
            "LIST (imaptest) \"\" \"\"", "LIST (imaptest) \"\" x", "LIST \"\" \"\" RETURN (imaptest)",
            "LIST \"\" x RETURN (CHILDREN imaptest (a b))",
        ] {
            let reply = try client.command(command)
            XCTAssertEqual(reply.status, "BAD", "\(command): \(reply.tagged)")
            XCTAssertEqual(reply.untagged, [], command)
        }
        let children = try client.command("LIST (SUBSCRIBED RECURSIVEMATCH) \"\" x/test2% RETURN (CHILDREN)")
        XCTAssertTrue(children.ok, children.tagged)
        XCTAssertEqual(children.untagged, ["* LIST (\\HasChildren) \"/\" x/test2 (\"CHILDINFO\" (\"SUBSCRIBED\"))"])
        let plain = try client.command("LIST (SUBSCRIBED RECURSIVEMATCH) \"\" x/test2%")
        XCTAssertEqual(plain.untagged, ["* LIST () \"/\" x/test2 (\"CHILDINFO\" (\"SUBSCRIBED\"))"])
    }
}
