import Foundation
import XCTest

/// RFC 7162 QRESYNC end to end over real sockets (issue 14): SELECT (QRESYNC …) with
/// VANISHED (EARLIER) after expunges by another session and by `rm`, known-uids and
/// seq-match-data, UID FETCH (CHANGEDSINCE n VANISHED), VANISHED instead of EXPUNGE,
/// and [CLOSED].
final class QResyncTests: XCTestCase {
    func start(messages count: Int) async throws -> RunningServer {
        let server = try await startServer()
        try Condstore.deliver(server.maildir, count: count)
        return server
    }

    /// A logged-in client with QRESYNC enabled.
    func qresyncClient(_ server: RunningServer) throws -> TestClient {
        let client = try server.connect()
        try client.login()
        let enable = try client.command("ENABLE QRESYNC")
        XCTAssertTrue(enable.untagged.contains("* ENABLED QRESYNC"), "\(enable.untagged)")
        return client
    }

    /// SELECT INBOX; returns its UIDVALIDITY and HIGHESTMODSEQ.
    func select(_ client: TestClient) throws -> (validity: UInt64, highest: UInt64) {
        let select = try client.command("SELECT INBOX")
        XCTAssertTrue(select.ok, select.tagged)
        return (
            try XCTUnwrap(Condstore.uidValidity(select.untagged)),
            try XCTUnwrap(Condstore.highestModSeq(select.untagged), "\(select.untagged)")
        )
    }

    func testSelectQResyncWithoutEnableIsBad() async throws {
        let server = try await start(messages: 1)
        let client = try server.connect()
        try client.login()
        XCTAssertEqual(try client.command("SELECT INBOX (QRESYNC (1 1))").status, "BAD")
        // ENABLE CONDSTORE is not enough (RFC 7162 §3.2.5).
        XCTAssertTrue(try client.command("ENABLE CONDSTORE").ok)
        XCTAssertEqual(try client.command("SELECT INBOX (QRESYNC (1 1))").status, "BAD")
        XCTAssertEqual(try client.command("FETCH 1 (FLAGS)").status, "BAD", "not selected")
    }

    /// The client caches, goes away; another session changes a flag and expunges one
    /// message, and a program removes another file: the reopen answers only that.
    func testQResyncSelectAfterExpungeByAnotherSessionAndByRm() async throws {
        let server = try await start(messages: 5)
        let client = try qresyncClient(server)
        let (validity, highest) = try select(client)
        XCTAssertTrue(try client.command("UNSELECT").ok)

        let other = try server.connect()
        try other.login()
        XCTAssertTrue(try other.command("SELECT INBOX").ok)
        XCTAssertTrue(try other.command("STORE 2 +FLAGS.SILENT (\\Deleted)").ok)
        XCTAssertTrue(try other.command("EXPUNGE").ok)
        XCTAssertTrue(try other.command("STORE 3 +FLAGS.SILENT (\\Flagged)").ok)  // UID 4
        XCTAssertEqual(unlink(try XCTUnwrap(Condstore.path(server.maildir, "1700000013."))), 0)

        let reopen = try client.command("SELECT INBOX (QRESYNC (\(validity) \(highest)))")
        XCTAssertTrue(reopen.ok, reopen.tagged)
        XCTAssertTrue(reopen.untagged.contains("* VANISHED (EARLIER) 2:3"), "\(reopen.untagged)")
        let fetches = Condstore.fetches(reopen.untagged)
        XCTAssertEqual(fetches.count, 1, "\(reopen.untagged)")
        XCTAssertTrue(fetches[0].hasPrefix("* 2 FETCH (UID 4 FLAGS (\\Flagged) MODSEQ ("), fetches[0])
        XCTAssertTrue(reopen.untagged.contains("* 3 EXISTS"), "\(reopen.untagged)")
        // VANISHED and FETCH come last, after the ordinary SELECT responses.
        XCTAssertTrue(reopen.untagged.last?.contains(" FETCH (") == true, "\(reopen.untagged)")

        // A wrong UIDVALIDITY: an ordinary SELECT, no VANISHED, no FETCH.
        let mismatch = try client.command("SELECT INBOX (QRESYNC (\(validity + 1) \(highest)))")
        XCTAssertTrue(mismatch.untagged.contains("* OK [CLOSED] Previous mailbox closed."), "\(mismatch.untagged)")
        XCTAssertFalse(mismatch.untagged.contains { $0.contains("VANISHED") || $0.contains("FETCH") })
    }

