import Foundation
import XCTest

@testable import MaildirStore

/// `imapd-modseq` on disk: mod-sequences survive a reopen, changes made while the folder
/// was closed get new ones, and a damaged log is never trusted.
final class ModSeqLogTests: XCTestCase {
    /// A new registry is what a restarted server has: nothing in memory.
    private func reopen(_ maildir: TempMaildir) throws -> SharedFolder {
        let registry = FolderRegistry(logger: testLogger(), lockTimeout: .seconds(10))
        let folder = try registry.open(directory: maildir.root, mailRoot: maildir.root)
        _ = try folder.synchronize(moveNewToCur: false)
        return folder
    }

    private let one = "cur/1700000000.M1P1.host:2,"
    private let two = "cur/1700000001.M1P1.host:2,"

    func testModSeqsSurviveAReopen() throws {
        let maildir = try TempMaildir()
        try maildir.deliver(one)
        try maildir.deliver(two)
        let first = try reopen(maildir)
        _ = try first.store(.add, flags: MessageFlags(system: .seen), uids: [StoreUID(2)])
        _ = try first.expunge([StoreUID(1)])
        let before = first.snapshot
        XCTAssertTrue(maildir.exists("imapd-modseq"))

        let second = try reopen(maildir).snapshot
        XCTAssertEqual(second.messages.map(\.modSeq), before.messages.map(\.modSeq), "unchanged messages keep theirs")
        XCTAssertGreaterThanOrEqual(second.highestModSeq, before.highestModSeq)
        let again = try reopen(maildir)
        XCTAssertEqual(again.expunged(since: before.messages[0].modSeq), [StoreUID(1)])
    }

    func testChangesMadeWhileClosedGetNewModSeqs() throws {
        let maildir = try TempMaildir()
        try maildir.deliver(one)
        try maildir.deliver(two)
        let closedAt = try reopen(maildir).snapshot
        // While no server runs: an MUA renames, `rm` removes, an MDA delivers.
        try maildir.renameFile(one, one + "F")
        try maildir.remove(two)
        try maildir.deliver("new/1700000002.M1P1.host")

        let folder = try reopen(maildir)
        let opened = folder.snapshot
        XCTAssertGreaterThan(opened.highestModSeq, closedAt.highestModSeq)
        let changed = opened.messages.filter { $0.modSeq > closedAt.highestModSeq }.map(\.uid)
        XCTAssertEqual(changed, [StoreUID(1), StoreUID(3)])
        XCTAssertEqual(folder.expunged(since: closedAt.highestModSeq), [StoreUID(2)])
    }

    func testATornOrDamagedLogIsNotTrustedAndGetsRewritten() throws {
        let maildir = try TempMaildir()
        try maildir.deliver(one)
        let first = try reopen(maildir).snapshot
        var bytes = try maildir.read("imapd-modseq")
        bytes += Array("garbage line\nM1 5".utf8)  // a bad line, then a torn one
        try maildir.write("imapd-modseq", bytes)

        let reopened = try reopen(maildir).snapshot
        XCTAssertEqual(reopened.messages[0].modSeq, first.messages[0].modSeq, "the good lines still count")
        let text = try maildir.readString("imapd-modseq")
        XCTAssertFalse(text.contains("garbage"), "rewritten at open")
        XCTAssertTrue(text.hasSuffix("\n"))
    }

    func testALogOfAnotherUIDValidityOrNoHeaderStartsAbove() throws {
        let maildir = try TempMaildir()
        try maildir.deliver(one)
        let first = try reopen(maildir).snapshot
        try maildir.write("imapd-modseq", Array("not a log\n".utf8))
        let second = try reopen(maildir).snapshot
        XCTAssertGreaterThan(second.highestModSeq, first.highestModSeq)
        XCTAssertGreaterThan(second.messages[0].modSeq, first.highestModSeq, "every message counts as changed")
    }

    func testAFolderNeverServedStartsAboveAnyCountFromOne() throws {
        let maildir = try TempMaildir()
        try maildir.deliver(one)
        // Dovecot counts from 1 per change; the current time in microseconds is far above.
        let start = UInt64(Date().timeIntervalSince1970 * 1_000_000) - 60_000_000
        let snapshot = try reopen(maildir).snapshot
        XCTAssertGreaterThan(snapshot.messages[0].modSeq.rawValue, start)
        XCTAssertLessThan(snapshot.highestModSeq.rawValue, 1 << 53, "exact in a double")
    }

    func testAPowerLossBeforeTheLinesReachedDiskStillMovesForward() throws {
        let maildir = try TempMaildir()
        try maildir.deliver(one)
        let folder = try reopen(maildir)
        let header = try maildir.readString("imapd-modseq").split(separator: "\n").prefix(2).joined(separator: "\n")
        _ = try folder.store(.add, flags: MessageFlags(system: .seen), uids: [StoreUID(1)])
        let handedOut = folder.snapshot.highestModSeq
        // The appended line is lost; the rename and the durable ceiling line survived.
        try maildir.write("imapd-modseq", Array((header + "\n").utf8))
        let after = try reopen(maildir).snapshot
        XCTAssertGreaterThan(after.messages[0].modSeq, handedOut)
    }

