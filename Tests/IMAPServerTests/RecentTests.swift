import Foundation
import IMAPServer
import Logging
import XCTest

/// Issue 18 §2: IMAP4rev1 \Recent (RFC 3501 §2.3.2, §7.3.2, §6.4.4, §6.3.10). A message
/// is recent in the first session told of it, seen as recent (but not taken) by a
/// read-only session, not recent again after a restart, and never shown to a session
/// that enabled IMAP4rev2 (RFC 9051 Appendix E).
final class RecentTests: XCTestCase {
    static func message(_ subject: String) -> String {
        "From: a@example.org\r\nSubject: \(subject)\r\n\r\nbody \(subject)\r\n"
    }

    /// The watcher pushes deliveries; the idle poll is set far beyond the read timeout.
    func start() async throws -> RunningServer {
        try await startServer { $0.idlePollSeconds = 3600 }
    }

    func testTheFirstSessionToldOfADeliveryGetsItAsRecentTheOtherDoesNot() async throws {
        let server = try await start()
        let first = try server.connect()
        let second = try server.connect()
        let observer = try server.connect()
        for client in [first, second, observer] { try client.login() }
        let selected = try first.command("SELECT INBOX")
        XCTAssertTrue(selected.untagged.contains("* 0 RECENT"), "\(selected.untagged)")
        XCTAssertTrue(try second.command("SELECT INBOX").ok)

        try server.maildir.deliver("alice", name: "1700000001.M1P1.host", body: Self.message("m1"))
        // Nobody was told yet: STATUS counts it as recent for the next session.
        let before = try observer.command("STATUS INBOX (MESSAGES RECENT)")
        XCTAssertEqual(before.untagged, ["* STATUS INBOX (MESSAGES 1 RECENT 1)"])

        let firstNoop = try first.command("NOOP")
        XCTAssertEqual(firstNoop.untagged, ["* 1 EXISTS", "* 1 RECENT"])
        let secondNoop = try second.command("NOOP")
        // An unchanged count is not repeated (as Dovecot answers).
        XCTAssertEqual(secondNoop.untagged, ["* 1 EXISTS"])

        XCTAssertEqual(try first.command("FETCH 1 (FLAGS)").untagged, ["* 1 FETCH (FLAGS (\\Recent))"])
        XCTAssertEqual(try second.command("FETCH 1 (FLAGS)").untagged, ["* 1 FETCH (FLAGS ())"])
        XCTAssertEqual(try first.command("SEARCH RECENT").untagged, ["* SEARCH 1"])
        XCTAssertEqual(try first.command("SEARCH NEW").untagged, ["* SEARCH 1"])
        XCTAssertEqual(try first.command("SEARCH OLD").untagged, ["* SEARCH"])
        XCTAssertEqual(try second.command("SEARCH RECENT").untagged, ["* SEARCH"])
        XCTAssertEqual(try second.command("SEARCH OLD").untagged, ["* SEARCH 1"])

        // \Recent stays with the flags the message gains; NEW needs it unseen.
        let stored = try first.command("STORE 1 +FLAGS (\\Seen)")
        XCTAssertEqual(stored.untagged, ["* 1 FETCH (FLAGS (\\Seen \\Recent))"])
        XCTAssertEqual(try first.command("SEARCH NEW").untagged, ["* SEARCH"])
        let told = try second.command("NOOP")
        XCTAssertEqual(told.untagged, ["* 1 FETCH (UID 1 FLAGS (\\Seen))"])

        let after = try observer.command("STATUS INBOX (RECENT)")
        XCTAssertEqual(after.untagged, ["* STATUS INBOX (RECENT 0)"])
        // The claim is recorded on disk: the message left new/.
        XCTAssertTrue(pollUntil { server.maildir.files("alice", "new").isEmpty })
    }

