import Foundation
import XCTest

@testable import MaildirStore

/// Mod-sequences (RFC 7162) as the folder hands them out: every change stamps, nothing
/// goes backward, UNCHANGEDSINCE is checked under the folder lock.
final class ModSeqTests: XCTestCase {
    private func openFolder(_ maildir: TempMaildir, files: [String] = []) throws -> SharedFolder {
        for file in files { try maildir.deliver(file) }
        let registry = FolderRegistry(logger: testLogger(), lockTimeout: .seconds(10))
        let folder = try registry.open(directory: maildir.root, mailRoot: maildir.root)
        _ = try folder.synchronize(moveNewToCur: false)
        return folder
    }

    func testAStoreRaisesHighestAndStampsOnlyTheChangedMessages() throws {
        let maildir = try TempMaildir()
        let folder = try openFolder(maildir, files: ["cur/1700000000.M1P1.host:2,", "cur/1700000001.M1P1.host:2,"])
        let before = folder.snapshot
        XCTAssertEqual(before.messages.map(\.modSeq).max(), before.highestModSeq)
        let outcome = try folder.store(.add, flags: MessageFlags(system: .seen), uids: [StoreUID(2)])
        let after = folder.snapshot
        XCTAssertGreaterThan(after.highestModSeq, before.highestModSeq)
        XCTAssertEqual(outcome.changed.map(\.modSeq), [after.highestModSeq])
        XCTAssertEqual(after.messages[1].modSeq, after.highestModSeq)
        XCTAssertEqual(after.messages[0].modSeq, before.messages[0].modSeq, "untouched message keeps its modseq")
        // A store that changes nothing takes no new mod-sequence.
        _ = try folder.store(.add, flags: MessageFlags(system: .seen), uids: [StoreUID(2)])
        XCTAssertEqual(folder.snapshot.highestModSeq, after.highestModSeq)
    }

    func testUnchangedSinceLeavesNewerMessagesAloneAndReportsThem() throws {
        let maildir = try TempMaildir()
        let folder = try openFolder(maildir, files: ["cur/1700000000.M1P1.host:2,", "cur/1700000001.M1P1.host:2,"])
        let base = folder.snapshot.highestModSeq
        _ = try folder.store(.add, flags: MessageFlags(system: .flagged), uids: [StoreUID(1)])
        let outcome = try folder.store(
            .add, flags: MessageFlags(system: .seen), uids: [StoreUID(1), StoreUID(2)], unchangedSince: base)
        XCTAssertEqual(outcome.modified, [StoreUID(1)])
        XCTAssertEqual(outcome.changed.map(\.uid), [StoreUID(2)])
        XCTAssertEqual(folder.snapshot.messages[0].flags, MessageFlags(system: .flagged), "not stored")
    }

    func testAnotherProgramsRenameIsStampedWhenNoticed() throws {
        let maildir = try TempMaildir()
        let folder = try openFolder(maildir, files: ["cur/1700000000.M1P1.host:2,"])
        let before = folder.snapshot.highestModSeq
        try maildir.renameFile("cur/1700000000.M1P1.host:2,", "cur/1700000000.M1P1.host:2,S")
        let after = try folder.synchronize(moveNewToCur: false)
        XCTAssertGreaterThan(after.highestModSeq, before)
        XCTAssertEqual(after.messages[0].modSeq, after.highestModSeq)
    }

    func testExpungesAreRememberedWithTheirModSeq() throws {
        let maildir = try TempMaildir()
        let folder = try openFolder(
            maildir,
            files: ["cur/1700000000.M1P1.host:2,", "cur/1700000001.M1P1.host:2,", "cur/1700000002.M1P1.host:2,"])
        let start = folder.snapshot.highestModSeq
        XCTAssertEqual(folder.expunged(since: start), [])
        _ = try folder.expunge([StoreUID(2)])
        let middle = folder.snapshot.highestModSeq
        try maildir.remove("cur/1700000002.M1P1.host:2,")
        _ = try folder.synchronize(moveNewToCur: false)
        XCTAssertEqual(folder.expunged(since: start), [StoreUID(2), StoreUID(3)])
        XCTAssertEqual(folder.expunged(since: middle), [StoreUID(3)])
        XCTAssertNil(folder.expunged(since: ModSeq(1)), "from before this server kept history: not known")
    }

    func testForgottenExpungesRaiseTheFloor() {
        var state = ModSeqState(start: ModSeq(100))
        let total = ModSeqState.expungeMemory + 5
        for uid in 1...total {
            state.recordExpunges([StoreUID(UInt32(uid))])
            state.endOperation()
        }
        XCTAssertEqual(state.expunges.count, ModSeqState.expungeMemory)
        XCTAssertEqual(state.floor, ModSeq(105))
        XCTAssertNil(state.expunged(since: ModSeq(104)))
        XCTAssertEqual(state.expunged(since: ModSeq(105))?.first, StoreUID(6))
    }
}
