import Foundation
import LogCapture
import Logging
import Synchronization
import XCTest

@testable import MaildirStore

/// Issue 11 item 11: a dovecot-uidlist that cannot be right (UIDs out of order, a UID or
/// next UID at the top of the UID space, …) used to be salvaged under its UIDVALIDITY:
/// `3 V12345 N5` with `4294967295 :c` gave UIDs 5, 6, 4294967295 and then APPEND 7
/// (UIDs out of order); `N4294967295` made every APPEND fail and UIDVALIDITY was never
/// reset. Like Dovecot, the folder now starts again: a new UIDVALIDITY, every message
/// renumbered in delivery order, a warning logged, the file rewritten.
final class UIDListCorruptionTests: XCTestCase {
    static let oldUIDValidity: UInt32 = 12345
    static let files = ["1700000001.M1P1.host", "1700000002.M2P1.host", "1700000003.M3P1.host"]

    /// A Maildir with three messages in cur/ and the given uidlist; the folder opened
    /// with a logger that records warnings.
    func open(_ uidlist: String) throws -> (TempMaildir, SharedFolder, LogCapture) {
        let maildir = try TempMaildir()
        for name in Self.files { try maildir.deliver("cur/\(name):2,") }
        try maildir.write("dovecot-uidlist", Array(uidlist.utf8))
        let warnings = LogCapture()
        let folder = try FolderRegistry(logger: warnings.logger(level: .warning)).open(
            directory: maildir.root, mailRoot: maildir.root)
        return (maildir, folder, warnings)
    }

    /// The folder started again: new UIDVALIDITY, UIDs 1…3 in delivery order, the
    /// next APPEND gets 4, the file on disk says so, and a warning says why.
    func assertStartedAgain(_ uidlist: String, reason: String, file: StaticString = #filePath, line: UInt = #line)
        throws
    {
        let (maildir, folder, warnings) = try open(uidlist)
        let snapshot = try folder.synchronize(moveNewToCur: false)
        XCTAssertNotEqual(snapshot.uidValidity, StoreUIDValidity(Self.oldUIDValidity), file: file, line: line)
        XCTAssertEqual(snapshot.messages.map(\.uid.rawValue), [1, 2, 3], file: file, line: line)
        XCTAssertEqual(snapshot.messages.map(\.baseName), Self.files, file: file, line: line)
        let transaction = try folder.beginAppend()
        try transaction.write(Array("Subject: new\n\nbody\n".utf8))
        let appended = try folder.commitAppend(transaction, flags: MessageFlags(), internalDate: nil)
        XCTAssertEqual(appended.uid, StoreUID(4), file: file, line: line)
        let parse = UIDListParser.parse(try maildir.read("dovecot-uidlist"))
        XCTAssertNil(parse.impossible, file: file, line: line)
        XCTAssertEqual(parse.header?.uidValidity, snapshot.uidValidity.rawValue, file: file, line: line)
        XCTAssertEqual(parse.records.map(\.uid), [1, 2, 3, 4], file: file, line: line)
        XCTAssertTrue(
            warnings.all.contains { $0.contains("dovecot-uidlist is impossible") && $0.contains(reason) },
            "\(warnings.all)", file: file, line: line)
        // Reopened by a fresh registry (another process): the same UIDs, no new reset.
        let again = try maildir.openFolder().synchronize(moveNewToCur: false)
        XCTAssertEqual(again.uidValidity, snapshot.uidValidity, file: file, line: line)
        XCTAssertEqual(again.messages.map(\.uid.rawValue), [1, 2, 3, 4], file: file, line: line)
    }

    func testAUIDAtTheTopOfTheUIDSpace() throws {
        try assertStartedAgain(
            "3 V12345 N5\n4294967295 :\(Self.files[2])\n", reason: "UID too high (4294967295)")
    }

    func testANextUIDThatLeavesNoUIDToGive() throws {
        try assertStartedAgain(
            "3 V12345 N4294967295\n1 :\(Self.files[0])\n2 :\(Self.files[1])\n", reason: "leaves no UID to give")
    }

    func testANextUIDOfZeroOrNotANumber() throws {
        try assertStartedAgain("3 V12345 N0\n1 :\(Self.files[0])\n", reason: "next UID 0 is not a UID")
        try assertStartedAgain("3 V12345 N99999999999\n1 :\(Self.files[0])\n", reason: "is not a UID")
    }

    func testUIDsNotAscending() throws {
        try assertStartedAgain(
            "3 V12345 N10\n3 :\(Self.files[0])\n2 :\(Self.files[1])\n", reason: "UIDs not ascending (2 after 3)")
    }

    func testADuplicateUID() throws {
        try assertStartedAgain(
            "3 V12345 N10\n3 :\(Self.files[0])\n3 :\(Self.files[1])\n", reason: "UIDs not ascending (3 after 3)")
    }

    func testAVersion1UIDNotBelowTheNextUID() throws {
        try assertStartedAgain("1 12345 5\n7 \(Self.files[0])\n", reason: "UID 7 not below the next UID 5")
    }

    /// Version 3 records may be at or above N: records are appended without rewriting
    /// the header (Dovecot does the same). That file is possible and keeps its UIDs.
    func testVersion3RecordsAboveTheHeaderNextUIDAreNormal() throws {
        let (maildir, folder, warnings) = try open("3 V12345 N2\n1 :\(Self.files[0])\n5 :\(Self.files[1])\n")
        let snapshot = try folder.synchronize(moveNewToCur: false)
        XCTAssertEqual(snapshot.uidValidity, StoreUIDValidity(Self.oldUIDValidity))
        XCTAssertEqual(snapshot.messages.map(\.uid.rawValue), [1, 5, 6])
        XCTAssertFalse(warnings.all.contains { $0.contains("impossible") })
        XCTAssertTrue(maildir.exists("dovecot-uidlist"))
    }

    /// Records appended by another program that cannot follow the ones read before: the
    /// whole file is judged again, and the open folder starts again under a new
    /// UIDVALIDITY, reporting every old UID expunged.
    func testImpossibleRecordsAppendedWhileTheFolderIsOpen() throws {
        let (maildir, folder, _) = try open(
            "3 V12345 N4\n1 :\(Self.files[0])\n2 :\(Self.files[1])\n3 :\(Self.files[2])\n")
        let before = try folder.synchronize(moveNewToCur: false)
        XCTAssertEqual(before.uidValidity, StoreUIDValidity(Self.oldUIDValidity))
        let recorder = ChangeRecorder()
        _ = folder.addObserver(recorder.callback)
        let handle = try XCTUnwrap(FileHandle(forWritingAtPath: maildir.path("dovecot-uidlist")))
        handle.seekToEndOfFile()
        handle.write(Data("2 :1700000004.M4P1.host\n".utf8))
        handle.closeFile()
        try maildir.deliver("new/1700000004.M4P1.host")
        let after = try folder.synchronize(moveNewToCur: false)
        XCTAssertNotEqual(after.uidValidity, StoreUIDValidity(Self.oldUIDValidity))
        XCTAssertEqual(after.messages.map(\.uid.rawValue), [1, 2, 3, 4])
        XCTAssertEqual(Set(recorder.expunged), Set([1, 2, 3].map { StoreUID($0) }))
    }
}
