import Foundation
import XCTest

@testable import MaildirStore

/// The folder-level handling of uidlists that are old, damaged, or changed by others.
final class UIDListRecoveryTests: XCTestCase {
    func testDamagedUIDListKeepsUIDValidityAndIsRewritten() throws {
        let maildir = try TempMaildir()
        try maildir.write(
            "dovecot-uidlist",
            Array("3 V1712345678 N20 G0a1b2c3d4e5f60718293a4b5c6d7e8f9\n3 :a.host\n%%%\n9 :b.host\n".utf8))
        try maildir.deliver("cur/a.host:2,S")
        try maildir.deliver("cur/b.host:2,")
        try maildir.deliver("cur/c.host:2,")
        let snapshot = try maildir.openFolder().synchronize(moveNewToCur: false)
        XCTAssertEqual(snapshot.uidValidity, StoreUIDValidity(1_712_345_678))
        XCTAssertEqual(snapshot.messages.map(\.uid.rawValue), [3, 9, 20])
        let rewritten = UIDListParser.parse(try maildir.read("dovecot-uidlist"))
        XCTAssertTrue(rewritten.damagedLines.isEmpty)
        XCTAssertEqual(rewritten.header?.uidValidity, 1_712_345_678)
        XCTAssertEqual(rewritten.header?.nextUID, 21)
        XCTAssertEqual(rewritten.records.map(\.uid), [3, 9, 20])
    }

    func testV1UIDListIsUpgradedToV3OnWrite() throws {
        let maildir = try TempMaildir()
        try maildir.write("dovecot-uidlist", try fixture("courierimapuiddb.v1"))
        try maildir.deliver("cur/1712345600.M100P1000.mx1:2,S")
        try maildir.deliver("cur/1712345700.M300P1002.mx1:2,RS")
        try maildir.deliver("new/1712345800.M1P1.mx1")
        let snapshot = try maildir.openFolder().synchronize(moveNewToCur: false)
        XCTAssertEqual(snapshot.uidValidity, StoreUIDValidity(1_712_345_678))
        XCTAssertEqual(snapshot.messages.map(\.uid.rawValue), [1, 11, 12])
        let text = try maildir.readString("dovecot-uidlist")
        XCTAssertTrue(text.hasPrefix("3 V1712345678 N13\n"), text)
        XCTAssertTrue(text.contains("12 :1712345800.M1P1.mx1\n"), text)
    }

    func testCourierUIDsAreImported() throws {
        let maildir = try TempMaildir()
        try maildir.write("courierimapuiddb", try fixture("courierimapuiddb.v1"))
        try maildir.deliver("cur/1712345600.M100P1000.mx1:2,S")
        try maildir.deliver("cur/1712345700.M300P1002.mx1:2,RS")
        try maildir.deliver("new/1712345800.M1P1.mx1")
        let snapshot = try maildir.openFolder().synchronize(moveNewToCur: false)
        XCTAssertEqual(snapshot.uidValidity, StoreUIDValidity(1_712_345_678))
        XCTAssertEqual(snapshot.messages.map(\.uid.rawValue), [1, 11, 12])
        let parse = UIDListParser.parse(try maildir.read("dovecot-uidlist"))
        XCTAssertEqual(parse.header?.version, 3)
        XCTAssertEqual(parse.header?.value(UIDListSyntax.guidKey)?.count, 32)
        XCTAssertEqual(parse.records.first?.fileName, "1712345600.M100P1000.mx1")
    }

    func testPartialLastLineIsNeverAppendedTo() throws {
        let maildir = try TempMaildir()
        try maildir.write("dovecot-uidlist", Array("3 V77 N2\n1 :a.host\n2 :b.ho".utf8))
        try maildir.deliver("cur/a.host:2,")
        let folder = try maildir.openFolder()
        try maildir.deliver("new/c.host")
        let snapshot = try folder.synchronize(moveNewToCur: false)
        XCTAssertEqual(snapshot.messages.map(\.uid.rawValue), [1, 2])
        let parse = UIDListParser.parse(try maildir.read("dovecot-uidlist"))
        XCTAssertTrue(parse.damagedLines.isEmpty)
        XCTAssertEqual(parse.consumed, try maildir.read("dovecot-uidlist").count)
        XCTAssertEqual(parse.records.map(\.fileName), ["a.host", "c.host"])
    }

