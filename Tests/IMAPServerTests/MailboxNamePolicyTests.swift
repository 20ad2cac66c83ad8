import Foundation
import IMAPServer
import LogCapture
import XCTest

/// Issue 11 item 13 and issue 18 item 6: SUBSCRIBE without a Maildir, LIST wildcards in
/// new names, and LSUB of subscribed folders that do not exist (compared with Dovecot
/// 2.3.19 on the same input).
final class MailboxNamePolicyTests: XCTestCase {
    /// A passwd user whose Maildir does not exist: the login is refused with
    /// NO [UNAVAILABLE] and the reason is logged (issue 13 item 2; it used to log in and
    /// answer every command NONEXISTENT, silently), and nothing is created.
    func testLoginWithoutAMaildirIsUnavailableAndLogged() async throws {
        let log = LogCapture()
        let server = try await startServer(logger: log.logger())
        let home = server.maildir.root + "/alice"
        try FileManager.default.removeItem(atPath: home)
        let client = try server.connect()
        let reply = try client.command("LOGIN alice secret")
        XCTAssertTrue(
            reply.tagged.hasSuffix(
                "NO [UNAVAILABLE] Your mailbox is not available on this server; the server log says why."),
            reply.tagged)
        XCTAssertEqual(
            log.count("login refused: the user's Maildir is not available", level: .error), 1, "\(log.all)")
        XCTAssertTrue(
            log.all.contains { $0.contains("Maildir \(home): No such file or directory") }, "\(log.all)")
        XCTAssertFalse(FileManager.default.fileExists(atPath: home))
    }

    /// A Maildir removed while its user is logged in: SUBSCRIBE used to answer
    /// NO [SERVERBUG] (the lock file could not be made). There is no mailbox at all, so
    /// the answer is NONEXISTENT, as for CREATE, and nothing is created.
    func testSubscribeWithoutAMaildir() async throws {
        let server = try await startServer()
        let home = server.maildir.root + "/alice"
        let client = try server.connect()
        try client.login()
        try FileManager.default.removeItem(atPath: home)
        for command in ["SUBSCRIBE Lists", "UNSUBSCRIBE Lists", "SUBSCRIBE INBOX"] {
            let reply = try client.command(command)
            XCTAssertTrue(
                reply.tagged.contains("NO [NONEXISTENT] Mailbox doesn't exist"), "\(command): \(reply.tagged)")
        }
        XCTAssertTrue(try client.command("LSUB \"\" *").ok)
        XCTAssertFalse(FileManager.default.fileExists(atPath: home))
    }

    /// `%` and `*` are LIST wildcards: CREATE and RENAME refuse new names holding them.
    /// A folder that already has one (made by another program) stays usable.
    func testListWildcardsAreRefusedInNewNames() async throws {
        let server = try await startServer()
        let home = try server.maildir.makeUser("alice", folders: ["Plain", "Old%Name"])
        let client = try server.connect()
        try client.login()
        for command in [
            "CREATE \"a%b\"", "CREATE \"a*b\"", "CREATE \"Plain/%\"", "CREATE \"*\"", "RENAME Plain \"y%\"",
            "RENAME Plain \"Sub/y*z\"", "RENAME INBOX \"In*box\"",
        ] {
            let reply = try client.command(command)
            XCTAssertTrue(
                reply.tagged.contains("NO [CANNOT] Invalid mailbox name: '%' and '*' are not allowed"),
                "\(command): \(reply.tagged)")
        }
        let folders = try FileManager.default.contentsOfDirectory(atPath: home).filter { $0.hasPrefix(".") }.sorted()
        XCTAssertEqual(folders, [".Old%Name", ".Plain"])
        XCTAssertTrue(try client.command("SELECT \"Old%Name\"").ok)
        XCTAssertTrue(try client.command("RENAME \"Old%Name\" Renamed").ok)
        XCTAssertTrue(try client.command("CREATE \"100 percent\"").ok)
    }

    /// A subscribed folder that was deleted: `* LSUB () "/" Gone/Folder` as Dovecot
    /// answers (not \Noselect, which imapc reads as "not subscribed"); LIST (SUBSCRIBED)
    /// still says \Subscribed \NonExistent; the unsubscribed parent `%` stops at is \Noselect.
    func testLsubOfASubscribedFolderThatNoLongerExists() async throws {
        let server = try await startServer()
        let client = try server.connect()
        try client.login()
        XCTAssertTrue(try client.command("CREATE Gone/Folder").ok)
        XCTAssertTrue(try client.command("SUBSCRIBE Gone/Folder").ok)
        XCTAssertTrue(try client.command("DELETE Gone/Folder").ok)
        XCTAssertEqual(try client.command("LSUB \"\" *").untagged, ["* LSUB () \"/\" Gone/Folder"])
        XCTAssertEqual(try client.command("LSUB \"\" Gone/%").untagged, ["* LSUB () \"/\" Gone/Folder"])
        XCTAssertEqual(try client.command("LSUB \"\" %").untagged, ["* LSUB (\\Noselect) \"/\" Gone"])
        let list = try client.command("LIST (SUBSCRIBED) \"\" *")
        XCTAssertEqual(list.untagged, ["* LIST (\\Subscribed \\NonExistent) \"/\" Gone/Folder"])
    }
}
