import Foundation
import Synchronization
import XCTest

@testable import MaildirStore

/// IMAP4rev1 \Recent in the shared folder state (Recent.swift): claimed once, under the
/// folder Mutex; recorded on disk by moving claimed messages out of new/.
final class RecentTests: XCTestCase {
    /// A folder seen for the first time is all recent (no message has a UID yet, as
    /// Dovecot answers with a new index); once its uidlist names them, only what is
    /// still in new/ and what the uidlist does not name yet is.
    func testUnnumberedAndNewMessagesAreRecentNumberedOnesInCurAreNot() throws {
        let maildir = try TempMaildir()
        try maildir.deliver("cur/1700000000.M1P1.host:2,S")
        try maildir.deliver("new/1700000001.M1P1.host")
        let fresh = try maildir.openFolder().synchronize(moveNewToCur: false)
        XCTAssertEqual(fresh.firstRecentUID, StoreUID(1))
        XCTAssertEqual(fresh.unclaimedRecentCount, 2)

        try maildir.deliver("cur/1700000002.M1P1.host:2,")
        let again = try maildir.openFolder().synchronize(moveNewToCur: false)
        XCTAssertEqual(again.messages.map(\.uid.rawValue), [1, 2, 3])
        XCTAssertEqual(again.firstRecentUID, StoreUID(2))
        XCTAssertEqual(again.unclaimedRecentCount, 2)
    }

    func testAPeekLeavesThemAndAClaimTakesThemOnce() throws {
        let maildir = try TempMaildir()
        try maildir.deliver("new/1700000001.M1P1.host")
        try maildir.deliver("new/1700000002.M1P1.host")
        let folder = try maildir.openFolder()
        _ = try folder.synchronize(moveNewToCur: false)
        let last = StoreUID(2)
        XCTAssertEqual(folder.claimRecent(through: last, claiming: false).uids, StoreUID(1)...last)
        XCTAssertEqual(folder.snapshot.unclaimedRecentCount, 2)
        let claim = folder.claimRecent(through: last, claiming: true)
        XCTAssertEqual(claim, RecentClaim(uids: StoreUID(1)...last, needsPersisting: true))
        XCTAssertEqual(folder.claimRecent(through: last, claiming: true), .empty)
        XCTAssertEqual(folder.claimRecent(through: last, claiming: false), .empty)
        XCTAssertEqual(folder.snapshot.unclaimedRecentCount, 0)

        // Recorded on disk: a folder state built afresh finds nothing recent.
        try folder.persistClaimedRecent(StoreUID(1)...last)
        XCTAssertEqual(try maildir.list("new"), [])
        XCTAssertEqual(try maildir.list("cur"), ["1700000001.M1P1.host:2,", "1700000002.M1P1.host:2,"])
        XCTAssertEqual(try maildir.openFolder().synchronize(moveNewToCur: false).unclaimedRecentCount, 0)
    }

    /// Many threads told of the same messages at once: every UID is claimed by exactly
    /// one of them.
    func testConcurrentClaimsGiveEachMessageToExactlyOneClaimer() throws {
        let maildir = try TempMaildir()
        let folder = try maildir.openFolder()
        let messages = 200
        let claimers = 8
        let claimed = Mutex<[Int: [UInt32]]>([:])
        DispatchQueue.concurrentPerform(iterations: claimers) { worker in
            var mine: [UInt32] = []
            for n in 0..<messages where n % claimers == worker {
                _ = try? maildir.deliver("new/\(1_700_000_000 + n).M\(n)P1.host")
                guard let snapshot = try? folder.synchronize(moveNewToCur: false),
                    let last = snapshot.messages.last?.uid,
                    let range = folder.claimRecent(through: last, claiming: true).uids
                else { continue }
                mine += snapshot.messages.map(\.uid).filter { range.contains($0) }.map(\.rawValue)
            }
            claimed.withLock { $0[worker] = mine }
        }
        let all = claimed.withLock { $0.values.flatMap { $0 } }
        let final = try folder.synchronize(moveNewToCur: false)
        XCTAssertEqual(final.messages.count, messages)
        let rest = folder.claimRecent(through: final.messages.last?.uid ?? StoreUID(1), claiming: true).uids
        let remaining = final.messages.map(\.uid).filter { rest?.contains($0) ?? false }.map(\.rawValue)
        XCTAssertEqual((all + remaining).sorted(), final.messages.map(\.uid.rawValue))
    }
}
