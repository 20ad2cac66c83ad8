import Foundation
import IMAPServer
import XCTest

/// APPEND (MULTIAPPEND, APPENDUID), COPY / MOVE and their UID forms (COPYUID) end to
/// end with several sessions, checking the files, flags and mtimes on disk.
final class AppendCopyMoveTests: XCTestCase {
    static let message = "From: a@example.org\r\nSubject: appended\r\n\r\nHello\r\n"

    private func mtime(_ path: String) throws -> Int {
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        return Int((attributes[.modificationDate] as? Date)?.timeIntervalSince1970 ?? -1)
    }

    private func append(_ client: TestClient, _ head: String, _ body: String) throws -> TestClient.Reply {
        client.sendRaw("A1 APPEND \(head) {\(body.utf8.count)+}\r\n\(body)\r\n")
        return try client.collect(tag: "A1")
    }

    func testAppendWritesFlagsDateAndAppendUID() async throws {
        let server = try await startServer()
        let home = try server.maildir.makeUser("alice", folders: ["Drafts"])
        let watcher = try server.connect()
        try watcher.login()
        XCTAssertTrue(try watcher.command("SELECT Drafts").untagged.contains("* 0 EXISTS"))
        let client = try server.connect()
        try client.login()
        let caps = try client.command("CAPABILITY").untagged.first ?? ""
        for cap in ["UIDPLUS", "MOVE", "MULTIAPPEND", "APPENDLIMIT=", "SPECIAL-USE"] {
            XCTAssertTrue(caps.contains(cap), cap)
        }
        let reply = try append(client, "Drafts (\\Seen \\Draft $Todo) \"14-Nov-2023 09:30:00 +0100\"", Self.message)
        XCTAssertTrue(reply.ok, reply.tagged)
        let validity = try XCTUnwrap(
            try client.command("STATUS Drafts (UIDVALIDITY)").untagged.first?.split(separator: " ").last?
                .dropLast())
        XCTAssertTrue(reply.tagged.contains("[APPENDUID \(validity) 1]"), reply.tagged)
        let files = server.maildir.files("alice", "cur", folder: "Drafts")
        XCTAssertEqual(files.count, 1)
        let name = try XCTUnwrap(files.first)
        XCTAssertTrue(name.contains(",S=\(Self.message.utf8.count),W=\(Self.message.utf8.count)"), name)
        XCTAssertTrue(name.hasSuffix(":2,DSa"), name)
        XCTAssertEqual(try String(contentsOfFile: home + "/.Drafts/dovecot-keywords", encoding: .utf8), "0 $Todo\n")
        XCTAssertEqual(try mtime(home + "/.Drafts/cur/" + name), 1_699_950_600)
        XCTAssertEqual(
            try String(contentsOfFile: home + "/.Drafts/cur/" + name, encoding: .utf8), Self.message)
        // The other session learns of the message and of the new keyword.
        let noop = try watcher.command("NOOP")
        XCTAssertTrue(noop.untagged.contains("* 1 EXISTS"), "\(noop.untagged)")
        XCTAssertTrue(noop.untagged.contains { $0.hasPrefix("* FLAGS") && $0.contains("$Todo") }, "\(noop.untagged)")
    }

    func testMultiAppendAndTryCreate() async throws {
        let server = try await startServer()
        let client = try server.connect()
        try client.login()
        let body = Self.message
        client.sendRaw(
            "A1 APPEND INBOX {\(body.utf8.count)+}\r\n\(body) (\\Flagged) {\(body.utf8.count)+}\r\n\(body)\r\n")
        let reply = try client.collect(tag: "A1")
        XCTAssertTrue(reply.tagged.contains(" 1:2]"), reply.tagged)
        XCTAssertEqual(server.maildir.files("alice", "cur").count, 2)
        XCTAssertEqual(server.maildir.files("alice", "cur").filter { $0.hasSuffix(":2,F") }.count, 1)
        let missing = try append(client, "Nowhere", body)
        XCTAssertTrue(missing.tagged.contains("NO [TRYCREATE]"), missing.tagged)
        XCTAssertFalse(FileManager.default.fileExists(atPath: server.maildir.root + "/alice/.Nowhere"))
    }

