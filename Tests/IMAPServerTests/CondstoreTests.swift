import Foundation
import XCTest

/// RFC 7162 CONDSTORE end to end over real sockets (issue 14): HIGHESTMODSEQ, the
/// MODSEQ item, CHANGEDSINCE after changes by another session, another program and a
/// delivery, UNCHANGEDSINCE conflicts, SEARCH MODSEQ, and nothing of it for a client
/// that enables nothing.
final class CondstoreTests: XCTestCase {
    /// A server with alice's INBOX holding `count` messages (UIDs 1…count).
    func start(messages count: Int = 3) async throws -> RunningServer {
        let server = try await startServer()
        try Condstore.deliver(server.maildir, count: count)
        return server
    }

    func testHighestModSeqInSelectAndStatusAndItRisesWithAStore() async throws {
        let server = try await start()
        let plain = try server.connect()
        try plain.login()
        let select = try plain.command("SELECT INBOX")
        XCTAssertTrue(select.ok, select.tagged)
        // On every SELECT, as Dovecot does (Select.swift).
        let first = try XCTUnwrap(Condstore.highestModSeq(select.untagged), "\(select.untagged)")

        let client = try server.connect()
        try client.login()
        let condstore = try client.command("SELECT INBOX (CONDSTORE)")
        XCTAssertTrue(condstore.ok, condstore.tagged)
        let highest = try XCTUnwrap(Condstore.highestModSeq(condstore.untagged), "\(condstore.untagged)")
        XCTAssertEqual(highest, first)

        let status = try plain.command("STATUS INBOX (HIGHESTMODSEQ MESSAGES)")
        XCTAssertTrue(status.untagged.contains("* STATUS INBOX (HIGHESTMODSEQ \(highest) MESSAGES 3)"), "\(status)")

        XCTAssertTrue(try plain.command("STORE 2 +FLAGS (\\Flagged)").ok)
        let after = try client.command("STATUS INBOX (HIGHESTMODSEQ)")
        let raised = try XCTUnwrap(after.untagged.first.flatMap { Condstore.number(after: "HIGHESTMODSEQ ", in: $0) })
        XCTAssertGreaterThan(raised, highest)
        // The CONDSTORE client heard of the change with its MODSEQ, which is the new highest.
        XCTAssertEqual(Condstore.modSeqs(after.untagged)[2], raised, "\(after.untagged)")
    }

    func testEnableCondstoreAndFetchModSeq() async throws {
        let server = try await start()
        let client = try server.connect()
        try client.login()
        let enable = try client.command("ENABLE CONDSTORE")
        XCTAssertTrue(enable.untagged.contains("* ENABLED CONDSTORE"), "\(enable.untagged)")
        XCTAssertTrue(try client.command("CAPABILITY").untagged[0].contains(" CONDSTORE QRESYNC"))
        let select = try client.command("SELECT INBOX")
        let highest = try XCTUnwrap(Condstore.highestModSeq(select.untagged), "\(select.untagged)")
        let fetch = try client.command("FETCH 1:* (MODSEQ)")
        XCTAssertEqual(Condstore.fetches(fetch.untagged).count, 3, "\(fetch.untagged)")
        for line in fetch.untagged {
            let modSeq = try XCTUnwrap(Condstore.number(after: "MODSEQ (", in: line), line)
            XCTAssertLessThanOrEqual(modSeq, highest, line)
        }
    }

    /// RFC 7162 §3.1: a FETCH that sets \\Seen reports the new MODSEQ with the new
    /// flags once CONDSTORE is enabled, and CHANGEDSINCE then finds that message.
    func testFetchSettingSeenReportsItsModSeq() async throws {
        let server = try await start()
        let client = try server.connect()
        try client.login()
        let select = try client.command("SELECT INBOX (CONDSTORE)")
        let highest = try XCTUnwrap(Condstore.highestModSeq(select.untagged))
        let fetch = try client.command("FETCH 2 (BODY[])")
        let line = try XCTUnwrap(Condstore.fetches(fetch.untagged).first, "\(fetch.untagged)")
        XCTAssertTrue(line.contains("FLAGS (\\Seen) MODSEQ ("), line)
        let modSeq = try XCTUnwrap(Condstore.number(after: "MODSEQ (", in: line))
        XCTAssertGreaterThan(modSeq, highest)
        let changed = try client.command("FETCH 1:* (UID) (CHANGEDSINCE \(highest))")
        XCTAssertEqual(Condstore.fetches(changed.untagged), ["* 2 FETCH (UID 2 MODSEQ (\(modSeq)))"])
    }

