import Foundation
import IMAPServer
import XCTest

/// Issue 5 §1: changes made by other programs and other sessions reach IDLE at once
/// (through the inotify watcher: the periodic IDLE rescan is set far beyond the test's
/// read timeout, so only the watcher can deliver them) and other sessions at NOOP.
final class LiveUpdateTests: XCTestCase {
    static func message(_ subject: String) -> String {
        "From: a@example.org\r\nSubject: \(subject)\r\n\r\nbody \(subject)\r\n"
    }

    /// Poll far beyond TestClient's 10 s read timeout: an update arriving in time came
    /// from inotify.
    func start() async throws -> RunningServer {
        try await startServer { $0.idlePollSeconds = 3600 }
    }

    /// Delivers like an MDA in a separate process: write into tmp/, rename into new/.
    func deliverBySeparateProcess(_ home: String, name: String, subject: String) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = [
            "-c", "printf '%s' \"$1\" > \"$2/tmp/$3\" && mv \"$2/tmp/$3\" \"$2/new/$3\"", "deliver",
            Self.message(subject), home, name,
        ]
        try process.run()
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0)
    }

    func testIdleSeesSeparateProcessDeliveryAndOtherSessionsStoreAndExpunge() async throws {
        let server = try await start()
        let m = server.maildir
        for i in 1...2 {
            try m.deliver("alice", name: "170000000\(i).M\(i)P1.host:2,", into: "cur", body: Self.message("m\(i)"))
        }
        let idler = try server.connect()
        let other = try server.connect()
        try idler.login()
        try other.login()
        XCTAssertTrue(try idler.command("SELECT INBOX").ok)
        XCTAssertTrue(try other.command("SELECT INBOX").ok)
        idler.sendRaw("I1 IDLE\r\n")
        XCTAssertTrue(try idler.readLine().hasPrefix("+ "))

        try deliverBySeparateProcess(m.root + "/alice", name: "1700000003.M3P9.host", subject: "m3")
        XCTAssertEqual(try idler.readLine(), "* 3 EXISTS")
        // IMAP4rev1 (issue 18): the idler was told first, so the delivery is its \Recent.
        XCTAssertEqual(try idler.readLine(), "* 3 RECENT")

        XCTAssertTrue(try other.command("STORE 1 +FLAGS.SILENT (\\Flagged)").ok)
        let flagged = try idler.readLine()
        XCTAssertTrue(flagged.hasPrefix("* 1 FETCH ("), flagged)
        XCTAssertTrue(flagged.contains("FLAGS (\\Flagged \\Recent)"), flagged)

        XCTAssertTrue(try other.command("STORE 2 +FLAGS.SILENT (\\Deleted)").ok)
        XCTAssertTrue(try idler.readLine().hasPrefix("* 2 FETCH ("))
        XCTAssertTrue(try other.command("EXPUNGE").ok)
        XCTAssertEqual(try idler.readLine(), "* 2 EXPUNGE")

        idler.sendRaw("DONE\r\n")
        XCTAssertEqual(try idler.collect(tag: "I1").status, "OK")
        // The idler's view now matches the disk: m1 (flagged) and m3.
        let fetch = try idler.command("FETCH 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        XCTAssertEqual(fetch.untagged.count, 2, "\(fetch.untagged)")
        let onDisk = m.files("alice", "cur") + m.files("alice", "new")
        XCTAssertEqual(onDisk.count, 2, "\(onDisk)")
        XCTAssertTrue(onDisk.contains { $0.hasPrefix("1700000001.M1P1.host:2,") && $0.hasSuffix("F") }, "\(onDisk)")
        XCTAssertTrue(onDisk.contains { $0.hasPrefix("1700000003.M3P9.host") }, "\(onDisk)")
    }

    func testNonIdleSessionSeesTheSameChangesAtNoop() async throws {
        let server = try await start()
        let m = server.maildir
        for i in 1...2 {
            try m.deliver("alice", name: "170000000\(i).M\(i)P1.host:2,", into: "cur", body: Self.message("m\(i)"))
        }
        let watcher = try server.connect()
        let other = try server.connect()
        try watcher.login()
        try other.login()
        XCTAssertTrue(try watcher.command("SELECT INBOX").ok)
        XCTAssertTrue(try other.command("SELECT INBOX").ok)
        try deliverBySeparateProcess(m.root + "/alice", name: "1700000003.M3P9.host", subject: "m3")
        XCTAssertTrue(try other.command("STORE 1 +FLAGS.SILENT (\\Flagged \\Deleted)").ok)
        XCTAssertTrue(try other.command("EXPUNGE").untagged.contains("* 1 EXPUNGE"))
        let noop = try watcher.command("NOOP")
        XCTAssertTrue(noop.untagged.contains("* 1 EXPUNGE"), "\(noop.untagged)")
        XCTAssertTrue(noop.untagged.contains("* 2 EXISTS"), "\(noop.untagged)")
        XCTAssertFalse(noop.untagged.contains { $0.contains("FETCH") && $0.hasPrefix("* 3 ") }, "\(noop.untagged)")
        let onDisk = m.files("alice", "cur") + m.files("alice", "new")
        XCTAssertEqual(onDisk.count, 2, "\(onDisk)")
        XCTAssertEqual(try watcher.command("FETCH 1:* (FLAGS)").untagged.count, 2)
    }

    /// Three sessions expunge in turn, each with a view that lags the others; after NOOP
    /// every view holds exactly the messages left in the directory, in UID order.
    func testThreeSessionsWithInterleavedExpungesMatchTheDirectory() async throws {
        let server = try await start()
        let m = server.maildir
        for i in 1...9 {
            try m.deliver("alice", name: "170000000\(i).M\(i)P1.host:2,", into: "cur", body: Self.message("m\(i)"))
        }
        let sessions = try (0..<3).map { _ in try server.connect() }
        for s in sessions {
            try s.login()
            XCTAssertTrue(try s.command("SELECT INBOX").ok)
        }
        // Each deletes by UID what it believes is there, without NOOP in between.
        XCTAssertTrue(try sessions[0].command("UID STORE 2,5 +FLAGS.SILENT (\\Deleted)").ok)
        XCTAssertTrue(try sessions[1].command("UID STORE 7 +FLAGS.SILENT (\\Deleted)").ok)
        XCTAssertTrue(try sessions[0].command("EXPUNGE").ok)
        XCTAssertTrue(try sessions[2].command("UID STORE 1,9 +FLAGS.SILENT (\\Deleted)").ok)
        XCTAssertTrue(try sessions[1].command("EXPUNGE").ok)
        XCTAssertTrue(try sessions[2].command("EXPUNGE").ok)
        XCTAssertTrue(try sessions[0].command("UID STORE 4 +FLAGS.SILENT (\\Deleted)").ok)
        XCTAssertTrue(try sessions[0].command("EXPUNGE").ok)

        let left = (m.files("alice", "cur") + m.files("alice", "new")).map { name in
            String(name.split(separator: ".")[1].dropFirst().prefix { $0 != "P" })  // "M3P1" -> "3"
        }.sorted()
        XCTAssertEqual(left, ["3", "6", "8"])
        for s in sessions {
            XCTAssertTrue(try s.command("NOOP").ok)
            let uids = try s.command("FETCH 1:* (UID)").untagged
            XCTAssertEqual(uids, ["* 1 FETCH (UID 3)", "* 2 FETCH (UID 6)", "* 3 FETCH (UID 8)"])
        }
    }
}