    func testCopyAndUIDCopyReplyCopyUIDAndKeepFlags() async throws {
        let server = try await startServer()
        let home = try server.maildir.makeUser("alice", folders: ["Archive"])
        let m = server.maildir
        try m.deliver("alice", name: "1700000001.M1P1.host:2,S", into: "cur", body: Self.message, mtime: 1_600_000_000)
        try m.deliver("alice", name: "1700000002.M2P1.host:2,F", into: "cur", body: Self.message)
        try m.deliver("alice", name: "1700000003.M3P1.host:2,", into: "cur", body: Self.message)
        let watcher = try server.connect()
        try watcher.login()
        XCTAssertTrue(try watcher.command("SELECT Archive").ok)
        let client = try server.connect()
        try client.login()
        XCTAssertTrue(try client.command("SELECT INBOX").ok)
        let validity = try XCTUnwrap(
            try client.command("STATUS Archive (UIDVALIDITY)").untagged.first?.split(separator: " ").last?.dropLast())
        let copy = try client.command("COPY 1:2 Archive")
        XCTAssertTrue(copy.tagged.contains("OK [COPYUID \(validity) 1:2 1:2]"), copy.tagged)
        let uidCopy = try client.command("UID COPY 3 Archive")
        XCTAssertTrue(uidCopy.tagged.contains("[COPYUID \(validity) 3 3]"), uidCopy.tagged)
        let copied = m.files("alice", "cur", folder: "Archive")
        XCTAssertEqual(copied.count, 3)
        XCTAssertEqual(copied.filter { $0.hasSuffix(":2,S") }.count, 1, "\(copied)")
        XCTAssertEqual(copied.filter { $0.hasSuffix(":2,F") }.count, 1, "\(copied)")
        let seen = try XCTUnwrap(copied.first { $0.hasSuffix(":2,S") })
        XCTAssertEqual(try mtime(home + "/.Archive/cur/" + seen), 1_600_000_000, "INTERNALDATE kept")
        XCTAssertEqual(m.files("alice", "cur").count, 3, "COPY leaves the source")
        let noop = try watcher.command("NOOP")
        XCTAssertTrue(noop.untagged.contains("* 3 EXISTS"), "\(noop.untagged)")
        let none = try client.command("UID COPY 99 Archive")
        XCTAssertTrue(none.ok, none.tagged)
        XCTAssertFalse(none.tagged.contains("COPYUID"), none.tagged)
        let missing = try client.command("COPY 1 Nowhere")
        XCTAssertTrue(missing.tagged.contains("NO [TRYCREATE]"), missing.tagged)
    }

    func testMoveSendsCopyUIDThenExpunge() async throws {
        let server = try await startServer()
        try server.maildir.makeUser("alice", folders: ["Trash"])
        let m = server.maildir
        for i in 1...3 {
            try m.deliver("alice", name: "170000000\(i).M\(i)P1.host:2,", into: "cur", body: Self.message)
        }
        let other = try server.connect()
        try other.login()
        XCTAssertTrue(try other.command("SELECT INBOX").ok)
        let client = try server.connect()
        try client.login()
        XCTAssertTrue(try client.command("SELECT INBOX").ok)
        let move = try client.command("UID MOVE 2:3 Trash")
        XCTAssertTrue(move.ok, move.tagged)
        let copyUID = try XCTUnwrap(
            move.untagged.firstIndex { $0.hasPrefix("* OK [COPYUID ") && $0.contains(" 2:3 1:2]") })
        let expunges = move.untagged.indices.filter { move.untagged[$0].hasSuffix(" EXPUNGE") }
        XCTAssertEqual(expunges.count, 2, "\(move.untagged)")
        XCTAssertTrue(expunges.allSatisfy { $0 > copyUID }, "COPYUID before EXPUNGE: \(move.untagged)")
        XCTAssertEqual(m.files("alice", "cur").count, 1)
        XCTAssertEqual(m.files("alice", "cur", folder: "Trash").count, 2)
        let noop = try other.command("NOOP")
        XCTAssertEqual(noop.untagged.filter { $0.hasSuffix(" EXPUNGE") }.count, 2, "\(noop.untagged)")
        XCTAssertTrue(try client.command("EXAMINE INBOX").ok)
        let readOnly = try client.command("MOVE 1 Trash")
        XCTAssertTrue(readOnly.tagged.contains("NO [READ-ONLY]"), readOnly.tagged)
        XCTAssertEqual(m.files("alice", "cur").count, 1)
    }

