import Foundation
import XCTest

/// RFC 5162 errata 1810, carried into RFC 7162 §3.2.10, end to end over real sockets:
/// while an expunge by another session cannot be reported (FETCH, STORE, SEARCH: RFC
/// 9051 §7.5.1), a response carrying a MODSEQ above it must come with a HIGHESTMODSEQ
/// below it, or a client that keeps the highest MODSEQ it saw and disconnects would
/// skip the VANISHED on its next QRESYNC. Once the expunge is reported, HIGHESTMODSEQ
/// is the folder's again (as Dovecot sends it: in the tagged OK).
final class DelayedExpungeModSeqTests: XCTestCase {
    /// The HIGHESTMODSEQ a reply gave: in its tagged OK or an untagged OK before it.
    static func claimed(_ reply: TestClient.Reply) -> UInt64? {
        Condstore.highestModSeq([reply.tagged]) ?? Condstore.highestModSeq(reply.untagged)
    }

    /// Alice's INBOX with `count` messages, client A (ENABLE `extension`, SELECT
    /// INBOX) and client B (SELECT INBOX) logged in.
    func start(count: Int, enable: String) async throws -> (RunningServer, a: TestClient, b: TestClient) {
        let server = try await startServer()
        try Condstore.deliver(server.maildir, count: count)
        let a = try server.connect()
        try a.login()
        XCTAssertTrue(try a.command("ENABLE \(enable)").ok)
        XCTAssertTrue(try a.command("SELECT INBOX").ok)
        let b = try server.connect()
        try b.login()
        XCTAssertTrue(try b.command("SELECT INBOX").ok)
        return (server, a, b)
    }

    /// B expunges `uid`; returns the expunge's mod-sequence (the folder's HIGHESTMODSEQ
    /// right after it, read by STATUS from a third connection).
    func expunge(_ uid: Int, by b: TestClient, server: RunningServer) throws -> UInt64 {
        XCTAssertTrue(try b.command("UID STORE \(uid) +FLAGS.SILENT (\\Deleted)").ok)
        XCTAssertTrue(try b.command("UID EXPUNGE \(uid)").ok)
        return try folderHighestModSeq(server)
    }

    func folderHighestModSeq(_ server: RunningServer) throws -> UInt64 {
        let c = try server.connect()
        try c.login()
        let status = try c.command("STATUS INBOX (HIGHESTMODSEQ)")
        XCTAssertTrue(status.ok, status.tagged)
        return try XCTUnwrap(
            status.untagged.lazy.compactMap { Condstore.number(after: "HIGHESTMODSEQ ", in: $0) }.first,
            "\(status.untagged)")
    }

    func testFetchReportingALaterFlagChangeClaimsBelowTheDelayedExpunge() async throws {
        let (server, a, b) = try await start(count: 3, enable: "QRESYNC")
        let expungedAt = try expunge(2, by: b, server: server)
        XCTAssertTrue(try b.command("UID STORE 1 +FLAGS.SILENT (\\Flagged)").ok)
        let folderHighest = try folderHighestModSeq(server)
        XCTAssertGreaterThan(folderHighest, expungedAt)

        // A FETCH may not report the expunge, but reports UID 1's flag change with a
        // MODSEQ above it.
        let fetch = try a.command("FETCH 3 (FLAGS)")
        XCTAssertTrue(fetch.ok, fetch.tagged)
        XCTAssertFalse(fetch.untagged.contains { $0.contains("VANISHED") }, "\(fetch.untagged)")
        XCTAssertEqual(Condstore.modSeqs(fetch.untagged)[1], folderHighest, "\(fetch.untagged)")
        let claimed = try XCTUnwrap(Self.claimed(fetch), "no HIGHESTMODSEQ: \(fetch.untagged) \(fetch.tagged)")
        XCTAssertLessThan(claimed, expungedAt)
        XCTAssertEqual(
            fetch.tagged, "\(fetch.tagged.prefix { $0 != " " }) OK [HIGHESTMODSEQ \(claimed)] Fetch completed.")

        // Its own STORE's MODSEQ is above the expunge too: the same claim (STORE, not
        // UID STORE, which may report the expunge).
        let store = try a.command("STORE 3 +FLAGS (\\Seen)")
        XCTAssertTrue(store.ok, store.tagged)
        XCTAssertGreaterThan(try XCTUnwrap(Condstore.modSeqs(store.untagged)[3]), expungedAt)
        XCTAssertLessThan(try XCTUnwrap(Self.claimed(store), "\(store.tagged)"), expungedAt)

        // NOOP reports the VANISHED; HIGHESTMODSEQ is the folder's now.
        let noop = try a.command("NOOP")
        XCTAssertEqual(noop.untagged, ["* VANISHED 2"])
        XCTAssertEqual(Self.claimed(noop), try folderHighestModSeq(server))
    }