    func testExamineSeesRecentButNeverTakesIt() async throws {
        let server = try await start()
        for i in 1...2 {
            try server.maildir.deliver("alice", name: "170000000\(i).M\(i)P1.host", body: Self.message("m\(i)"))
        }
        let reader = try server.connect()
        let writer = try server.connect()
        try reader.login()
        try writer.login()
        let examined = try reader.command("EXAMINE INBOX")
        XCTAssertTrue(examined.untagged.contains("* 2 RECENT"), "\(examined.untagged)")
        XCTAssertEqual(
            try reader.command("FETCH 1:2 (FLAGS)").untagged,
            ["* 1 FETCH (FLAGS (\\Recent))", "* 2 FETCH (FLAGS (\\Recent))"])
        XCTAssertEqual(server.maildir.files("alice", "new").count, 2)
        XCTAssertEqual(
            try writer.command("STATUS INBOX (RECENT)").untagged, ["* STATUS INBOX (RECENT 2)"])

        // A second EXAMINE, then a delivery while examining: still not taken.
        XCTAssertTrue(try reader.command("EXAMINE INBOX").untagged.contains("* 2 RECENT"))
        try server.maildir.deliver("alice", name: "1700000003.M3P1.host", body: Self.message("m3"))
        XCTAssertEqual(try reader.command("NOOP").untagged, ["* 3 EXISTS", "* 3 RECENT"])

        let selected = try writer.command("SELECT INBOX")
        XCTAssertTrue(selected.untagged.contains("* 3 RECENT"), "\(selected.untagged)")
        XCTAssertEqual(try writer.command("STATUS INBOX (RECENT)").untagged, ["* STATUS INBOX (RECENT 0)"])
        // RFC 3501 §2.3.2: the read-only session keeps seeing them as recent.
        XCTAssertEqual(try reader.command("SEARCH RECENT").untagged, ["* SEARCH 1 2 3"])
    }

    func testMessagesClaimedBeforeARestartAreNotRecentAfterIt() async throws {
        let server = try await start()
        try server.maildir.deliver("alice", name: "1700000001.M1P1.host", body: Self.message("m1"))
        let client = try server.connect()
        try client.login()
        XCTAssertTrue(try client.command("SELECT INBOX").untagged.contains("* 1 RECENT"))
        // A delivery claimed while idling (told by the watcher, no command).
        client.sendRaw("I1 IDLE\r\n")
        XCTAssertTrue(try client.readLine().hasPrefix("+ "))
        try server.maildir.deliver("alice", name: "1700000002.M2P1.host", body: Self.message("m2"))
        XCTAssertEqual(try client.readLine(), "* 2 EXISTS")
        XCTAssertEqual(try client.readLine(), "* 2 RECENT")
        XCTAssertTrue(pollUntil { server.maildir.files("alice", "new").isEmpty })
        client.sendRaw("DONE\r\n")
        XCTAssertTrue(try client.collect(tag: "I1").ok)
        // And one nobody was told of: recent after the restart.
        try server.maildir.deliver("alice", name: "1700000003.M3P1.host", body: Self.message("m3"))
        await server.stop()

        var config = ServerConfiguration(root: server.maildir.root, passwdFile: server.passwdPath)
        config.listen = [ListenAddress(host: "127.0.0.1", port: 0)]
        var logger = Logger(label: "test")
        logger.logLevel = .error
        let restarted = try IMAPServer(configuration: config, logger: logger)
        stopAtTeardown(restarted)
        let port = try await restarted.start().first?.port ?? 0
        let again = try TestClient(port: port)
        try again.login()
        XCTAssertEqual(
            try again.command("STATUS INBOX (MESSAGES RECENT)").untagged, ["* STATUS INBOX (MESSAGES 3 RECENT 1)"])
        let selected = try again.command("SELECT INBOX")
        XCTAssertTrue(selected.untagged.contains("* 1 RECENT"), "\(selected.untagged)")
        XCTAssertEqual(try again.command("SEARCH RECENT").untagged, ["* SEARCH 3"])
    }

    func testIMAP4rev2SessionsNeverSeeRecent() async throws {
        let server = try await start()
        try server.maildir.deliver("alice", name: "1700000001.M1P1.host", body: Self.message("m1"))
        let client = try server.connect()
        try client.login()
        XCTAssertTrue(try client.command("ENABLE IMAP4rev2").ok)
        let selected = try client.command("SELECT INBOX")
        XCTAssertTrue(selected.ok, selected.tagged)
        XCTAssertFalse(selected.untagged.contains { $0.contains("RECENT") }, "\(selected.untagged)")
        try server.maildir.deliver("alice", name: "1700000002.M2P1.host", body: Self.message("m2"))
        XCTAssertEqual(try client.command("NOOP").untagged, ["* 2 EXISTS"])
        XCTAssertEqual(
            try client.command("FETCH 1:2 (FLAGS)").untagged,
            ["* 1 FETCH (FLAGS ())", "* 2 FETCH (FLAGS ())"])
        XCTAssertEqual(try client.command("SEARCH RECENT").untagged, ["* ESEARCH (TAG \"T6\")"])
        XCTAssertEqual(try client.command("SEARCH OLD").untagged, ["* ESEARCH (TAG \"T7\") ALL 1:2"])
        XCTAssertEqual(try client.command("STATUS INBOX (RECENT)").untagged, ["* STATUS INBOX (RECENT 0)"])
    }
}
