import Foundation
import XCTest

@testable import IMAPServer

/// End to end over a socket: RFC 5267 CONTEXT=SEARCH. A `SEARCH RETURN (UPDATE)` is
/// kept live: a delivery dropped into new/, a flag change by another session or this
/// one, and an expunge reach it as ADDTO / REMOVEFROM; CANCELUPDATE ends it, and so
/// does leaving the folder; a session holds a bounded number.
final class ContextSearchTests: XCTestCase {
    static func message(_ subject: String) -> String {
        "From: a@example.org\r\nSubject: \(subject)\r\n\r\nbody \(subject)\r\n"
    }

    /// Four messages (UIDs 1…4): subjects s1…s4, message 1 \Seen.
    func start(_ configure: (inout ServerConfiguration) -> Void = { _ in }) async throws -> (RunningServer, TestClient)
    {
        let server = try await startServer(configure: configure)
        for i in 1...4 {
            let flags = i == 1 ? "S" : ""
            try server.maildir.deliver(
                "alice", name: "17000000\(10 + i).M\(i)P1.host:2,\(flags)", into: "cur", body: Self.message("s\(i)"))
        }
        let client = try server.connect()
        try client.login()
        XCTAssertTrue(try client.command("SELECT INBOX").ok)
        return (server, client)
    }