    func testChangesWhileTheRewriteLockIsBusyAreStillLogged() throws {
        let maildir = try TempMaildir()
        try maildir.deliver(one)
        _ = try reopen(maildir)
        try maildir.write("imapd-modseq", try maildir.read("imapd-modseq") + Array("M1 7".utf8))  // torn
        // Another process (alive: this one) holds dovecot-uidlist.lock: no rewrite now.
        try maildir.write("dovecot-uidlist.lock", Array("\(getpid()):\(POSIX.hostName())".utf8))
        let folder = try reopen(maildir)
        _ = try folder.store(.add, flags: MessageFlags(system: .seen), uids: [StoreUID(1)])
        _ = try folder.store(.remove, flags: MessageFlags(system: .seen), uids: [StoreUID(1)])
        // The file's flags are back as the log's old line says; only the appended lines
        // tell that these mod-sequences went out.
        let handedOut = folder.snapshot.highestModSeq
        try maildir.remove("dovecot-uidlist.lock")
        let after = try reopen(maildir)
        XCTAssertGreaterThanOrEqual(after.snapshot.highestModSeq, handedOut)
        let next = try after.store(.add, flags: MessageFlags(system: .flagged), uids: [StoreUID(1)])
        XCTAssertGreaterThan(next.changed.first?.modSeq ?? ModSeq(0), handedOut)
    }

    func testTwoServersOnOneFolderNeverReuseAModSeq() throws {
        let maildir = try TempMaildir()
        try maildir.deliver(one)
        try maildir.deliver(two)
        let a = try reopen(maildir)
        let b = try reopen(maildir)
        var seen: [ModSeq] = []
        for round in 0..<20 {
            let folder = round % 2 == 0 ? a : b
            // Each message has \Seen toggled on every second round: every store changes.
            let operation: FlagOperation = (round / 2) % 2 == 0 ? .add : .remove
            let uid = StoreUID(UInt32(round % 2 + 1))
            let outcome = try folder.store(operation, flags: MessageFlags(system: .seen), uids: [uid])
            seen += outcome.changed.map(\.modSeq)
        }
        XCTAssertEqual(seen, seen.sorted(), "each store above every earlier one, whichever process made it")
        XCTAssertEqual(seen.count, 20)
        XCTAssertEqual(Set(seen).count, seen.count)
    }

    func testTheLogStaysSmallUnderManyChanges() throws {
        let maildir = try TempMaildir()
        try maildir.deliver(one)
        let folder = try reopen(maildir)
        for round in 0..<3_000 {
            let operation: FlagOperation = round % 2 == 0 ? .add : .remove
            _ = try folder.store(operation, flags: MessageFlags(system: .seen), uids: [StoreUID(1)])
        }
        let lines = try maildir.readString("imapd-modseq").split(separator: "\n").count
        XCTAssertLessThan(lines, 1_200, "rewritten once past 2 × messages + 1,000 lines")
        XCTAssertEqual(try reopen(maildir).snapshot.messages[0].modSeq, folder.snapshot.messages[0].modSeq)
    }

    func testFormatRoundTripAndLaterLinesWin() {
        var bytes = ModSeqLogFormat.header(uidValidity: 7, floor: ModSeq(10))
        ModSeqLogFormat.appendCeiling(ModSeq(1_000), to: &bytes)
        ModSeqLogFormat.append(.message(uid: 1, modSeq: ModSeq(11), flagBits: 0x8), to: &bytes)
        ModSeqLogFormat.append(.message(uid: 1, modSeq: ModSeq(12), flagBits: 0x28), to: &bytes)
        ModSeqLogFormat.append(.message(uid: 2, modSeq: ModSeq(13), flagBits: 0), to: &bytes)
        ModSeqLogFormat.append(.expunged(uid: 2, modSeq: ModSeq(14)), to: &bytes)
        ModSeqLogFormat.append(.expunged(uid: 3, modSeq: ModSeq(9)), to: &bytes)  // at or below the floor: forgotten
        guard let contents = ModSeqLogFormat.parse(bytes) else { return XCTFail("no header") }
        XCTAssertEqual(contents.uidValidity, 7)
        XCTAssertEqual(contents.ceiling, ModSeq(1_000))
        XCTAssertEqual(contents.highest, ModSeq(14))
        XCTAssertEqual(contents.messages.count, 1)
        XCTAssertEqual(contents.messages[1]?.modSeq, ModSeq(12))
        XCTAssertEqual(contents.messages[1]?.flagBits, 0x28)
        XCTAssertEqual(contents.expunges.map(\.uid), [StoreUID(2)])
        XCTAssertFalse(contents.damaged)
        XCTAssertEqual(FlagBits.of(Array("Sa".utf8)), 0x28)
        for bad in ["M1 2", "M0 5 0", "X1 -4", "C", "M1 2 zz", "Q1"] {
            var damaged = ModSeqLogFormat.header(uidValidity: 7, floor: ModSeq(1))
            damaged += Array((bad + "\n").utf8)
            XCTAssertEqual(ModSeqLogFormat.parse(damaged)?.damaged, true, bad)
        }
        XCTAssertNil(ModSeqLogFormat.parse(Array("imapd-modseq 2 V7 F1\n".utf8)))
    }
}
