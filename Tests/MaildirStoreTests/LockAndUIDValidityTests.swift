import Foundation
import XCTest

@testable import MaildirStore

final class LockAndUIDValidityTests: XCTestCase {
    func testAllocatorNeverRepeats() throws {
        let maildir = try TempMaildir()
        let allocator = UIDValidityAllocator(mailRoot: maildir.root, logger: testLogger())
        var seen = Set<UInt32>()
        for _ in 0..<20 { XCTAssertTrue(seen.insert(try allocator.next()).inserted) }
        let last = try XCTUnwrap(seen.max())
        XCTAssertEqual(try maildir.readString("dovecot-uidvalidity"), UIDValidityAllocator.hex(last) + "\n")
        XCTAssertTrue(maildir.exists("dovecot-uidvalidity." + UIDValidityAllocator.hex(last)))
        XCTAssertLessThan(last, 1 << 31)
    }

    func testConcurrentAllocatorsNeverHandOutTheSameValue() throws {
        let maildir = try TempMaildir()
        let values = ErrorBox()
        DispatchQueue.concurrentPerform(iterations: 4) { _ in
            let allocator = UIDValidityAllocator(mailRoot: maildir.root, logger: testLogger())
            for _ in 0..<10 {
                do {
                    values.add(StoreError.corrupt(String(try allocator.next())))
                } catch {
                    values.add(error)
                }
            }
        }
        let all = values.all.map { "\($0)" }
        XCTAssertEqual(all.count, 40)
        XCTAssertEqual(Set(all).count, 40, "\(all.sorted())")
    }

    func testAllocatorRecoversWhenTheFileLagsBehindTheMarker() throws {
        let maildir = try TempMaildir()
        let allocator = UIDValidityAllocator(mailRoot: maildir.root, logger: testLogger())
        let first = try allocator.next()
        // A process died after renaming the marker but before writing the file.
        try maildir.renameFile(
            "dovecot-uidvalidity." + UIDValidityAllocator.hex(first),
            "dovecot-uidvalidity." + UIDValidityAllocator.hex(first + 5))
        XCTAssertEqual(try allocator.next(), first + 6)
        // A marker left behind the file's value: the file still wins.
        let current = try XCTUnwrap(UInt32(try maildir.readString("dovecot-uidvalidity").prefix(8), radix: 16))
        try maildir.renameFile(
            "dovecot-uidvalidity." + UIDValidityAllocator.hex(current), "dovecot-uidvalidity.00000005")
        XCTAssertEqual(try allocator.next(), current + 1)
        // The markers were lost entirely: the file value still prevents a repeat.
        for name in try maildir.list("") where name.hasPrefix("dovecot-uidvalidity.") { try maildir.remove(name) }
        XCTAssertGreaterThan(try allocator.next(), first + 6)
    }

    func testDeletedAndRecreatedFolderGetsANewUIDValidity() throws {
        let maildir = try TempMaildir()
        let store = Mailstore(root: maildir.root, logger: testLogger())
        var validities = Set<StoreUIDValidity>()
        for _ in 0..<3 {
            let directory = try store.createFolder(["Archive"])
            let registry = FolderRegistry(logger: testLogger())
            let folder = try registry.open(directory: directory, mailRoot: maildir.root)
            XCTAssertTrue(validities.insert(try folder.synchronize(moveNewToCur: false).uidValidity).inserted)
            registry.release(folder)
            try store.deleteFolder(["Archive"])
        }
    }

    func testStaleLockIsBroken() throws {
        let maildir = try TempMaildir()
        let folder = try FolderRegistry(logger: testLogger(), lockTimeout: .seconds(30))
            .open(directory: maildir.root, mailRoot: maildir.root)
        try maildir.write("dovecot-uidlist.lock", Array("999999:otherhost".utf8))
        let old = Date(timeIntervalSinceNow: -300)
        try FileManager.default.setAttributes(
            [.modificationDate: old], ofItemAtPath: maildir.path("dovecot-uidlist.lock"))
        try maildir.deliver("new/1700000000.M1P1.host")
        let snapshot = try folder.synchronize(moveNewToCur: false)
        XCTAssertEqual(snapshot.messages.map(\.uid.rawValue), [1])
        XCTAssertFalse(maildir.exists("dovecot-uidlist.lock"))
    }

