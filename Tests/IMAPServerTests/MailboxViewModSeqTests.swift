import IMAPProtocol
import MaildirStore
import XCTest

@testable import IMAPServer

/// The view's mod-sequences (RFC 7162) and the VANISHED arithmetic over it.
final class MailboxViewModSeqTests: XCTestCase {
    /// Messages with the given UIDs, message `uid` at mod-sequence 100 + uid.
    static func view(_ uids: [UInt32], uidNext: UInt32, highest: UInt64 = 1000) -> (MailboxView, [MessageRecord]) {
        let messages = uids.map {
            MessageRecord(
                uid: StoreUID($0), flags: MessageFlags(), internalDate: 0, physicalSize: 1, virtualSize: 1,
                baseName: "m\($0)", modSeq: ModSeq(100 + UInt64($0)))
        }
        let snapshot = FolderSnapshot(
            uidValidity: StoreUIDValidity(1), uidNext: StoreUID(uidNext), messages: messages, keywords: [],
            canCreateKeywords: true, highestModSeq: ModSeq(highest))
        return (MailboxView(snapshot: snapshot), messages)
    }

    func testFlagChangesKeepModSeqsWithoutCopyingTheSnapshot() {
        let (fresh, messages) = Self.view(Array(1...1000), uidNext: 1001)
        var view = fresh
        XCTAssertEqual(view.modSeq(at: SequenceNumber(7)), ModSeq(107))
        let change = FlagChange(uid: StoreUID(7), flags: MessageFlags(system: [.seen]), modSeq: ModSeq(2000))
        let update = view.apply([.flagsChanged([change])], allowExpunge: true)
        XCTAssertEqual(update.flagChanges.map(\.record.modSeq), [ModSeq(2000)])
        XCTAssertEqual(view.modSeq(at: SequenceNumber(7)), ModSeq(2000))
        XCTAssertEqual(view.fetchMessage(at: SequenceNumber(7)).modSeq, ModSeq(2000))
        XCTAssertEqual(view.records[6].modSeq, ModSeq(2000))
        XCTAssertEqual(view.highestModSeq, ModSeq(2000))
        XCTAssertTrue(view.sharesStorage(with: messages), "one override, no copy")
        // A stale change (older than what the view holds) is not news.
        let stale = FlagChange(uid: StoreUID(7), flags: MessageFlags(), modSeq: ModSeq(1500))
        XCTAssertTrue(view.apply([.flagsChanged([stale])], allowExpunge: true).flagChanges.isEmpty)
        XCTAssertEqual(view.record(at: SequenceNumber(7)).flags.system, [.seen])
        // Delivered messages carry theirs.
        var added = messages[0]
        added.uid = StoreUID(1001)
        added.modSeq = ModSeq(2001)
        _ = view.apply([.added([added])], allowExpunge: true)
        XCTAssertEqual(view.modSeq(at: SequenceNumber(1001)), ModSeq(2001))
        XCTAssertEqual(view.highestModSeq, ModSeq(2001))
    }

    func testExpungeReportsUIDsForVanished() {
        var view = Self.view([1, 2, 3, 4, 5], uidNext: 6).0
        let update = view.apply(
            [.expunged([StoreUID(2), StoreUID(3), StoreUID(5)], modSeq: ModSeq(1))], allowExpunge: true)
        XCTAssertEqual(update.expunged, [SequenceNumber(2), SequenceNumber(2), SequenceNumber(3)])
        XCTAssertEqual(update.expungedUIDs, [StoreUID(2), StoreUID(3), StoreUID(5)])
    }