    /// RFC 7162 §3.1: FETCH MODSEQ in the selected state turns CONDSTORE on and is
    /// answered with HIGHESTMODSEQ first; from then on other sessions' flag changes
    /// come with UID and MODSEQ.
    func testFetchModSeqEnablesCondstoreWhileSelected() async throws {
        let server = try await start()
        let client = try server.connect()
        let other = try server.connect()
        try client.login()
        try other.login()
        XCTAssertTrue(try client.command("SELECT INBOX").ok)
        XCTAssertTrue(try other.command("SELECT INBOX").ok)
        let fetch = try client.command("FETCH 1 (MODSEQ)")
        XCTAssertTrue(fetch.untagged[0].hasPrefix("* OK [HIGHESTMODSEQ "), "\(fetch.untagged)")
        let highest = try XCTUnwrap(Condstore.highestModSeq(fetch.untagged))
        XCTAssertTrue(fetch.untagged[1].hasPrefix("* 1 FETCH (MODSEQ ("), "\(fetch.untagged)")

        XCTAssertTrue(try other.command("STORE 2 +FLAGS (\\Answered)").ok)
        let noop = try client.command("NOOP")
        let line = try XCTUnwrap(Condstore.fetches(noop.untagged).first, "\(noop.untagged)")
        XCTAssertTrue(line.hasPrefix("* 2 FETCH (UID 2 FLAGS (\\Answered) MODSEQ ("), line)
        XCTAssertGreaterThan(try XCTUnwrap(Condstore.number(after: "MODSEQ (", in: line)), highest)
    }

    /// Selects with CONDSTORE, lets `change` act, and returns what `UID FETCH 1:*
    /// (FLAGS) (CHANGEDSINCE highest)` answers, with the HIGHESTMODSEQ before and a
    /// STATUS HIGHESTMODSEQ after.
    func changedSince(
        _ server: RunningServer, after change: (TestClient) throws -> Void
    ) throws -> (before: UInt64, after: UInt64, fetch: [String]) {
        let client = try server.connect()
        try client.login()
        let select = try client.command("SELECT INBOX (CONDSTORE)")
        let before = try XCTUnwrap(Condstore.highestModSeq(select.untagged), "\(select.untagged)")
        let other = try server.connect()
        try other.login()
        try change(other)
        // The client learns of a new message (EXISTS) before it may fetch it.
        XCTAssertTrue(try client.command("NOOP").ok)
        let fetch = try client.command("UID FETCH 1:* (FLAGS) (CHANGEDSINCE \(before))")
        XCTAssertTrue(fetch.ok, fetch.tagged)
        let status = try other.command("STATUS INBOX (HIGHESTMODSEQ)")
        let after = try XCTUnwrap(status.untagged.first.flatMap { Condstore.number(after: "HIGHESTMODSEQ ", in: $0) })
        return (before, after, Condstore.fetches(fetch.untagged))
    }

    func testChangedSinceReturnsAnotherSessionsFlagChange() async throws {
        let server = try await start()
        let (before, after, fetch) = try changedSince(server) { other in
            XCTAssertTrue(try other.command("SELECT INBOX").ok)
            XCTAssertTrue(try other.command("STORE 2 +FLAGS.SILENT (\\Seen)").ok)
        }
        XCTAssertGreaterThan(after, before)
        XCTAssertEqual(fetch, ["* 2 FETCH (UID 2 FLAGS (\\Seen) MODSEQ (\(after)))"])
    }

    func testChangedSinceReturnsAnotherProgramsRename() async throws {
        let server = try await start()
        let (before, after, fetch) = try changedSince(server) { _ in
            let old = try XCTUnwrap(Condstore.path(server.maildir, "1700000013."))
            XCTAssertEqual(rename(old, old + "F"), 0)
        }
        XCTAssertGreaterThan(after, before)
        XCTAssertEqual(fetch, ["* 3 FETCH (UID 3 FLAGS (\\Flagged) MODSEQ (\(after)))"])
    }

