import Foundation
import XCTest

@testable import MaildirStore

final class SharedFolderSyncTests: XCTestCase {
    func open(_ maildir: TempMaildir, registry: FolderRegistry? = nil) throws -> SharedFolder {
        try (registry ?? FolderRegistry(logger: testLogger())).open(directory: maildir.root, mailRoot: maildir.root)
    }

    func testNewFolderGetsUIDListWithFreshUIDValidity() throws {
        let maildir = try TempMaildir()
        let folder = try open(maildir)
        let snapshot = try folder.synchronize(moveNewToCur: false)
        XCTAssertNotEqual(snapshot.uidValidity.rawValue, 0)
        XCTAssertEqual(snapshot.uidNext, StoreUID(1))
        XCTAssertTrue(snapshot.messages.isEmpty)
        let text = try maildir.readString("dovecot-uidlist")
        XCTAssertTrue(text.hasPrefix("3 V\(snapshot.uidValidity.rawValue) N1 G"), text)
        XCTAssertTrue(maildir.exists("dovecot-uidvalidity"))
    }

    func testExternalDeliveryGetsUIDsInDeliveryOrder() throws {
        let maildir = try TempMaildir()
        let folder = try open(maildir)
        let recorder = ChangeRecorder()
        _ = folder.addObserver(recorder.callback)
        try maildir.deliver("new/1700000002.M10P1.host", mtime: 1_700_000_002)
        try maildir.deliver("new/1700000001.M900P1.host", mtime: 1_700_000_001)
        try maildir.deliver("cur/1700000001.M20P1.host,S=26,W=29:2,S", mtime: 1_700_000_001)
        let snapshot = try folder.synchronize(moveNewToCur: false)
        XCTAssertEqual(
            snapshot.messages.map(\.baseName),
            ["1700000001.M20P1.host,S=26,W=29", "1700000001.M900P1.host", "1700000002.M10P1.host"])
        XCTAssertEqual(snapshot.messages.map(\.uid.rawValue), [1, 2, 3])
        XCTAssertEqual(snapshot.uidNext, StoreUID(4))
        XCTAssertEqual(snapshot.messages[0].flags, MessageFlags(system: .seen))
        // The scan read no inode: sizes only where the name tells, no INTERNALDATE yet.
        XCTAssertEqual(snapshot.messages.map(\.physicalSize), [26, nil, nil])
        XCTAssertEqual(snapshot.messages.map(\.virtualSize), [29, nil, nil])
        XCTAssertEqual(snapshot.messages.map(\.internalDate), [nil, nil, nil])
        let completed = try folder.completeDetails(snapshot.messages)
        XCTAssertEqual(completed.map(\.uid), snapshot.messages.map(\.uid))
        XCTAssertEqual(completed[1].internalDate, 1_700_000_001)
        // "Subject: test\n\nbody\n" is 20 bytes with 3 LFs.
        XCTAssertEqual(completed[1].physicalSize, 20)
        XCTAssertEqual(completed[1].virtualSize, 23)
        XCTAssertEqual(completed[0].virtualSize, 29, "W= of the name, not the file's count")
        XCTAssertEqual(recorder.added, [1, 2, 3].map { StoreUID($0) })
        // Records appended in Dovecot's format.
        let lines = try maildir.readString("dovecot-uidlist").split(separator: "\n").dropFirst()
        XCTAssertEqual(
            Array(lines),
            ["1 :1700000001.M20P1.host,S=26,W=29", "2 :1700000001.M900P1.host", "3 :1700000002.M10P1.host"])
        // Files stay in new/ unless asked to move.
        XCTAssertEqual(try maildir.list("new").count, 2)
    }

    func testMoveNewToCurKeepsBaseNameAndUID() throws {
        let maildir = try TempMaildir()
        let folder = try open(maildir)
        try maildir.deliver("new/1700000000.M1P1.host")
        let before = try folder.synchronize(moveNewToCur: true)
        XCTAssertEqual(try maildir.list("new"), [])
        XCTAssertEqual(try maildir.list("cur"), ["1700000000.M1P1.host:2,"])
        let after = try folder.synchronize(moveNewToCur: true)
        XCTAssertEqual(before.messages.map(\.uid), after.messages.map(\.uid))
        XCTAssertEqual(after.messages.first?.baseName, "1700000000.M1P1.host")
    }

