import XCTest

@testable import MaildirStore

/// A folder whose last session left is parked in the registry (FolderRegistry.swift) and
/// reused by the next open, unless its directory or uidlist changed identity.
final class RegistryParkingTests: XCTestCase {
    func testReleasedFolderIsReusedAndStillSeesNewFiles() throws {
        let maildir = try TempMaildir()
        try maildir.deliver("cur/1700000001.M1P1.host:2,S")
        let registry = FolderRegistry(logger: testLogger())
        let first = try registry.open(directory: maildir.root, mailRoot: maildir.root)
        XCTAssertEqual(first.snapshot.messages.count, 1)
        registry.release(first)
        XCTAssertEqual(registry.openFolderCount, 0, "parked folders are not counted as open")
        try maildir.deliver("new/1700000002.M2P1.host")
        let again = try registry.open(directory: maildir.root, mailRoot: maildir.root)
        XCTAssertTrue(first === again, "the parked state is reused")
        XCTAssertEqual(registry.openFolderCount, 1)
        let snapshot = try again.synchronize(moveNewToCur: false)
        XCTAssertEqual(snapshot.messages.map(\.uid.rawValue), [1, 2])
        registry.release(again)
    }

    func testFolderDeletedAndCreatedAgainIsBuiltAfresh() throws {
        let maildir = try TempMaildir()
        try maildir.deliver("cur/1700000001.M1P1.host:2,S")
        let registry = FolderRegistry(logger: testLogger())
        let first = try registry.open(directory: maildir.root, mailRoot: maildir.root)
        let validity = first.snapshot.uidValidity
        registry.release(first)
        for sub in ["cur", "new", "tmp"] { try maildir.remove(sub) }
        try maildir.remove("dovecot-uidlist")
        for sub in ["cur", "new", "tmp"] { try maildir.makeDirectory(sub) }
        let again = try registry.open(directory: maildir.root, mailRoot: maildir.root)
        XCTAssertFalse(first === again)
        XCTAssertEqual(again.snapshot.messages.count, 0)
        XCTAssertNotEqual(again.snapshot.uidValidity, validity)
        registry.release(again)
    }

    func testUIDListWrittenByAnotherProgramWhileParkedIsReadAgain() throws {
        let maildir = try TempMaildir()
        try maildir.deliver("cur/1700000001.M1P1.host:2,S")
        let registry = FolderRegistry(logger: testLogger())
        let first = try registry.open(directory: maildir.root, mailRoot: maildir.root)
        registry.release(first)
        // Another server renumbers the message (a new UIDVALIDITY) while no session is in.
        try maildir.write("dovecot-uidlist", Array("3 V42 N8\n7 :1700000001.M1P1.host\n".utf8))
        let again = try registry.open(directory: maildir.root, mailRoot: maildir.root)
        XCTAssertFalse(first === again)
        XCTAssertEqual(again.snapshot.uidValidity.rawValue, 42)
        XCTAssertEqual(again.snapshot.messages.map(\.uid.rawValue), [7])
        registry.release(again)
    }

    func testParkedFoldersAreBounded() throws {
        let registry = FolderRegistry(logger: testLogger())
        var maildirs: [TempMaildir] = []
        for _ in 0..<(FolderRegistry.maxParkedFolders + 3) {
            let maildir = try TempMaildir()
            maildirs.append(maildir)
            registry.release(try registry.open(directory: maildir.root, mailRoot: maildir.root))
        }
        XCTAssertEqual(registry.parkedFolderCount, FolderRegistry.maxParkedFolders)
        XCTAssertEqual(registry.openFolderCount, 0)
    }
}