    func testChangedSinceReturnsADelivery() async throws {
        let server = try await start()
        let (before, after, fetch) = try changedSince(server) { _ in
            try server.maildir.deliver("alice", name: "1700000099.M9P9.host", body: Condstore.message("new"))
        }
        XCTAssertGreaterThan(after, before)
        XCTAssertEqual(fetch, ["* 4 FETCH (UID 4 FLAGS () MODSEQ (\(after)))"])
    }

    /// RFC 7162 §3.1.3: two sessions store with UNCHANGEDSINCE; the one that comes
    /// second finds the message changed, leaves it alone and lists it in MODIFIED
    /// (sequence numbers for STORE, UIDs for UID STORE).
    func testUnchangedSinceConflictBetweenTwoSessions() async throws {
        let server = try await start(messages: 4)
        let a = try server.connect()
        let b = try server.connect()
        try a.login()
        try b.login()
        // Expunge UID 1 first so sequence numbers and UIDs differ by one.
        XCTAssertTrue(try a.command("SELECT INBOX").ok)
        XCTAssertTrue(try a.command("STORE 1 +FLAGS.SILENT (\\Deleted)").ok)
        XCTAssertTrue(try a.command("EXPUNGE").ok)
        let selectA = try a.command("SELECT INBOX (CONDSTORE)")
        let selectB = try b.command("SELECT INBOX (CONDSTORE)")
        let highest = try XCTUnwrap(Condstore.highestModSeq(selectA.untagged))
        XCTAssertEqual(Condstore.highestModSeq(selectB.untagged), highest)

        // Both saw `highest`; B changes UID 3 (sequence number 2) first.
        let first = try b.command("STORE 2 (UNCHANGEDSINCE \(highest)) +FLAGS (\\Flagged)")
        XCTAssertEqual(first.tagged.split(separator: " ").prefix(3), ["T3", "OK", "Store"], first.tagged)
        let bModSeq = try XCTUnwrap(Condstore.modSeqs(first.untagged)[3], "\(first.untagged)")
        XCTAssertGreaterThan(bModSeq, highest)

        let second = try a.command("STORE 1:3 (UNCHANGEDSINCE \(highest)) +FLAGS (\\Seen)")
        XCTAssertTrue(second.tagged.hasSuffix("OK [MODIFIED 2] Conditional STORE failed."), second.tagged)
        // A is told of B's change (with MODSEQ) and of its own two changes.
        let modSeqs = Condstore.modSeqs(second.untagged)
        XCTAssertEqual(modSeqs[3], bModSeq, "\(second.untagged)")
        XCTAssertGreaterThan(try XCTUnwrap(modSeqs[2]), bModSeq)
        XCTAssertEqual(modSeqs[2], modSeqs[4])
        XCTAssertTrue(second.untagged.contains { $0.hasPrefix("* 2 FETCH (UID 3 FLAGS (\\Flagged) MODSEQ") })
        XCTAssertFalse(second.untagged.contains { $0.contains("UID 3 FLAGS (\\Flagged \\Seen)") })
        let files = server.maildir.files("alice", "cur")
        XCTAssertTrue(files.contains { $0.hasPrefix("1700000013.") && $0.hasSuffix(":2,F") }, "\(files)")
        XCTAssertTrue(files.contains { $0.hasPrefix("1700000012.") && $0.hasSuffix(":2,S") }, "\(files)")

        // UID STORE names UIDs; .SILENT still reports the MODSEQ of what it changed.
        let uid = try b.command("UID STORE 2:4 (UNCHANGEDSINCE \(bModSeq)) +FLAGS.SILENT (\\Answered)")
        XCTAssertTrue(uid.tagged.hasSuffix("OK [MODIFIED 2,4] Conditional STORE failed."), uid.tagged)
        let silent = uid.untagged.filter { $0.hasPrefix("* 2 FETCH (UID 3 MODSEQ (") }
        XCTAssertEqual(silent.count, 1, "\(uid.untagged)")
        // UNCHANGEDSINCE 0 always fails (RFC 7162 §3.1.3).
        let zero = try b.command("STORE 1 (UNCHANGEDSINCE 0) +FLAGS (\\Draft)")
        XCTAssertTrue(zero.tagged.hasSuffix("OK [MODIFIED 1] Conditional STORE failed."), zero.tagged)
    }

