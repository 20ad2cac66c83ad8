import Foundation
import XCTest

@testable import MaildirStore

final class WatcherTests: XCTestCase {
    func testChangesOnDiskReachObserversWithoutASynchronizeCall() throws {
        let maildir = try TempMaildir()
        try maildir.deliver("cur/1700000000.M1P1.host:2,")
        let registry = FolderRegistry(logger: testLogger())
        defer { registry.stopWatching() }
        try registry.startWatching()
        let folder = try registry.open(directory: maildir.root, mailRoot: maildir.root)
        let added = expectation(description: "delivery seen")
        let flagged = expectation(description: "rename seen")
        let expunged = expectation(description: "unlink seen")
        for expectation in [added, flagged, expunged] { expectation.assertForOverFulfill = false }
        _ = folder.addObserver { changes in
            for change in changes {
                switch change {
                case .added(let records) where records.map(\.uid) == [StoreUID(2)]: added.fulfill()
                case .flagsChanged(let list) where list.first?.flags.system == .seen: flagged.fulfill()
                case .expunged(let uids, _) where uids == [StoreUID(1)]: expunged.fulfill()
                default: break
                }
            }
        }
        try maildir.deliver("new/1700000001.M1P1.host")
        wait(for: [added], timeout: 30)
        try maildir.renameFile("cur/1700000000.M1P1.host:2,", "cur/1700000000.M1P1.host:2,S")
        wait(for: [flagged], timeout: 30)
        try maildir.remove("cur/1700000000.M1P1.host:2,S")
        wait(for: [expunged], timeout: 30)
        XCTAssertEqual(folder.snapshot.messages.map(\.uid), [StoreUID(2)])
    }

    func testFoldersOpenedBeforeStartingAreWatchedAndReleasedOnesAreNot() throws {
        let maildir = try TempMaildir()
        let registry = FolderRegistry(logger: testLogger())
        defer { registry.stopWatching() }
        let folder = try registry.open(directory: maildir.root, mailRoot: maildir.root)
        try registry.startWatching()
        try registry.startWatching()  // idempotent
        let added = expectation(description: "delivery seen")
        added.assertForOverFulfill = false
        _ = folder.addObserver { changes in
            if changes.contains(where: { if case .added = $0 { return true } else { return false } }) {
                added.fulfill()
            }
        }
        try maildir.deliver("new/1700000001.M1P1.host")
        wait(for: [added], timeout: 30)
        registry.release(folder)
        XCTAssertEqual(registry.openFolderCount, 0)
    }
}