    /// RFC 5162 errata 1810 / RFC 7162 §3.2.10: while expunges wait (FETCH, STORE,
    /// SEARCH may not report them), the HIGHESTMODSEQ the client may be given stays
    /// below the lowest of them, however high the flag changes it was sent go; once
    /// they are reported it is the highest change heard of again.
    func testClaimableHighestModSeqStaysBelowThePendingExpunges() {
        var view = Self.view([1, 2, 3, 4, 5], uidNext: 6, highest: 1000).0
        XCTAssertEqual(view.claimableHighestModSeq, ModSeq(1000))
        _ = view.apply([.expunged([StoreUID(4)], modSeq: ModSeq(1003))], allowExpunge: false)
        let change = FlagChange(uid: StoreUID(1), flags: MessageFlags(system: [.seen]), modSeq: ModSeq(1004))
        _ = view.apply([.flagsChanged([change])], allowExpunge: false)
        // A later expunge keeps the minimum; an earlier one (a batch delivered before)
        // lowers it.
        _ = view.apply([.expunged([StoreUID(5)], modSeq: ModSeq(1005))], allowExpunge: false)
        XCTAssertEqual(view.lowestUnreportedExpungeModSeq, ModSeq(1003))
        _ = view.apply([.expunged([StoreUID(2)], modSeq: ModSeq(1001))], allowExpunge: false)
        XCTAssertEqual(view.lowestUnreportedExpungeModSeq, ModSeq(1001))
        XCTAssertEqual(view.highestModSeq, ModSeq(1005))
        XCTAssertEqual(view.claimableHighestModSeq, ModSeq(1000))
        // An expunge of a message the client never saw, or of a UID not in the view,
        // waits for nothing: only the highest rises.
        var added = view.record(at: SequenceNumber(1))
        added.uid = StoreUID(6)
        added.modSeq = ModSeq(1006)
        _ = view.apply(
            [.added([added]), .expunged([StoreUID(6), StoreUID(42)], modSeq: ModSeq(1007))], allowExpunge: false)
        XCTAssertEqual(view.lowestUnreportedExpungeModSeq, ModSeq(1001))
        XCTAssertEqual(view.highestModSeq, ModSeq(1007))
        let update = view.apply([], allowExpunge: true)
        XCTAssertEqual(update.expungedUIDs, [StoreUID(2), StoreUID(4), StoreUID(5)])
        XCTAssertNil(view.lowestUnreportedExpungeModSeq)
        XCTAssertEqual(view.claimableHighestModSeq, ModSeq(1007))
    }

    /// known-uids 1:4294967295 on a small folder: the answer is a handful of ranges,
    /// computed range by range (the top range ends at UIDNEXT-1 once clamped, and the
    /// subtraction itself copes with UID 4294967295).
    func testAbsentUIDsAreRanges() {
        let (view, _) = Self.view([3, 5, 6, 10], uidNext: 12)
        XCTAssertEqual(view.absentUIDs(in: view.clampedToAssigned([1...UInt32.max])), [1...2, 4...4, 7...9, 11...11])
        XCTAssertEqual(view.absentUIDs(in: [1...UInt32.max]), [1...2, 4...4, 7...9, 11...UInt32.max])
        XCTAssertEqual(view.absentUIDs(in: [4...6, 9...10]), [4...4, 9...9])
        XCTAssertEqual(view.clampedToAssigned([0...3, 11...20, 12...30]), [1...3, 11...11])
        let (empty, _) = Self.view([], uidNext: 1)
        XCTAssertEqual(empty.clampedToAssigned([1...UInt32.max]), [])
    }

    func testVanishedFromRememberedExpungesSkipsMessagesStillInTheView() {
        let (view, _) = Self.view([1, 3, 5], uidNext: 9)
        let remembered = [2, 3, 4, 7, 8].map { StoreUID($0) }
        XCTAssertEqual(view.vanished(remembered, within: [1...4, 8...8]), [2...2, 4...4, 8...8])
    }

    /// RFC 7162 §3.2.5.2: pairs are checked in order until one differs.
    func testSeqMatchDataStopsAtTheFirstMismatch() {
        let (view, _) = Self.view([1, 3, 5, 6], uidNext: 7)
        XCTAssertEqual(view.firstUnmatchedUID(sequenceNumbers: [1...2], uids: [1...1, 3...3]), 4)
        XCTAssertEqual(view.firstUnmatchedUID(sequenceNumbers: [1...1, 3...3], uids: [1...1, 3...3]), 2)
        XCTAssertEqual(view.firstUnmatchedUID(sequenceNumbers: [2...2], uids: [2...2]), 1)
        // Beyond the view's messages: a mismatch, never an out-of-range read.
        XCTAssertEqual(view.firstUnmatchedUID(sequenceNumbers: [1...1, 9...9], uids: [1...1, 9...9]), 2)
        XCTAssertEqual(
            view.firstUnmatchedUID(sequenceNumbers: [1...UInt32.max], uids: [1...UInt32.max]), 2,
            "one comparison per message at most")
    }
}