    /// Below the expunges the folder remembers (here: a mod-sequence older than the
    /// folder's start), VANISHED (EARLIER) comes from the client's known UIDs minus the
    /// messages present, cut by seq-match-data (RFC 7162 §3.2.5.2), as ranges even for
    /// known-uids 1:4294967295.
    func testKnownUIDsAndSeqMatchDataWhenHistoryIsUnknown() async throws {
        let server = try await start(messages: 6)
        let other = try server.connect()
        try other.login()
        XCTAssertTrue(try other.command("SELECT INBOX").ok)
        XCTAssertTrue(try other.command("STORE 2,4 +FLAGS.SILENT (\\Deleted)").ok)
        XCTAssertTrue(try other.command("EXPUNGE").ok)
        // UIDs now 1 3 5 6 at sequence numbers 1 2 3 4.
        let client = try qresyncClient(server)
        let (validity, _) = try select(client)
        /// The VANISHED responses; every known message changed after mod-sequence 1,
        /// so each is in a FETCH (`fetched` of them).
        func vanished(_ parameters: String, fetched: Int = 4) throws -> [String] {
            let reply = try client.command("EXAMINE INBOX (QRESYNC (\(validity) 1 \(parameters)))")
            XCTAssertTrue(reply.ok, reply.tagged)
            XCTAssertEqual(Condstore.fetches(reply.untagged).count, fetched, "\(reply.untagged)")
            return reply.untagged.filter { $0.hasPrefix("* VANISHED") }
        }
        XCTAssertEqual(try vanished("1:6"), ["* VANISHED (EARLIER) 2,4"])
        XCTAssertEqual(try vanished("1:4294967295"), ["* VANISHED (EARLIER) 2,4"])
        XCTAssertEqual(try vanished("3:5", fetched: 2), ["* VANISHED (EARLIER) 4"])
        // The client's view before the expunge: seq 1 = UID 1 still matches, seq 3 =
        // UID 3 does not (it is at 2 now), so everything above UID 1 is reported.
        XCTAssertEqual(try vanished("1:6 (1,3 1,3)"), ["* VANISHED (EARLIER) 2,4"])
        // A client that already knew of UID 2's expunge: (1,2) = (1,3) matches, so
        // only UIDs above 3 are in doubt.
        XCTAssertEqual(try vanished("1:6 (1,2 1,3)"), ["* VANISHED (EARLIER) 4"])
        XCTAssertEqual(try client.command("EXAMINE INBOX (QRESYNC (\(validity) 1 1:6 (1,2 1)))").status, "BAD")
        // No known-uids: 1:UIDNEXT-1.
        let plain = try client.command("EXAMINE INBOX (QRESYNC (\(validity) 1))")
        XCTAssertTrue(plain.untagged.contains("* VANISHED (EARLIER) 2,4"), "\(plain.untagged)")
    }

    func testUIDFetchChangedSinceVanished() async throws {
        let server = try await start(messages: 4)
        let client = try qresyncClient(server)
        let (_, highest) = try select(client)
        let other = try server.connect()
        try other.login()
        XCTAssertTrue(try other.command("SELECT INBOX").ok)
        XCTAssertTrue(try other.command("STORE 2 +FLAGS.SILENT (\\Deleted)").ok)
        XCTAssertTrue(try other.command("EXPUNGE").ok)
        XCTAssertTrue(try other.command("STORE 3 +FLAGS.SILENT (\\Seen)").ok)  // UID 4
        XCTAssertEqual(unlink(try XCTUnwrap(Condstore.path(server.maildir, "1700000011."))), 0)

        let noop = try client.command("NOOP")
        XCTAssertEqual(noop.untagged.filter { $0.hasPrefix("* VANISHED") }, ["* VANISHED 1:2"])
        XCTAssertFalse(noop.untagged.contains { $0.contains("EXPUNGE") }, "\(noop.untagged)")
        let fetch = try client.command("UID FETCH 1:* (FLAGS) (CHANGEDSINCE \(highest) VANISHED)")
        XCTAssertTrue(fetch.ok, fetch.tagged)
        XCTAssertEqual(fetch.untagged.first, "* VANISHED (EARLIER) 1:2")
        let fetches = Condstore.fetches(fetch.untagged)
        XCTAssertEqual(fetches.count, 1, "\(fetch.untagged)")
        XCTAssertTrue(fetches[0].hasPrefix("* 2 FETCH (UID 4 FLAGS (\\Seen) MODSEQ ("), fetches[0])
        // Only UID FETCH, only with CHANGEDSINCE.
        XCTAssertEqual(try client.command("FETCH 1:* (FLAGS) (CHANGEDSINCE 1 VANISHED)").status, "BAD")
        XCTAssertEqual(try client.command("UID FETCH 1:* (FLAGS) (VANISHED)").status, "BAD")
    }