    func testUIDListDeletedWhileOpenIsWrittenBackWithTheSameUIDs() throws {
        let maildir = try TempMaildir()
        try maildir.deliver("new/1700000000.M1P1.host")
        try maildir.deliver("new/1700000001.M1P1.host")
        let folder = try maildir.openFolder()
        let before = try folder.synchronize(moveNewToCur: false)
        try maildir.remove("dovecot-uidlist")
        try maildir.deliver("new/1700000002.M1P1.host")
        let after = try folder.synchronize(moveNewToCur: false)
        XCTAssertEqual(after.uidValidity, before.uidValidity)
        XCTAssertEqual(after.messages.map(\.uid.rawValue), [1, 2, 3])
        let parse = UIDListParser.parse(try maildir.read("dovecot-uidlist"))
        XCTAssertEqual(parse.header?.uidValidity, before.uidValidity.rawValue)
        XCTAssertEqual(parse.records.map(\.uid), [1, 2, 3])
    }

    func testUIDValidityChangedByAnotherProgramResetsTheFolder() throws {
        let maildir = try TempMaildir()
        try maildir.deliver("cur/a.host:2,")
        let folder = try maildir.openFolder()
        _ = try folder.synchronize(moveNewToCur: false)
        let recorder = ChangeRecorder()
        _ = folder.addObserver(recorder.callback)
        // Rebuilt by someone else (new inode through rename).
        try maildir.write("new-uidlist", Array("3 V424242 N8\n7 :a.host\n".utf8))
        try maildir.renameFile("new-uidlist", "dovecot-uidlist")
        try maildir.deliver("new/b.host")
        let snapshot = try folder.synchronize(moveNewToCur: false)
        XCTAssertEqual(snapshot.uidValidity, StoreUIDValidity(424_242))
        XCTAssertEqual(snapshot.messages.map(\.uid.rawValue), [7, 8])
        XCTAssertEqual(recorder.expunged, [StoreUID(1)])
        XCTAssertEqual(recorder.added, [StoreUID(7), StoreUID(8)])
    }

    func testReappearingFileGetsANewUID() throws {
        let maildir = try TempMaildir()
        try maildir.deliver("cur/a.host:2,")
        try maildir.deliver("cur/b.host:2,")
        let folder = try maildir.openFolder()
        _ = try folder.synchronize(moveNewToCur: false)
        try maildir.renameFile("cur/a.host:2,", "tmp/a.host")
        XCTAssertEqual(try folder.synchronize(moveNewToCur: false).messages.map(\.uid.rawValue), [2])
        try maildir.renameFile("tmp/a.host", "cur/a.host:2,S")
        let snapshot = try folder.synchronize(moveNewToCur: false)
        XCTAssertEqual(snapshot.messages.map(\.uid.rawValue), [2, 3])
        let parse = UIDListParser.parse(try maildir.read("dovecot-uidlist"))
        XCTAssertEqual(parse.records.map(\.fileName), ["b.host", "a.host"], "the old record is dropped")
    }

    func testUnchangedDirectoriesSkipTheScan() throws {
        let maildir = try TempMaildir()
        let folder = try maildir.openFolder()
        let old = Date(timeIntervalSince1970: 1_600_000_000)
        for dir in ["cur", "new"] {
            try FileManager.default.setAttributes([.modificationDate: old], ofItemAtPath: maildir.path(dir))
        }
        _ = try folder.synchronize(moveNewToCur: false)  // notices the mtimes, scans
        // A file appears but new/'s mtime is put back: the cheap check trusts the mtime.
        try maildir.deliver("new/1700000000.M1P1.host")
        try FileManager.default.setAttributes([.modificationDate: old], ofItemAtPath: maildir.path("new"))
        XCTAssertEqual(try folder.synchronize(moveNewToCur: false).messages.count, 0)
        try FileManager.default.setAttributes([.modificationDate: Date()], ofItemAtPath: maildir.path("new"))
        XCTAssertEqual(try folder.synchronize(moveNewToCur: false).messages.count, 1)
    }

    func testChangeWithinTheMtimeTickIsNotMissed() throws {
        let maildir = try TempMaildir()
        let folder = try maildir.openFolder()
        // Directory mtimes not (yet) more than a second before the scan: the scan cannot
        // vouch for changes made later in the same timestamp tick.
        let tick = Date(timeIntervalSinceNow: 10)
        for dir in ["cur", "new"] {
            try FileManager.default.setAttributes([.modificationDate: tick], ofItemAtPath: maildir.path(dir))
        }
        _ = try folder.synchronize(moveNewToCur: false)
        try maildir.deliver("new/1700000000.M1P1.host")
        try FileManager.default.setAttributes([.modificationDate: tick], ofItemAtPath: maildir.path("new"))
        XCTAssertEqual(try folder.synchronize(moveNewToCur: false).messages.count, 1)
    }
}
