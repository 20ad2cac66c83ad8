import XCTest

@testable import MaildirStore

/// The digest of the known files (LocationTable) matches readdir's exactly when the
/// same names are on disk (NameDigest.swift).
final class NameDigestTests: XCTestCase {
    func testKnownFilesMatchTheDirectoriesAndAForeignRenameDoesNot() throws {
        let maildir = try TempMaildir()
        try maildir.deliver("cur/1700000001.M1P1.host,S=20:2,S")
        try maildir.deliver("cur/1700000002.M2P1.host:2,Fa,x")
        try maildir.deliver("cur/1700000003.M3P1.host:1,odd")
        try maildir.deliver("new/1700000004.M4P1.host")
        try maildir.deliver("cur/.hidden")
        let context = FolderContext(
            directory: maildir.root, mailRoot: maildir.root, logger: testLogger(), lockTimeout: .seconds(5))
        var state = try context.loadState()
        var changes: [FolderChange] = []
        try context.synchronize(&state, force: true, moveNewToCur: false, changes: &changes)
        XCTAssertEqual(state.locations.count, 4)
        XCTAssertTrue(try context.listingMatches(state))
        // Another program sets a flag: same count, another name.
        try maildir.renameFile("cur/1700000001.M1P1.host,S=20:2,S", "cur/1700000001.M1P1.host,S=20:2,RS")
        XCTAssertFalse(try context.listingMatches(state))
        try context.synchronize(&state, force: false, moveNewToCur: false, changes: &changes)
        XCTAssertTrue(try context.listingMatches(state))
        // A delivery into new/.
        try maildir.deliver("new/1700000005.M5P1.host")
        XCTAssertFalse(try context.listingMatches(state))
    }

    func testOwnRenamesAreRecognisedAsKnown() throws {
        let maildir = try TempMaildir()
        for i in 1...20 { try maildir.deliver("new/17000000\(10 + i).M\(i)P1.host") }
        let folder = try SharedFolder(
            context: FolderContext(
                directory: maildir.root, mailRoot: maildir.root, logger: testLogger(), lockTimeout: .seconds(5)))
        let snapshot = try folder.synchronize(moveNewToCur: true)
        _ = try folder.store(.add, flags: MessageFlags(system: .flagged), uids: snapshot.messages.prefix(5).map(\.uid))
        _ = try folder.expunge([snapshot.messages[7].uid])
        XCTAssertTrue(try folder.perform { context, state, _ in try context.listingMatches(state) })
        XCTAssertEqual(try maildir.list("new").count, 0)
        XCTAssertEqual(folder.snapshot.messages.count, 19)
        XCTAssertEqual(folder.invariantViolations(), [])
    }

    /// The count of files in new/ follows every change of the table: moving the
    /// messages to cur/ leaves none, so a synchronize skips the walk over all files.
    func testInNewCountFollowsTheTable() throws {
        var table: LocationTable = [:]
        let name = MaildirFileName(parsing: "1700000001.M1P1.host")
        table["a"] = MessageLocation(inNew: true, name: name)
        table["b"] = MessageLocation(inNew: true, name: name)
        table["c"] = MessageLocation(inNew: false, name: name)
        XCTAssertEqual(table.inNewCount, 2)
        table["a"] = MessageLocation(inNew: false, name: name)
        table["b"] = nil
        XCTAssertEqual(table.inNewCount, 0)
        table["c"] = MessageLocation(inNew: true, name: name)
        XCTAssertEqual(table.inNewCount, 1)

        let maildir = try TempMaildir()
        for i in 1...3 { try maildir.deliver("new/17000000\(10 + i).M\(i)P1.host") }
        let folder = try maildir.openFolder()
        _ = try folder.synchronize(moveNewToCur: false)
        XCTAssertEqual(try folder.perform { _, state, _ in state.locations.inNewCount }, 3)
        _ = try folder.synchronize(moveNewToCur: true)
        XCTAssertEqual(try folder.perform { _, state, _ in state.locations.inNewCount }, 0)
        XCTAssertEqual(try maildir.list("new"), [])
    }
}
