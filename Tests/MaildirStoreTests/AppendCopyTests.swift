import Foundation
import XCTest

@testable import MaildirStore

final class AppendCopyTests: XCTestCase {
    func testAppendWritesThroughTmpAndAssignsTheNextUID() throws {
        let maildir = try TempMaildir()
        try maildir.deliver("cur/1700000000.M1P1.host:2,")
        let folder = try FolderRegistry(logger: testLogger()).open(directory: maildir.root, mailRoot: maildir.root)
        let recorder = ChangeRecorder()
        _ = folder.addObserver(recorder.callback)
        let transaction = try folder.beginAppend()
        try transaction.write(Array("Subject: hi\n".utf8))
        XCTAssertEqual(try maildir.list("tmp").count, 1, "the literal goes to tmp/ as it arrives")
        try transaction.write(Array("\r\nbody\n".utf8))
        XCTAssertEqual(transaction.size, 19)
        let record = try folder.commitAppend(
            transaction, flags: MessageFlags(system: [.seen, .flagged], keywords: ["Work"]), internalDate: 1_600_000_000
        )
        XCTAssertEqual(record.uid, StoreUID(2))
        XCTAssertEqual(record.physicalSize, 19)
        XCTAssertEqual(record.virtualSize, 21)
        XCTAssertEqual(record.internalDate, 1_600_000_000)
        XCTAssertEqual(record.flags, MessageFlags(system: [.seen, .flagged], keywords: ["Work"]))
        XCTAssertEqual(try maildir.list("tmp"), [])
        let names = try maildir.list("cur")
        XCTAssertEqual(names.count, 2)
        let saved = try XCTUnwrap(names.first { $0 != "1700000000.M1P1.host:2," })
        XCTAssertTrue(saved.hasSuffix(",S=19,W=21:2,FSa"), saved)
        XCTAssertEqual(try maildir.readString("cur/" + saved), "Subject: hi\n\r\nbody\n")
        XCTAssertEqual(recorder.added, [StoreUID(2)])
        XCTAssertEqual(try maildir.readString("dovecot-keywords"), "0 Work\n")
        XCTAssertTrue(try maildir.readString("dovecot-uidlist").hasSuffix("2 :\(record.baseName)\n"))
        // A restart agrees.
        let reopened = try FolderRegistry(logger: testLogger()).open(directory: maildir.root, mailRoot: maildir.root)
        let again = try XCTUnwrap(reopened.snapshot.messages.last)
        XCTAssertEqual(again.uid, StoreUID(2))
        XCTAssertEqual(try reopened.completeDetails([again]).first?.internalDate, 1_600_000_000)
    }

    func testAbortedAppendLeavesNothing() throws {
        let maildir = try TempMaildir()
        let folder = try FolderRegistry(logger: testLogger()).open(directory: maildir.root, mailRoot: maildir.root)
        do {
            let transaction = try folder.beginAppend()
            try transaction.write(Array("x".utf8))
            transaction.abort()
            XCTAssertThrowsError(try transaction.write(Array("y".utf8)))
            XCTAssertThrowsError(try folder.commitAppend(transaction, flags: MessageFlags(), internalDate: nil))
        }
        do {
            let dropped = try folder.beginAppend()
            try dropped.write(Array("x".utf8))
        }
        XCTAssertEqual(try maildir.list("tmp"), [])
        XCTAssertEqual(try maildir.list("cur"), [])
        XCTAssertTrue(folder.snapshot.messages.isEmpty)
    }

    func testAppendWithTheLockHeldFailsCleanly() throws {
        let maildir = try TempMaildir()
        let folder = try FolderRegistry(logger: testLogger(), lockTimeout: .milliseconds(20))
            .open(directory: maildir.root, mailRoot: maildir.root)
        try maildir.write("dovecot-uidlist.lock", Array("1:otherhost".utf8))
        let transaction = try folder.beginAppend()
        try transaction.write(Array("x\n".utf8))
        XCTAssertThrowsError(try folder.commitAppend(transaction, flags: MessageFlags(), internalDate: nil)) { error in
            guard case StoreError.locked = error else { return XCTFail("\(error)") }
        }
        XCTAssertEqual(try maildir.list("tmp"), [])
        XCTAssertEqual(try maildir.list("cur"), [])
    }

    func testCopyAndMoveKeepBytesDatesAndFlagsWithKeywordsRemapped() throws {
        let maildir = try TempMaildir()
        let store = Mailstore(root: maildir.root, logger: testLogger())
        let archive = try store.createFolder(["Archive"])
        try maildir.write("dovecot-keywords", Array("0 Work\n1 Home\n".utf8))
        try maildir.write(".Archive/dovecot-keywords", Array("0 Home\n".utf8))
        try maildir.deliver("cur/1700000000.M1P1.host:2,Sb", "one\n", mtime: 1_500_000_000)
        try maildir.deliver("cur/1700000001.M1P1.host:2,a", "two\n", mtime: 1_500_000001)
        try maildir.deliver("cur/1700000002.M1P1.host:2,", "three\n")
        let registry = FolderRegistry(logger: testLogger())
        let inbox = try registry.open(directory: maildir.root, mailRoot: maildir.root)
        let target = try registry.open(directory: archive, mailRoot: maildir.root)
        let recorder = ChangeRecorder()
        _ = target.addObserver(recorder.callback)
        let pairs = try inbox.copy([2, 1, 99].map { StoreUID($0) }, to: target)
        XCTAssertEqual(pairs.map(\.0.rawValue), [1, 2])
        XCTAssertEqual(pairs.map(\.1.rawValue), [1, 2])
        let copied = target.snapshot.messages
        XCTAssertEqual(
            copied.map(\.flags),
            [
                MessageFlags(system: .seen, keywords: ["Home"]), MessageFlags(keywords: ["Work"]),
            ])
        XCTAssertEqual(copied.map(\.internalDate), [1_500_000_000, 1_500_000_001])
        XCTAssertEqual(try maildir.readString(".Archive/dovecot-keywords"), "0 Home\n1 Work\n")
        XCTAssertEqual(recorder.added, [StoreUID(1), StoreUID(2)])
        let file = try XCTUnwrap(try target.openMessage(StoreUID(1)))
        XCTAssertEqual(try file.read(offset: 0, count: 100), Array("one\n".utf8))
        XCTAssertEqual(inbox.snapshot.messages.count, 3, "COPY leaves the source alone")

        let moved = try inbox.move([StoreUID(3)], to: target)
        XCTAssertEqual(moved.map(\.1.rawValue), [3])
        XCTAssertEqual(inbox.snapshot.messages.map(\.uid.rawValue), [1, 2])
        XCTAssertEqual(try maildir.list("cur").count, 2)
        XCTAssertEqual(try maildir.list(".Archive/cur").count, 3)
        XCTAssertEqual(try maildir.list(".Archive/tmp"), [])
    }
}