    func testSearchModSeqAndChangedSinceClaimBelowTheDelayedExpunge() async throws {
        let (server, a, b) = try await start(count: 3, enable: "CONDSTORE")
        let expungedAt = try expunge(2, by: b, server: server)
        XCTAssertTrue(try b.command("UID STORE 3 +FLAGS.SILENT (\\Flagged)").ok)
        // A hears of the flag change (not of the expunge) in a FETCH...
        let heard = try a.command("FETCH 1 (FLAGS)")
        XCTAssertLessThan(try XCTUnwrap(Self.claimed(heard), "\(heard.untagged) \(heard.tagged)"), expungedAt)
        // ...then SEARCH's own (MODSEQ n) is above the expunge.
        let search = try a.command("SEARCH MODSEQ \(expungedAt)")
        XCTAssertTrue(search.ok, search.tagged)
        XCTAssertEqual(search.untagged.count, 1, "\(search.untagged)")
        XCTAssertTrue(search.untagged[0].hasPrefix("* SEARCH 3 (MODSEQ "), "\(search.untagged)")
        XCTAssertLessThan(try XCTUnwrap(Self.claimed(search), "\(search.tagged)"), expungedAt)

        // A FETCH that sends no MODSEQ above the expunge claims nothing.
        let plain = try a.command("FETCH 1 (FLAGS)")
        XCTAssertNil(Self.claimed(plain), "\(plain.tagged)")
        let changed = try a.command("FETCH 1:* (FLAGS) (CHANGEDSINCE 1)")
        XCTAssertLessThan(try XCTUnwrap(Self.claimed(changed), "\(changed.tagged)"), expungedAt)

        // Without QRESYNC the expunge comes as EXPUNGE; then the folder's value.
        let noop = try a.command("NOOP")
        XCTAssertEqual(noop.untagged, ["* 2 EXPUNGE"])
        XCTAssertEqual(Self.claimed(noop), try folderHighestModSeq(server))
    }

    /// A completion that already has a code (NO [EXPUNGEISSUED] for a FETCH of the
    /// expunged message) gets the claim in an untagged OK just before it.
    func testClaimBeforeATaggedReplyWithACode() async throws {
        let (server, a, b) = try await start(count: 3, enable: "CONDSTORE")
        let expungedAt = try expunge(2, by: b, server: server)
        XCTAssertTrue(try b.command("UID STORE 3 +FLAGS.SILENT (\\Flagged)").ok)
        let fetch = try a.command("FETCH 2:3 (FLAGS BODY.PEEK[])")
        XCTAssertTrue(
            fetch.tagged.hasSuffix("NO [EXPUNGEISSUED] Some of the requested messages no longer exist."), fetch.tagged)
        XCTAssertGreaterThan(try XCTUnwrap(Condstore.modSeqs(fetch.untagged)[3], "\(fetch.untagged)"), expungedAt)
        let claim = try XCTUnwrap(fetch.untagged.last, "\(fetch.untagged)")
        XCTAssertTrue(claim.hasPrefix("* OK [HIGHESTMODSEQ ") && claim.hasSuffix("] Highest"), claim)
        XCTAssertLessThan(try XCTUnwrap(Condstore.highestModSeq([claim])), expungedAt)
    }

    /// A's own EXPUNGE: the tagged OK carries the new HIGHESTMODSEQ, as Dovecot's
    /// `OK [HIGHESTMODSEQ n] Expunge completed.`; while idling an untagged OK follows
    /// the VANISHED.
    func testReportedExpungesCarryTheFolderHighestModSeq() async throws {
        let (server, a, b) = try await start(count: 3, enable: "QRESYNC")
        XCTAssertTrue(try a.command("UID STORE 1 +FLAGS.SILENT (\\Deleted)").ok)
        let expunge = try a.command("EXPUNGE")
        XCTAssertEqual(expunge.untagged, ["* VANISHED 1"])
        XCTAssertEqual(Self.claimed(expunge), try folderHighestModSeq(server))

        a.sendRaw("I1 IDLE\r\n")
        XCTAssertTrue(try a.readLine().hasPrefix("+ "))
        XCTAssertTrue(try b.command("UID STORE 2 +FLAGS.SILENT (\\Deleted)").ok)
        XCTAssertTrue(Condstore.withoutRecent(try a.readLine()).contains("FETCH (UID 2 FLAGS (\\Deleted"))
        XCTAssertTrue(try b.command("UID EXPUNGE 2").ok)
        XCTAssertEqual(try a.readLine(), "* VANISHED 2")
        XCTAssertEqual(try a.readLine(), "* OK [HIGHESTMODSEQ \(try folderHighestModSeq(server))] Highest")
        a.sendRaw("DONE\r\n")
        XCTAssertEqual(try a.collect(tag: "I1").status, "OK")
    }
}