    func testSearchModSeqAndItsResults() async throws {
        let server = try await start(messages: 4)
        let client = try server.connect()
        try client.login()
        XCTAssertTrue(try client.command("SELECT INBOX").ok)
        // SEARCH MODSEQ turns CONDSTORE on (RFC 7162 §3.1).
        let first = try client.command("STORE 3 +FLAGS (\\Seen)")
        XCTAssertFalse(first.untagged.joined().contains("MODSEQ"), "\(first.untagged)")
        let all = try client.command("SEARCH MODSEQ 1")
        XCTAssertTrue(all.untagged.contains { $0.hasPrefix("* OK [HIGHESTMODSEQ ") }, "\(all.untagged)")
        let highest = try XCTUnwrap(Condstore.highestModSeq(all.untagged))
        XCTAssertTrue(all.untagged.contains("* SEARCH 1 2 3 4 (MODSEQ \(highest))"), "\(all.untagged)")

        let stored = try client.command("STORE 1 +FLAGS (\\Seen)")
        let m1 = try XCTUnwrap(Condstore.modSeqs(stored.untagged)[1], "\(stored.untagged)")
        let since = try client.command("SEARCH MODSEQ \"/flags/\\\\seen\" all \(highest + 1)")
        XCTAssertTrue(since.untagged.contains("* SEARCH 1 (MODSEQ \(m1))"), "\(since.untagged)")
        let none = try client.command("UID SEARCH MODSEQ \(m1 + 1)")
        XCTAssertTrue(none.untagged.contains("* SEARCH"), "\(none.untagged)")
        // ESEARCH: MIN alone gives the MIN message's mod-sequence.
        let min = try client.command("SEARCH RETURN (MIN) MODSEQ 1")
        let m = try XCTUnwrap(Condstore.modSeqs(try client.command("FETCH 1 (UID MODSEQ)").untagged)[1])
        XCTAssertTrue(min.untagged.contains { $0.hasSuffix("MIN 1 MODSEQ \(m)") }, "\(min.untagged)")
        let esearch = try client.command("UID SEARCH RETURN (ALL) MODSEQ 1")
        XCTAssertTrue(esearch.untagged.contains { $0.hasSuffix("UID ALL 1:4 MODSEQ \(m1)") }, "\(esearch.untagged)")
    }

    /// Issue 14 item 4: a client that enables nothing sees RFC 9051 responses only.
    func testClientThatEnablesNothingSeesNoModSeqOrVanished() async throws {
        let server = try await start()
        let plain = try server.connect()
        let other = try server.connect()
        try plain.login()
        try other.login()
        let select = try plain.command("SELECT INBOX")
        XCTAssertEqual(select.untagged.filter { $0.contains("MODSEQ") }.count, 1, "only HIGHESTMODSEQ")
        XCTAssertTrue(try other.command("SELECT INBOX (CONDSTORE)").ok)
        XCTAssertTrue(try other.command("STORE 1 +FLAGS (\\Deleted)").ok)
        XCTAssertTrue(try other.command("STORE 2 +FLAGS (\\Seen)").ok)
        XCTAssertTrue(try other.command("EXPUNGE").ok)
        let noop = try plain.command("NOOP")
        XCTAssertEqual(noop.untagged.map(Condstore.withoutRecent), ["* 1 EXPUNGE", "* 1 FETCH (UID 2 FLAGS (\\Seen))"])
        let store = try plain.command("STORE 1 +FLAGS (\\Flagged)")
        XCTAssertEqual(store.untagged.map(Condstore.withoutRecent), ["* 1 FETCH (FLAGS (\\Flagged \\Seen))"])
        XCTAssertTrue(try plain.command("STORE 1 +FLAGS.SILENT (\\Answered)").untagged.isEmpty)
        XCTAssertEqual(
            try plain.command("FETCH 1 (FLAGS)").untagged.map(Condstore.withoutRecent),
            ["* 1 FETCH (FLAGS (\\Answered \\Flagged \\Seen))"])
    }
}