    func testExternalRenameIsAFlagChangeAndUnlinkIsAnExpunge() throws {
        let maildir = try TempMaildir()
        let folder = try open(maildir)
        try maildir.deliver("cur/1700000000.M1P1.host:2,")
        try maildir.deliver("cur/1700000000.M2P1.host:2,S")
        try maildir.deliver("new/1700000000.M3P1.host")
        _ = try folder.synchronize(moveNewToCur: false)
        let recorder = ChangeRecorder()
        _ = folder.addObserver(recorder.callback)
        // Another program: sets \Flagged, deletes one, moves the new one to cur.
        try maildir.renameFile("cur/1700000000.M1P1.host:2,", "cur/1700000000.M1P1.host:2,FS")
        try maildir.remove("cur/1700000000.M2P1.host:2,S")
        try maildir.renameFile("new/1700000000.M3P1.host", "cur/1700000000.M3P1.host:2,")
        let snapshot = try folder.synchronize(moveNewToCur: false)
        XCTAssertEqual(snapshot.messages.map(\.uid.rawValue), [1, 3])
        XCTAssertEqual(snapshot.messages[0].flags, MessageFlags(system: [.flagged, .seen]))
        XCTAssertEqual(recorder.expunged, [StoreUID(2)])
        // The synchronize is one operation: the expunge shares the flag change's stamp.
        XCTAssertEqual(recorder.expungeModSeqs, [snapshot.highestModSeq])
        XCTAssertEqual(recorder.flagChanges.map(\.0), [StoreUID(1)])
        XCTAssertEqual(recorder.added, [], "a message moved new/ → cur/ is not new")
    }

    func testUIDsAreStableAcrossRestart() throws {
        let maildir = try TempMaildir()
        var first: FolderSnapshot
        do {
            let folder = try open(maildir)
            for i in 0..<5 { try maildir.deliver("new/170000000\(i).M1P1.host") }
            first = try folder.synchronize(moveNewToCur: true)
            _ = try folder.expunge([StoreUID(2)])
            first = try folder.synchronize(moveNewToCur: false)
        }
        try maildir.deliver("new/1800000000.M1P1.host")
        let folder = try open(maildir)  // a new registry: like a server restart
        let second = try folder.synchronize(moveNewToCur: false)
        XCTAssertEqual(second.uidValidity, first.uidValidity)
        XCTAssertEqual(Array(second.messages.prefix(4)).map(\.uid), first.messages.map(\.uid))
        XCTAssertEqual(second.messages.map(\.uid.rawValue), [1, 3, 4, 5, 6])
    }

    func testExistingDovecotUIDListIsHonoured() throws {
        let maildir = try TempMaildir()
        try maildir.write("dovecot-uidlist", try fixture("dovecot-uidlist.v3"))
        try maildir.deliver("cur/1712345601.M200P1001.mx1:2,S")
        try maildir.deliver("cur/1712347000.M700P1006.mx1:2,")
        try maildir.deliver("new/1712348000.M1P1.mx1")
        // Compaction only runs on a folder whose directories have been quiet for a while.
        for dir in ["cur", "new"] {
            try FileManager.default.setAttributes(
                [.modificationDate: Date(timeIntervalSince1970: 1_700_000_000)], ofItemAtPath: maildir.path(dir))
        }
        let folder = try open(maildir)
        let snapshot = try folder.synchronize(moveNewToCur: false)
        XCTAssertEqual(snapshot.uidValidity, StoreUIDValidity(1_712_345_678))
        XCTAssertEqual(snapshot.messages.map(\.uid.rawValue), [2, 56, 57])
        XCTAssertEqual(snapshot.messages[0].virtualSize, 2101, "W field of the uidlist record")
        XCTAssertEqual(snapshot.uidNext, StoreUID(58))
        // More than a quarter of the records were stale: the file was compacted, N kept.
        let text = try maildir.readString("dovecot-uidlist")
        XCTAssertEqual(
            text,
            "3 V1712345678 N58 G0a1b2c3d4e5f60718293a4b5c6d7e8f9\n2 W2101 :1712345601.M200P1001.mx1\n"
                + "56 W1000 :1712347000.M700P1006.mx1\n57 :1712348000.M1P1.mx1\n")
    }