    func testLockOfADeadProcessOnThisHostIsBroken() throws {
        let maildir = try TempMaildir()
        let locker = DotLocker(timeout: .seconds(30), logger: testLogger())
        // A pid that cannot exist (above pid_max's absolute limit).
        try maildir.write("dovecot-uidlist.lock", Array("4194305:\(POSIX.hostName())".utf8))
        let held = try locker.acquire(maildir.path("dovecot-uidlist.lock"))
        XCTAssertEqual(try maildir.readString("dovecot-uidlist.lock"), "\(getpid()):\(POSIX.hostName())")
        held.release()
        XCTAssertFalse(maildir.exists("dovecot-uidlist.lock"))
    }

    func testFreshLockHeldByAnotherProcessMakesTheWriterFailWithLocked() throws {
        let maildir = try TempMaildir()
        let folder = try FolderRegistry(logger: testLogger(), lockTimeout: .milliseconds(50))
            .open(directory: maildir.root, mailRoot: maildir.root)
        try maildir.write("dovecot-uidlist.lock", Array("1:otherhost".utf8))
        try maildir.deliver("new/1700000000.M1P1.host")
        XCTAssertThrowsError(try folder.synchronize(moveNewToCur: false)) { error in
            guard case StoreError.locked = error else { return XCTFail("\(error)") }
        }
        XCTAssertTrue(maildir.exists("dovecot-uidlist.lock"), "a live lock is never removed")
        XCTAssertTrue(folder.snapshot.messages.isEmpty)
        // Once the other process is done, the message gets its UID.
        try maildir.remove("dovecot-uidlist.lock")
        XCTAssertEqual(try folder.synchronize(moveNewToCur: false).messages.map(\.uid.rawValue), [1])
    }

    func testReleaseLeavesSomeoneElsesLockAlone() throws {
        let maildir = try TempMaildir()
        let locker = DotLocker(timeout: .seconds(1), logger: testLogger())
        let held = try locker.acquire(maildir.path("x.lock"))
        // Our lock was broken as stale and someone else took it.
        try maildir.remove("x.lock")
        try maildir.write("x.lock", Array("other".utf8))
        held.release()
        XCTAssertEqual(try maildir.readString("x.lock"), "other")
    }

    func testWritersInTwoRegistriesNeverShareAUID() throws {
        // Two registries = two "processes" coordinating only through the dot-lock.
        let maildir = try TempMaildir()
        let a = try FolderRegistry(logger: testLogger()).open(directory: maildir.root, mailRoot: maildir.root)
        let b = try FolderRegistry(logger: testLogger()).open(directory: maildir.root, mailRoot: maildir.root)
        let errors = ErrorBox()
        DispatchQueue.concurrentPerform(iterations: 2) { worker in
            let folder = worker == 0 ? a : b
            for i in 0..<15 {
                do {
                    try maildir.deliver("new/17000000\(10 + i).M\(worker)P1.host")
                    _ = try folder.synchronize(moveNewToCur: false)
                } catch {
                    errors.add(error)
                }
            }
        }
        XCTAssertTrue(errors.isEmpty, "\(errors.all)")
        let fromA = try a.synchronize(moveNewToCur: false).messages
        let fromB = try b.synchronize(moveNewToCur: false).messages
        XCTAssertEqual(fromA.count, 30)
        XCTAssertEqual(Set(fromA.map(\.uid)).count, 30)
        XCTAssertEqual(fromA.map(\.uid), fromB.map(\.uid))
        XCTAssertEqual(fromA.map(\.baseName), fromB.map(\.baseName))
        let records = UIDListParser.parse(try maildir.read("dovecot-uidlist"))
        XCTAssertTrue(records.damagedLines.isEmpty)
        XCTAssertEqual(records.records.count, 30)
    }
}