    /// SELECT cleans tmp/ of files abandoned for 36 hours, judged by ctime (the store's
    /// TemporaryCleanupTests look 36 hours ahead): a file whose mtime is old but which
    /// was just written, like an APPEND with an old date-time waiting for its rename, or
    /// a COPY's hard link, stays.
    func testSelectKeepsTmpFilesBeingStagedWithAnOldMtime() async throws {
        let server = try await startServer()
        let tmp = server.maildir.root + "/alice/tmp/"
        let now = Date().timeIntervalSince1970
        for (name, age) in [("old-date.append", 37.0 * 3600), ("recent.append", 3600.0)] {
            _ = FileManager.default.createFile(atPath: tmp + name, contents: Data("partial".utf8))
            try FileManager.default.setAttributes(
                [.modificationDate: Date(timeIntervalSince1970: now - age)], ofItemAtPath: tmp + name)
        }
        try FileManager.default.createDirectory(atPath: tmp + "old-dir", withIntermediateDirectories: true)
        try FileManager.default.setAttributes(
            [.modificationDate: Date(timeIntervalSince1970: now - 40 * 3600)], ofItemAtPath: tmp + "old-dir")
        let client = try server.connect()
        try client.login()
        XCTAssertTrue(try client.command("SELECT INBOX").ok)
        XCTAssertEqual(server.maildir.files("alice", "tmp"), ["old-date.append", "old-dir", "recent.append"])
    }

    func testAppendLimitIsAdvertisedAndALargerMessageIsRefusedBeforeTheContinuation() async throws {
        let server = try await startServer { $0.decoderLimits.maxLiteralSize = 1000 }
        let client = try server.connect()
        try client.login()
        let caps = try client.command("CAPABILITY").untagged.first ?? ""
        XCTAssertTrue(caps.contains(" APPENDLIMIT=1000"), caps)
        let status = try client.command("STATUS INBOX (APPENDLIMIT)")
        XCTAssertEqual(status.untagged, ["* STATUS INBOX (APPENDLIMIT 1000)"])
        client.sendRaw("A1 APPEND INBOX {1001}\r\n")
        let refused = try client.readLine()
        XCTAssertTrue(refused.hasPrefix("A1 NO") || refused.hasPrefix("A1 BAD"), refused)
        XCTAssertFalse(refused.hasPrefix("+"), "no continuation for a message over the limit")
        let body = "Subject: fits\r\n\r\n" + String(repeating: "x", count: 1000 - 17)
        XCTAssertEqual(body.utf8.count, 1000)
        client.sendRaw("A2 APPEND INBOX {1000}\r\n")
        XCTAssertTrue(try client.readLine().hasPrefix("+"))
        client.sendRaw(body + "\r\n")
        let accepted = try client.collect(tag: "A2")
        XCTAssertTrue(accepted.tagged.contains("OK [APPENDUID "), accepted.tagged)
        XCTAssertEqual(server.maildir.files("alice", "cur").count, 1)
        XCTAssertEqual(server.maildir.files("alice", "tmp"), [])
    }
}
