import Foundation
import XCTest

@testable import MaildirStore

/// INTERNALDATE and sizes left unread by a scan and read on demand (MessageDetails.swift).
final class MessageDetailsTests: XCTestCase {
    func testDetailsAreReadOnceAndRememberedByTheFolder() throws {
        let maildir = try TempMaildir()
        // 9 bytes, 2 bare LFs: RFC822.SIZE 11.
        try maildir.deliver("cur/1700000000.M1P1.host:2,S", "a\nbcdefg\n", mtime: 1_600_000_000)
        let folder = try maildir.openFolder()
        let scanned = try folder.synchronize(moveNewToCur: false).messages
        XCTAssertEqual(scanned.count, 1)
        XCTAssertTrue(scanned[0].lacksDetails)
        let completed = try folder.completeDetails(scanned)
        XCTAssertEqual(completed[0].internalDate, 1_600_000_000)
        XCTAssertEqual(completed[0].physicalSize, 9)
        XCTAssertEqual(completed[0].virtualSize, 11)
        // The folder keeps them: a later snapshot (another session's SELECT) has them,
        // even after the file's mtime changed (it is not read again).
        try FileManager.default.setAttributes(
            [.modificationDate: Date(timeIntervalSince1970: 1_650_000_000)],
            ofItemAtPath: maildir.path("cur/1700000000.M1P1.host:2,S"))
        let later = try folder.synchronize(moveNewToCur: false).messages
        XCTAssertEqual(later[0].internalDate, 1_600_000_000)
        XCTAssertEqual(later[0].virtualSize, 11)
        // A stale copy (a session's view taken before) is completed from the folder.
        XCTAssertEqual(try folder.completeDetails(scanned), completed)
    }

    func testDetailsFollowARenameAndSkipAGoneMessage() throws {
        let maildir = try TempMaildir()
        try maildir.deliver("cur/1700000000.M1P1.host:2,", mtime: 1_600_000_001)
        try maildir.deliver("cur/1700000000.M2P1.host:2,", mtime: 1_600_000_002)
        try maildir.deliver("cur/1700000000.M3P1.host:2,", mtime: 1_600_000_003)
        let folder = try maildir.openFolder()
        let scanned = try folder.synchronize(moveNewToCur: false).messages
        // Another program changes the flags of the first and expunges the second after
        // the scan: the first is found under its new name, the second has no details.
        try maildir.renameFile("cur/1700000000.M1P1.host:2,", "cur/1700000000.M1P1.host:2,FS")
        try maildir.remove("cur/1700000000.M2P1.host:2,")
        let completed = try folder.completeDetails(scanned)
        XCTAssertEqual(completed.map(\.uid), scanned.map(\.uid))
        XCTAssertEqual(completed[0].internalDate, 1_600_000_001)
        XCTAssertNil(completed[1].internalDate)
        XCTAssertEqual(completed[2].internalDate, 1_600_000_003)
        XCTAssertEqual(completed[2].virtualSize, 23)
    }

    func testMessagesThisServerWritesHaveTheirDetailsAtOnce() throws {
        let maildir = try TempMaildir()
        let folder = try maildir.openFolder()
        let transaction = try folder.beginAppend()
        try transaction.write(Array("Subject: x\n\nhi\n".utf8))
        let record = try folder.commitAppend(transaction, flags: MessageFlags(), internalDate: 1_500_000_000)
        XCTAssertFalse(record.lacksDetails)
        XCTAssertEqual(record.internalDate, 1_500_000_000)
        XCTAssertEqual(record.virtualSize, 18)
    }
}
