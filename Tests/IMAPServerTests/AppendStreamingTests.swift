import Foundation
import IMAPServer
import XCTest

/// Polls `condition` until it holds or `timeout` seconds pass (a deadline, not a
/// synchronisation sleep: the server's work is observed on disk).
func pollUntil(timeout: TimeInterval = 10, _ condition: () -> Bool) -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if condition() { return true }
        usleep(5000)
    }
    return condition()
}

/// Issue 4 item 4: APPEND is streamed to tmp/ as the literal arrives (RFC 9051
/// §6.3.12), then fsync'd and renamed into cur/; MULTIAPPEND (RFC 3502) stays atomic.
final class AppendStreamingTests: XCTestCase {
    private func sizes(_ server: RunningServer, _ subdir: String) -> [Int] {
        let dir = server.maildir.root + "/alice/" + subdir + "/"
        return server.maildir.files("alice", subdir).map {
            ((try? FileManager.default.attributesOfItem(atPath: dir + $0)[.size]) as? Int) ?? -1
        }
    }

    func testHalfSentLiteralIsAlreadyInTmpThenLandsInCur() async throws {
        let server = try await startServer()
        let client = try server.connect()
        try client.login()
        let line = Array("Subject: streamed\r\n".utf8)
        var message: [UInt8] = []
        while message.count < 300_000 { message += line }
        client.sendRaw("A1 APPEND INBOX (\\Seen) \"01-Jan-2020 10:00:00 +0000\" {\(message.count)}\r\n")
        XCTAssertTrue(try client.readLine().hasPrefix("+"))
        let half = message.count / 2
        client.sendRaw(Array(message[..<half]))
        // The first half is on disk in tmp/ while the second has not been sent.
        XCTAssertTrue(pollUntil { self.sizes(server, "tmp") == [half] }, "\(sizes(server, "tmp"))")
        XCTAssertEqual(server.maildir.files("alice", "cur") + server.maildir.files("alice", "new"), [])
        client.sendRaw(Array(message[half...]) + Array("\r\n".utf8))
        let reply = try client.collect(tag: "A1")
        XCTAssertTrue(reply.tagged.contains("OK [APPENDUID "), reply.tagged)
        XCTAssertEqual(server.maildir.files("alice", "tmp"), [])
        let cur = server.maildir.files("alice", "cur")
        XCTAssertEqual(cur.count, 1)
        let name = try XCTUnwrap(cur.first)
        XCTAssertTrue(name.contains(",S=\(message.count),W=\(message.count)"), name)
        XCTAssertTrue(name.hasSuffix(":2,S"), name)
        let path = server.maildir.root + "/alice/cur/" + name
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: path)), Data(message))
        let mtime = try FileManager.default.attributesOfItem(atPath: path)[.modificationDate] as? Date
        XCTAssertEqual(mtime?.timeIntervalSince1970, 1_577_872_800)
    }

    /// A client that disconnects midway leaves nothing in cur/ or new/; its half
    /// message is in tmp/ until the closed session removes it.
    func testDisconnectMidwayLeavesNothingInCur() async throws {
        let server = try await startServer()
        var client: TestClient? = try server.connect()
        try client?.login()
        client?.sendRaw("A1 APPEND INBOX {100000}\r\n")
        XCTAssertTrue(try client?.readLine().hasPrefix("+") == true)
        client?.sendRaw([UInt8](repeating: UInt8(ascii: "x"), count: 40000))
        XCTAssertTrue(pollUntil { self.sizes(server, "tmp") == [40000] }, "\(sizes(server, "tmp"))")
        client = nil  // closes the socket
        let m = server.maildir
        XCTAssertTrue(pollUntil { m.files("alice", "tmp").isEmpty }, "\(m.files("alice", "tmp"))")
        XCTAssertEqual(m.files("alice", "cur") + m.files("alice", "new"), [])
        let other = try server.connect()
        try other.login()
        XCTAssertTrue(try other.command("SELECT INBOX").untagged.contains("* 0 EXISTS"))
    }

    /// ,W= counts bare LFs as CRLF, across chunk boundaries.
    func testMultiAppendWithLiteralPlusStoresEveryMessage() async throws {
        let server = try await startServer()
        let client = try server.connect()
        try client.login()
        client.sendRaw("A1 APPEND INBOX {6+}\r\na\nbc\r\n (\\Flagged) {3}\r\n")
        XCTAssertTrue(try client.readLine().hasPrefix("+"))
        client.sendRaw("xyz\r\n")
        let reply = try client.collect(tag: "A1")
        XCTAssertTrue(reply.tagged.contains("OK [APPENDUID "), reply.tagged)
        XCTAssertTrue(reply.tagged.contains(" 1:2]"), reply.tagged)
        let cur = server.maildir.files("alice", "cur")
        XCTAssertEqual(cur.count, 2)
        XCTAssertEqual(cur.filter { $0.contains(",S=6,W=7") }.count, 1, "\(cur)")
        XCTAssertEqual(cur.filter { $0.contains(",S=3,W=3") && $0.hasSuffix(":2,F") }.count, 1, "\(cur)")
        XCTAssertTrue(try client.command("NOOP").ok)
    }

    /// RFC 3502: all or none. A zero-byte second message refuses the whole command, a
    /// syntax error after the first literal too; nothing reaches cur/ or stays in tmp/.
    func testMultiAppendIsAllOrNothing() async throws {
        let server = try await startServer()
        let client = try server.connect()
        try client.login()
        client.sendRaw("A1 APPEND INBOX {5+}\r\nhello {0+}\r\n\r\n")
        let zero = try client.collect(tag: "A1")
        XCTAssertTrue(zero.tagged.hasPrefix("A1 NO"), zero.tagged)
        client.sendRaw("A2 APPEND INBOX {5+}\r\nhello garbage\r\n")
        let bad = try client.collect(tag: "A2")
        XCTAssertTrue(bad.tagged.hasPrefix("A2 BAD"), bad.tagged)
        client.sendRaw("A3 APPEND INBOX {5+}\r\nhello (\\Bogus flag {4+}\r\nabcd\r\n")
        let badFlag = try client.collect(tag: "A3")
        XCTAssertTrue(badFlag.tagged.hasPrefix("A3 BAD"), badFlag.tagged)
        XCTAssertTrue(try client.command("NOOP").ok)
        let m = server.maildir
        XCTAssertEqual(m.files("alice", "cur") + m.files("alice", "new") + m.files("alice", "tmp"), [])
    }

    /// A missing folder (TRYCREATE) and APPEND before login are refused before the
    /// continuation; a non-synchronizing literal's bytes are skipped.
    func testRefusedBeforeTheContinuation() async throws {
        let server = try await startServer()
        let client = try server.connect()
        client.sendRaw("A0 APPEND INBOX {10}\r\n")
        XCTAssertTrue(try client.readLine().hasPrefix("A0 BAD"))
        try client.login()
        client.sendRaw("A1 APPEND Nope {10}\r\n")
        let line = try client.readLine()
        XCTAssertTrue(line.hasPrefix("A1 NO [TRYCREATE]"), line)
        client.sendRaw("A2 APPEND Nope {10+}\r\n0123456789 {3+}\r\nabc\r\n")
        let skipped = try client.collect(tag: "A2")
        XCTAssertTrue(skipped.tagged.hasPrefix("A2 NO [TRYCREATE]"), skipped.tagged)
        XCTAssertTrue(try client.command("NOOP").ok)
        XCTAssertFalse(FileManager.default.fileExists(atPath: server.maildir.root + "/alice/.Nope"))
        let m = server.maildir
        XCTAssertEqual(m.files("alice", "cur") + m.files("alice", "new") + m.files("alice", "tmp"), [])
    }

    /// RFC 6855 §4: with UTF8=ACCEPT advertised, `UTF8 (~{n})` carries a message with
    /// raw UTF-8 headers; it is stored as sent.
    func testUTF8DataItem() async throws {
        let server = try await startServer()
        let client = try server.connect()
        try client.login()
        XCTAssertTrue(try client.command("ENABLE UTF8=ACCEPT").ok)
        let message = Array("Subject: Grüße\r\n\r\nbody\r\n".utf8)
        client.sendRaw("A1 APPEND INBOX UTF8 (~{\(message.count)}\r\n")
        XCTAssertTrue(try client.readLine().hasPrefix("+"))
        client.sendRaw(message + Array(")\r\n".utf8))
        let reply = try client.collect(tag: "A1")
        XCTAssertTrue(reply.tagged.contains("OK [APPENDUID "), reply.tagged)
        let cur = server.maildir.files("alice", "cur")
        XCTAssertEqual(cur.count, 1)
        let path = server.maildir.root + "/alice/cur/" + (cur.first ?? "")
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: path)), Data(message))
    }

    /// Like any command, a streamed APPEND is followed by BYE when the selected folder
    /// was deleted meanwhile; the message is stored.
    func testByeAfterAppendWhenTheSelectedFolderWasDeleted() async throws {
        let server = try await startServer()
        try server.maildir.makeUser("alice", folders: ["Shared"])
        let client = try server.connect()
        try client.login()
        XCTAssertTrue(try client.command("SELECT Shared").ok)
        let other = try server.connect()
        try other.login()
        XCTAssertTrue(try other.command("DELETE Shared").ok)
        client.sendRaw("A1 APPEND INBOX {4+}\r\nbody\r\n")
        let reply = try client.collect(tag: "A1")
        XCTAssertTrue(reply.ok, reply.tagged)
        XCTAssertTrue(client.readUntilClosed().hasPrefix("* BYE "))
        XCTAssertEqual(server.maildir.files("alice", "cur").count, 1)
    }

    /// The mailbox name itself may be a literal; the message literal still streams.
    func testMailboxNameAsLiteral() async throws {
        let server = try await startServer()
        let client = try server.connect()
        try client.login()
        client.sendRaw("A1 APPEND {5}\r\n")
        XCTAssertTrue(try client.readLine().hasPrefix("+"))
        client.sendRaw("INBOX {4}\r\n")
        XCTAssertTrue(try client.readLine().hasPrefix("+"))
        client.sendRaw("body\r\n")
        let reply = try client.collect(tag: "A1")
        XCTAssertTrue(reply.ok, reply.tagged)
        XCTAssertEqual(server.maildir.files("alice", "cur").count, 1)
    }
}
