import Foundation
import XCTest

@testable import MaildirStore

/// `SharedFolder.isSynchronized`: the check a session makes on its own thread before it
/// sends a synchronize to the pool (issue 12). It may say "nothing to do" only when a
/// synchronize would indeed find nothing, and must never wait.
final class FastSynchronizeTests: XCTestCase {
    /// A folder whose directories were last changed well in the past (older than the
    /// mtime trust window), then synchronized: the next synchronize has nothing to do.
    private func quietFolder(_ maildir: TempMaildir) throws -> SharedFolder {
        try maildir.deliver("cur/1700000001.M1P1.host:2,S", mtime: 1_700_000_001)
        try backdate(maildir, "cur", "new")
        let folder = try maildir.openFolder()
        _ = try folder.synchronize(moveNewToCur: true)
        return folder
    }

    /// Sets the directories' mtimes to an hour ago, as if nothing touched them since.
    private func backdate(_ maildir: TempMaildir, _ directories: String...) throws {
        let past = Date(timeIntervalSinceNow: -3600)
        for directory in directories {
            try FileManager.default.setAttributes([.modificationDate: past], ofItemAtPath: maildir.path(directory))
        }
    }

    func testNothingChangedIsSynchronized() throws {
        let maildir = try TempMaildir()
        let folder = try quietFolder(maildir)
        XCTAssertTrue(folder.isSynchronized(moveNewToCur: true))
        XCTAssertTrue(folder.isSynchronized(moveNewToCur: false))
    }

    func testADeliveryIsNotSynchronizedUntilTakenIn() throws {
        let maildir = try TempMaildir()
        let folder = try quietFolder(maildir)
        try maildir.deliver("new/1700000002.M2P1.host")
        XCTAssertFalse(folder.isSynchronized(moveNewToCur: false), "new/ changed: a synchronize must look")
        let snapshot = try folder.synchronize(moveNewToCur: false)
        XCTAssertEqual(snapshot.messages.count, 2)
        try backdate(maildir, "cur", "new")
        _ = try folder.synchronize(moveNewToCur: false)
        XCTAssertTrue(folder.isSynchronized(moveNewToCur: false))
        // The message is still in new/: a read-write session would move it to cur/.
        XCTAssertFalse(folder.isSynchronized(moveNewToCur: true))
        _ = try folder.synchronize(moveNewToCur: true)
        XCTAssertEqual(try maildir.list("new"), [])
        try backdate(maildir, "cur", "new")
        _ = try folder.synchronize(moveNewToCur: true)
        XCTAssertTrue(folder.isSynchronized(moveNewToCur: true))
    }

    func testAForeignFlagChangeIsNotSynchronized() throws {
        let maildir = try TempMaildir()
        let folder = try quietFolder(maildir)
        try maildir.renameFile("cur/1700000001.M1P1.host:2,S", "cur/1700000001.M1P1.host:2,FS")
        XCTAssertFalse(folder.isSynchronized(moveNewToCur: true))
    }

    func testANewKeywordsFileIsNotSynchronized() throws {
        let maildir = try TempMaildir()
        let folder = try quietFolder(maildir)
        try maildir.write("dovecot-keywords", Array("0 $Important\n".utf8))
        XCTAssertFalse(folder.isSynchronized(moveNewToCur: true))
    }

    func testAVanishedFolderIsNotSynchronized() throws {
        let maildir = try TempMaildir()
        let folder = try quietFolder(maildir)
        try maildir.remove("cur")
        XCTAssertFalse(folder.isSynchronized(moveNewToCur: true))
    }

    /// Another thread holds the folder (a long rescan): the check answers at once,
    /// "not known", instead of waiting for the lock.
    func testDoesNotWaitForABusyFolder() throws {
        let maildir = try TempMaildir()
        let folder = try quietFolder(maildir)
        let holding = DispatchSemaphore(value: 0)
        let release = DispatchSemaphore(value: 0)
        let holder = Thread {
            _ = try? folder.perform { _, _, _ in
                holding.signal()
                // Deadline only: a check that waited for the lock would get it after
                // this and answer true.
                _ = release.wait(timeout: .now() + 10)
            }
        }
        holder.start()
        holding.wait()
        XCTAssertFalse(folder.isSynchronized(moveNewToCur: true))
        release.signal()
    }
}