    /// RFC 7162 §3.2.10: once QRESYNC is enabled no EXPUNGE is sent, from EXPUNGE, UID
    /// EXPUNGE, MOVE or another session; CLOSE is silent; a re-SELECT says [CLOSED].
    func testVanishedReplacesExpunge() async throws {
        let server = try await startServer()
        try server.maildir.makeUser("alice", folders: ["Archive"])
        try Condstore.deliver(server.maildir, count: 6)
        let client = try qresyncClient(server)
        _ = try select(client)
        XCTAssertTrue(try client.command("STORE 1,2 +FLAGS.SILENT (\\Deleted)").ok)
        XCTAssertEqual(try client.command("EXPUNGE").untagged, ["* VANISHED 1:2"])
        XCTAssertTrue(try client.command("UID STORE 3 +FLAGS.SILENT (\\Deleted)").ok)
        XCTAssertEqual(try client.command("UID EXPUNGE 3").untagged, ["* VANISHED 3"])
        let move = try client.command("UID MOVE 4 Archive")
        XCTAssertTrue(move.untagged.contains("* VANISHED 4"), "\(move.untagged)")
        XCTAssertFalse(move.untagged.contains { $0.hasSuffix("EXPUNGE") }, "\(move.untagged)")

        let other = try server.connect()
        try other.login()
        XCTAssertTrue(try other.command("SELECT INBOX").ok)
        XCTAssertTrue(try other.command("UID STORE 5 +FLAGS.SILENT (\\Deleted)").ok)
        XCTAssertTrue(try other.command("EXPUNGE").ok)
        let noop = try client.command("NOOP")
        XCTAssertTrue(noop.untagged.contains("* VANISHED 5"), "\(noop.untagged)")
        XCTAssertFalse(noop.untagged.contains { $0.hasSuffix("EXPUNGE") }, "\(noop.untagged)")
        XCTAssertTrue(try server.maildir.deliver("alice", name: "1700000099.M9P9.host", body: "x").count > 0)
        let delivered = try client.command("NOOP")
        XCTAssertTrue(delivered.untagged.contains("* 2 EXISTS"), "\(delivered.untagged)")

        // IDLE pushes VANISHED too, with the flag change's MODSEQ.
        client.sendRaw("I1 IDLE\r\n")
        XCTAssertTrue(try client.readLine().hasPrefix("+ "))
        XCTAssertTrue(try other.command("UID STORE 6 +FLAGS.SILENT (\\Flagged)").ok)
        XCTAssertTrue(
            Condstore.withoutRecent(try client.readLine()).hasPrefix("* 1 FETCH (UID 6 FLAGS (\\Flagged) MODSEQ ("))
        XCTAssertTrue(try other.command("UID STORE 5,6 +FLAGS.SILENT (\\Deleted)").ok)
        XCTAssertTrue(
            Condstore.withoutRecent(try client.readLine()).hasPrefix(
                "* 1 FETCH (UID 6 FLAGS (\\Flagged \\Deleted) MODSEQ ("))
        XCTAssertTrue(try other.command("UID EXPUNGE 6").ok)
        XCTAssertEqual(try client.readLine(), "* VANISHED 6")
        client.sendRaw("DONE\r\n")
        XCTAssertEqual(try client.collect(tag: "I1").status, "OK")
        XCTAssertTrue(try client.command("UID STORE 7 +FLAGS.SILENT (\\Deleted)").ok)
        XCTAssertEqual(try client.command("CLOSE").untagged, [])
        XCTAssertEqual(server.maildir.files("alice", "cur") + server.maildir.files("alice", "new"), [])
        XCTAssertTrue(try client.command("SELECT INBOX").ok)
        let reselect = try client.command("EXAMINE INBOX")
        XCTAssertEqual(reselect.untagged.first, "* OK [CLOSED] Previous mailbox closed.")
    }
}