    func testNoCompactionWhileTheFolderIsBusy() throws {
        let maildir = try TempMaildir()
        try maildir.write("dovecot-uidlist", try fixture("dovecot-uidlist.v3"))
        try maildir.deliver("cur/1712345601.M200P1001.mx1:2,S")
        let folder = try open(maildir)
        XCTAssertEqual(try folder.synchronize(moveNewToCur: false).messages.map(\.uid.rawValue), [2])
        XCTAssertEqual(try maildir.read("dovecot-uidlist"), try fixture("dovecot-uidlist.v3"))
    }

    func testRecordsAppendedByAnotherProcessAreAdopted() throws {
        let maildir = try TempMaildir()
        let folder = try open(maildir)
        let validity = try folder.synchronize(moveNewToCur: false).uidValidity
        // Another server delivers and assigns UID 40.
        try maildir.deliver("new/1700000000.M1P1.other")
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: maildir.path("dovecot-uidlist")))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data("40 :1700000000.M1P1.other\n".utf8))
        try handle.close()
        try maildir.deliver("new/1700000001.M1P1.host")
        let snapshot = try folder.synchronize(moveNewToCur: false)
        XCTAssertEqual(snapshot.uidValidity, validity)
        XCTAssertEqual(snapshot.messages.map(\.uid.rawValue), [40, 41])
    }

    func testCheapSynchronizeStillSeesEveryChange() throws {
        let maildir = try TempMaildir()
        let folder = try open(maildir)
        for i in 0..<20 {
            try maildir.deliver("new/17000000\(10 + i).M1P1.host")
            let snapshot = try folder.synchronize(moveNewToCur: i % 2 == 0)
            XCTAssertEqual(snapshot.messages.count, i + 1)
        }
    }

    func testFolderDeletedUnderUsThrowsNonexistent() throws {
        let maildir = try TempMaildir()
        let folder = try open(maildir)
        try maildir.remove("cur")
        XCTAssertThrowsError(try folder.synchronize(moveNewToCur: false)) { error in
            guard case StoreError.nonexistent = error else { return XCTFail("\(error)") }
        }
    }

    func testRegistrySharesOneFolderPerDirectory() throws {
        let maildir = try TempMaildir()
        let registry = FolderRegistry(logger: testLogger())
        let a = try registry.open(directory: maildir.root, mailRoot: maildir.root)
        let b = try registry.open(directory: maildir.root + "/", mailRoot: maildir.root)
        XCTAssertTrue(a === b)
        registry.release(a)
        XCTAssertEqual(registry.openFolderCount, 1)
        registry.release(b)
        XCTAssertEqual(registry.openFolderCount, 0)
        XCTAssertThrowsError(try registry.open(directory: maildir.path("missing"), mailRoot: maildir.root))
    }

    func testSymlinksAndFIFOsInCurAreNeverMessages() throws {
        let maildir = try TempMaildir()
        let secret = try TempMaildir()
        try secret.write("secret", Array("not yours\n".utf8))
        XCTAssertEqual(symlink(secret.path("secret"), maildir.path("cur/1700000000.M1P1.evil:2,")), 0)
        XCTAssertEqual(mkfifo(maildir.path("cur/1700000000.M2P1.fifo:2,"), 0o600), 0)
        try maildir.makeDirectory("cur/1700000000.M3P1.dir")
        try maildir.deliver("cur/1700000000.M4P1.real:2,")
        let folder = try open(maildir)
        let snapshot = try folder.synchronize(moveNewToCur: false)
        XCTAssertEqual(snapshot.messages.map(\.baseName), ["1700000000.M4P1.real"])
        // A regular file swapped for a symlink after the scan is not opened either.
        try maildir.remove("cur/1700000000.M4P1.real:2,")
        XCTAssertEqual(symlink(secret.path("secret"), maildir.path("cur/1700000000.M4P1.real:2,")), 0)
        XCTAssertNil(try folder.openMessage(snapshot.messages[0].uid))
    }
}