    /// The untagged lines of `command`, which must succeed.
    private func answer(_ client: TestClient, _ command: String, file: StaticString = #filePath, line: UInt = #line)
        throws -> [String]
    {
        let reply = try client.command(command)
        XCTAssertTrue(reply.ok, "\(command): \(reply.tagged)", file: file, line: line)
        return reply.untagged
    }

    /// `* ESEARCH (TAG "<tag>") …` lines only.
    private func esearch(_ lines: [String], _ tag: String) -> [String] {
        lines.filter { $0.hasPrefix("* ESEARCH (TAG \"\(tag)\")") }
    }

    func testCapability() async throws {
        let (_, client) = try await start()
        let caps = try answer(client, "CAPABILITY").first ?? ""
        XCTAssertTrue(caps.contains(" CONTEXT=SEARCH"), caps)
    }

    func testFlagChangesDeliveryAndExpunge() async throws {
        let (server, client) = try await start()
        client.sendRaw("L1 SEARCH RETURN (UPDATE) SEEN\r\n")
        XCTAssertEqual(try client.collect(tag: "L1").untagged, ["* ESEARCH (TAG \"L1\") ALL 1"])
        // This session's own STORE: message 3 starts matching, message 1 stops.
        XCTAssertEqual(
            esearch(try answer(client, "STORE 3 +FLAGS (\\Seen)"), "L1"), ["* ESEARCH (TAG \"L1\") ADDTO (0 3)"])
        XCTAssertEqual(
            esearch(try answer(client, "STORE 1 -FLAGS (\\Seen)"), "L1"), ["* ESEARCH (TAG \"L1\") REMOVEFROM (0 1)"])
        // A flag change made by another session that makes nothing match or stop
        // matching is no news.
        let other = try server.connect()
        try other.login()
        XCTAssertTrue(try other.command("SELECT INBOX").ok)
        XCTAssertTrue(try other.command("STORE 2 +FLAGS (\\Seen \\Flagged)").ok)
        XCTAssertTrue(try other.command("STORE 4 +FLAGS (\\Flagged)").ok)
        let noop = try answer(client, "NOOP")
        XCTAssertEqual(esearch(noop, "L1"), ["* ESEARCH (TAG \"L1\") ADDTO (0 2)"], "\(noop)")
        // A delivery dropped into new/ by another program: EXISTS, then ADDTO.
        try server.maildir.deliver(
            "alice", name: "1700000020.M9P1.host:2,S", into: "cur", body: Self.message("s5"))
        try server.maildir.deliver("alice", name: "1700000021.M10P1.host", into: "new", body: Self.message("s6"))
        let delivered = try answer(client, "NOOP")
        XCTAssertTrue(delivered.contains("* 6 EXISTS"), "\(delivered)")
        XCTAssertEqual(esearch(delivered, "L1"), ["* ESEARCH (TAG \"L1\") ADDTO (0 5)"], "\(delivered)")
        // Expunging matches: REMOVEFROM names them by the numbers they had, before the
        // EXPUNGEs renumber.
        XCTAssertTrue(try other.command("STORE 2:3 +FLAGS (\\Deleted)").ok)
        XCTAssertTrue(try other.command("EXPUNGE").ok)
        let expunged = try answer(client, "NOOP")
        let removeAt = expunged.firstIndex(of: "* ESEARCH (TAG \"L1\") REMOVEFROM (0 2:3)")
        let expungeAt = expunged.firstIndex(of: "* 2 EXPUNGE")
        XCTAssertNotNil(removeAt, "\(expunged)")
        XCTAssertNotNil(expungeAt, "\(expunged)")
        if let removeAt, let expungeAt { XCTAssertLessThan(removeAt, expungeAt) }
        // The result is now message 3 (was 5); a UID search sees the same.
        XCTAssertEqual(try answer(client, "SEARCH SEEN"), ["* SEARCH 3"])
    }

    func testUIDSearchAndContentKeys() async throws {
        let (server, client) = try await start()
        client.sendRaw("U1 UID SEARCH RETURN (UPDATE COUNT) OR SEEN SUBJECT s4\r\n")
        XCTAssertEqual(try client.collect(tag: "U1").untagged, ["* ESEARCH (TAG \"U1\") UID COUNT 2"])
        let other = try server.connect()
        try other.login()
        XCTAssertTrue(try other.command("SELECT INBOX").ok)
        XCTAssertTrue(try other.command("STORE 1 -FLAGS (\\Seen)").ok)
        XCTAssertTrue(try other.command("STORE 2 +FLAGS (\\Seen)").ok)
        // Message 4 matches by its subject whatever its flags: no news.
        XCTAssertTrue(try other.command("STORE 4 +FLAGS (\\Seen)").ok)
        let noop = try answer(client, "NOOP")
        XCTAssertEqual(
            esearch(noop, "U1").sorted(),
            ["* ESEARCH (TAG \"U1\") UID ADDTO (0 2)", "* ESEARCH (TAG \"U1\") UID REMOVEFROM (0 1)"], "\(noop)")
        // APPEND from the other session of a message matching by its body-less subject.
        XCTAssertTrue(try other.command("APPEND INBOX {\(Self.message("s4").utf8.count)+}\r\n\(Self.message("s4"))").ok)
        XCTAssertEqual(esearch(try answer(client, "NOOP"), "U1"), ["* ESEARCH (TAG \"U1\") UID ADDTO (0 5)"])
    }

    func testCancelUpdateAndUnselectEndUpdates() async throws {
        let (_, client) = try await start()
        client.sendRaw("A SEARCH RETURN (UPDATE) SEEN\r\n")
        _ = try client.collect(tag: "A")
        client.sendRaw("B SEARCH RETURN (UPDATE) FLAGGED\r\n")
        _ = try client.collect(tag: "B")
        // An unknown tag: NO (as Dovecot), and nothing is cancelled.
        let unknown = try client.command("CANCELUPDATE \"A\" \"nope\"")
        XCTAssertTrue(unknown.tagged.contains(" NO "), unknown.tagged)
        XCTAssertTrue(try client.command("CANCELUPDATE \"A\"").ok)
        let stored = try answer(client, "STORE 2 +FLAGS (\\Seen \\Flagged)")
        XCTAssertEqual(esearch(stored, "A"), [])
        XCTAssertEqual(esearch(stored, "B"), ["* ESEARCH (TAG \"B\") ADDTO (0 2)"])
        // Cancelled: a second CANCELUPDATE of it is NO.
        XCTAssertTrue(try client.command("CANCELUPDATE \"A\"").tagged.contains(" NO "))
        XCTAssertTrue(try client.command("UNSELECT").ok)
        XCTAssertTrue(try client.command("SELECT INBOX").ok)
        let after = try answer(client, "STORE 3 +FLAGS (\\Flagged)")
        XCTAssertEqual(esearch(after, "B"), [])
        XCTAssertTrue(try client.command("CANCELUPDATE \"B\"").tagged.contains(" NO "))
    }

    func testLimitAndPartialAreNoUpdate() async throws {
        let (_, client) = try await start()
        for i in 0..<IMAPSession.maxLiveSearches {
            let reply = try client.command("SEARCH RETURN (UPDATE) SEEN")
            XCTAssertTrue(reply.ok, reply.tagged)
            XCTAssertFalse(reply.untagged.contains { $0.contains("NOUPDATE") }, "search \(i): \(reply.untagged)")
        }
        client.sendRaw("X SEARCH RETURN (UPDATE) SEEN\r\n")
        let over = try client.collect(tag: "X")
        XCTAssertTrue(over.ok, over.tagged)
        XCTAssertTrue(over.untagged.contains("* ESEARCH (TAG \"X\") ALL 1"), "\(over.untagged)")
        XCTAssertTrue(over.untagged.contains { $0.hasPrefix("* NO [NOUPDATE \"X\"]") }, "\(over.untagged)")
        // The refused one is not live; the others still are.
        let stored = try answer(client, "STORE 2 +FLAGS (\\Seen)")
        XCTAssertEqual(esearch(stored, "X"), [])
        XCTAssertEqual(stored.filter { $0.contains(" ADDTO (0 2)") }.count, IMAPSession.maxLiveSearches)
        // UPDATE with SAVE: an ESEARCH naming the tag, no data (as Dovecot), and `$`.
        client.sendRaw("V SEARCH RETURN (UPDATE SAVE) SEEN\r\n")
        let saved = try client.collect(tag: "V")
        XCTAssertTrue(saved.untagged.contains("* ESEARCH (TAG \"V\")"), "\(saved.untagged)")
        XCTAssertEqual(try answer(client, "SEARCH $"), ["* SEARCH 1 2"])
        // UPDATE with PARTIAL is answered once, with NOUPDATE.
        client.sendRaw("P SEARCH RETURN (UPDATE PARTIAL 1:1) SEEN\r\n")
        let partial = try client.collect(tag: "P")
        XCTAssertTrue(partial.untagged.contains("* ESEARCH (TAG \"P\") PARTIAL (1:1 1)"), "\(partial.untagged)")
        XCTAssertTrue(partial.untagged.contains { $0.hasPrefix("* NO [NOUPDATE \"P\"]") }, "\(partial.untagged)")
    }

    /// During IDLE the updates are pushed as the folder reports changes.
    func testUpdatesDuringIdle() async throws {
        let (server, client) = try await start()
        client.sendRaw("U UID SEARCH RETURN (UPDATE) UNSEEN\r\n")
        XCTAssertEqual(try client.collect(tag: "U").untagged, ["* ESEARCH (TAG \"U\") UID ALL 2:4"])
        let other = try server.connect()
        try other.login()
        XCTAssertTrue(try other.command("SELECT INBOX").ok)
        client.sendRaw("I IDLE\r\n")
        XCTAssertTrue(try client.readLine().hasPrefix("+ "))
        XCTAssertTrue(try other.command("STORE 3 +FLAGS.SILENT (\\Seen)").ok)
        XCTAssertTrue(try client.readLine().hasPrefix("* 3 FETCH ("))
        XCTAssertEqual(try client.readLine(), "* ESEARCH (TAG \"U\") UID REMOVEFROM (0 3)")
        // A new message is \Recent in the first session told of it (RFC 3501 §2.3.2); with
        // INBOX still selected the appending session could be that one, so it unselects
        // first and the idling session is the only one to tell.
        XCTAssertTrue(try other.command("UNSELECT").ok)
        XCTAssertTrue(try other.command("APPEND INBOX {\(Self.message("n").utf8.count)+}\r\n\(Self.message("n"))").ok)
        XCTAssertEqual(try client.readLine(), "* 5 EXISTS")
        XCTAssertEqual(try client.readLine(), "* 5 RECENT")  // an IMAP4rev1 session
        XCTAssertEqual(try client.readLine(), "* ESEARCH (TAG \"U\") UID ADDTO (0 5)")
        client.sendRaw("DONE\r\n")
        XCTAssertTrue(try client.collect(tag: "I").ok)
    }

    /// A change touching more messages than one report may re-evaluate ends the live
    /// search with NOUPDATE instead of re-reading them on the session's turn.
    func testReevaluationBound() async throws {
        let limit = 4
        let (server, client) = try await start { $0.maxLiveSearchReevaluation = limit }
        client.sendRaw("L SEARCH RETURN (UPDATE) SUBJECT s\r\n")
        _ = try client.collect(tag: "L")
        // As many as the bound allows are still re-evaluated (not off by one)…
        let stored = try answer(client, "STORE 1:\(limit) +FLAGS (\\Flagged)")
        XCTAssertFalse(stored.contains { $0.contains("NOUPDATE") }, "\(stored)")
        // …one more is not.
        for i in 0...limit {
            try server.maildir.deliver(
                "alice", name: "17100\(10_000 + i).M\(i)P2.host:2,", into: "cur", body: Self.message("n\(i)"))
        }
        let noop = try answer(client, "NOOP")
        XCTAssertTrue(noop.contains("* \(5 + limit) EXISTS"), "\(noop)")
        XCTAssertTrue(noop.contains { $0.hasPrefix("* NO [NOUPDATE \"L\"]") }, "\(noop)")
        XCTAssertEqual(esearch(noop, "L"), [])
        // No longer live.
        XCTAssertTrue(try client.command("CANCELUPDATE \"L\"").tagged.contains(" NO "))
    }
}
