import Foundation
import XCTest

@testable import MaildirStore

/// imapd-index (FolderIndex.swift): a folder opened after a restart is loaded from it,
/// and what changed on disk meanwhile (or in the same tick as its write) is still seen;
/// a torn, damaged or outdated index is never trusted.
final class FolderIndexTests: XCTestCase {
    /// A registry that indexes every folder (the server's threshold is 1,000 messages).
    private func registry() -> FolderRegistry {
        FolderRegistry(logger: testLogger(), lockTimeout: .seconds(5), indexMinimumMessages: 1)
    }

    /// Twelve messages with assorted flags and a keyword, one still in new/, one
    /// expunged and one re-flagged through the folder; the index saved as at shutdown.
    private func populated() throws -> (TempMaildir, FolderSnapshot) {
        let maildir = try TempMaildir()
        for i in 1...11 {
            let flags = ["", "S", "FS", "RS", "T"][i % 5]
            try maildir.deliver("cur/17000000\(10 + i).M\(i)P1.host,S=21:2,\(flags)", mtime: 1_700_000_000 + i)
        }
        try maildir.deliver("new/1700000099.M99P1.host")
        let registry = registry()
        let folder = try registry.open(directory: maildir.root, mailRoot: maildir.root)
        XCTAssertFalse(folder.openedFromIndex)
        _ = try folder.store(.add, flags: MessageFlags(system: [.flagged], keywords: ["$Work"]), uids: [StoreUID(3)])
        _ = try folder.expunge([StoreUID(5)])
        registry.saveIndexes()
        XCTAssertTrue(maildir.exists("imapd-index"))
        return (maildir, try folder.synchronize(moveNewToCur: false))
    }

    private func reopen(_ maildir: TempMaildir) throws -> SharedFolder {
        try registry().open(directory: maildir.root, mailRoot: maildir.root)
    }

    /// What a client sees of the messages: UID, flags, file, mod-sequence.
    private func view(_ snapshot: FolderSnapshot) -> [String] {
        snapshot.messages.map {
            "\($0.uid) \($0.flags.system.rawValue) \($0.flags.keywords) \($0.baseName) \($0.modSeq)"
        }
    }

    func testRestartLoadsTheIndexAndAnswersAsBefore() throws {
        let (maildir, before) = try populated()
        let folder = try reopen(maildir)
        XCTAssertTrue(folder.openedFromIndex)
        let after = try folder.synchronize(moveNewToCur: false)
        XCTAssertEqual(view(after), view(before))
        XCTAssertEqual(after.uidValidity, before.uidValidity)
        XCTAssertEqual(after.uidNext, before.uidNext)
        XCTAssertEqual(after.highestModSeq, before.highestModSeq)
        XCTAssertEqual(after.keywords, before.keywords)
        XCTAssertEqual(after.firstRecentUID, before.firstRecentUID)
        XCTAssertEqual(folder.invariantViolations(), [])
        // A full build of the same files agrees.
        try maildir.remove("imapd-index")
        let built = try FolderRegistry(logger: testLogger(), lockTimeout: .seconds(5), indexMinimumMessages: .max)
            .open(directory: maildir.root, mailRoot: maildir.root)
        XCTAssertFalse(built.openedFromIndex)
        XCTAssertEqual(view(try built.synchronize(moveNewToCur: false)), view(before))
    }

    /// More distinct name endings than the loader's palette searches one by one (flag
    /// letters, keyword letters without names, suffixes, another info version, none),
    /// in cur/ and new/: every file and flag set reads back as it was.
    func testManyDistinctFileNameEndingsLoadAsTheyWere() throws {
        let maildir = try TempMaildir()
        let keywordLetters = Array("abcdef")
        for i in 1...60 {
            let letters = "S" + String(keywordLetters.indices.filter { i & (1 << $0) != 0 }.map { keywordLetters[$0] })
            let ending =
                switch i % 6 {
                case 0: ""
                case 1: ":1,experimental\(i)"
                case 2: ":2,\(letters),suffix\(i % 4)"
                default: ":2,\(letters)"
                }
            try maildir.deliver("\(i % 9 == 0 ? "new" : "cur")/17000000\(10 + i).M\(i)P1.host\(ending)")
        }
        let first = try registry().open(directory: maildir.root, mailRoot: maildir.root)
        let before = try first.synchronize(moveNewToCur: false)
        XCTAssertEqual(before.messages.count, 60)
        let registry = registry()
        _ = try registry.open(directory: maildir.root, mailRoot: maildir.root)
        registry.saveIndexes()
        let folder = try reopen(maildir)
        XCTAssertTrue(folder.openedFromIndex)
        XCTAssertEqual(view(try folder.synchronize(moveNewToCur: false)), view(before))
        XCTAssertEqual(folder.invariantViolations(), [])
        // A flag change renames the right file.
        _ = try folder.store(.add, flags: MessageFlags(system: [.flagged]), uids: [StoreUID(8)])
        let files = try maildir.list("cur")
        XCTAssertTrue(files.contains("1700000018.M8P1.host:2,FSd,suffix0"), "\(files)")
        XCTAssertEqual(folder.invariantViolations(), [])
    }

    func testChangesByAnotherProgramWhileDownAreSeen() throws {
        let (maildir, before) = try populated()
        // An MDA delivers, a client of another server sets \Seen and expunges one.
        try maildir.deliver("new/1700000200.M200P1.host", mtime: 1_700_000_200)
        try maildir.renameFile("cur/1700000011.M1P1.host,S=21:2,S", "cur/1700000011.M1P1.host,S=21:2,RS")
        try maildir.remove("cur/1700000012.M2P1.host,S=21:2,FS")
        let registry = registry()
        let folder = try registry.open(directory: maildir.root, mailRoot: maildir.root)
        XCTAssertTrue(folder.openedFromIndex)
        let after = try folder.synchronize(moveNewToCur: false)
        XCTAssertEqual(
            after.messages.map(\.uid.rawValue), before.messages.map(\.uid.rawValue).filter { $0 != 2 } + [13])
        let first = try XCTUnwrap(after.messages.first)
        XCTAssertEqual(first.flags.system, [.seen, .answered])
        XCTAssertGreaterThan(first.modSeq, before.highestModSeq, "a change found later gets a new mod-sequence")
        XCTAssertEqual(after.messages.last?.baseName, "1700000200.M200P1.host")
        XCTAssertEqual(after.firstRecentUID, before.firstRecentUID, "nothing was claimed: all still recent")
        XCTAssertEqual(folder.invariantViolations(), [])
        // The UID given to the delivery was appended to the uidlist: the state still
        // continues that file, so the next stop saves it and the next start loads it.
        registry.saveIndexes()
        let again = try reopen(maildir)
        XCTAssertTrue(again.openedFromIndex)
        XCTAssertEqual(view(try again.synchronize(moveNewToCur: false)), view(after))
    }

    /// Dovecot's same-second problem: a change in the same timestamp tick as the scan the
    /// index holds leaves the directory's mtime as recorded. Here the tick is forced: cur/
    /// gets an mtime after the scan, the index is written, a file is renamed and cur/'s
    /// mtime put back. Trusting the mtime would miss the rename.
    func testChangeInTheSameTickAsTheIndexWriteIsSeen() throws {
        let (maildir, _) = try populated()
        let tick = timespec(tv_sec: time(nil) + 1, tv_nsec: 0)
        try setModificationTime(maildir.path("cur"), tick)
        let registry = registry()
        let folder = try registry.open(directory: maildir.root, mailRoot: maildir.root)
        registry.saveIndexes()
        try maildir.renameFile("cur/1700000018.M8P1.host,S=21:2,RS", "cur/1700000018.M8P1.host,S=21:2,DRS")
        try setModificationTime(maildir.path("cur"), tick)
        XCTAssertEqual(folder.snapshot.messages.first { $0.uid.rawValue == 8 }?.flags.system, [.seen, .answered])
        let reopened = try reopen(maildir)
        XCTAssertTrue(reopened.openedFromIndex)
        let flags = try reopened.synchronize(moveNewToCur: false).messages.first { $0.uid.rawValue == 8 }?.flags
        XCTAssertEqual(flags?.system, [.seen, .answered, .draft])
    }

    func testTornOrDamagedIndexIsRebuiltFromTheMaildir() throws {
        let (maildir, before) = try populated()
        let whole = try maildir.read("imapd-index")
        var damaged: [(String, [UInt8])] = [0, 1, 8, 23, 24, whole.count / 2, whole.count - 1].map {
            ("cut at \($0)", Array(whole.prefix($0)))
        }
        for offset in [3, 12, 30, whole.count / 3, whole.count - 2] {
            var flipped = whole
            flipped[offset] ^= 0x10
            damaged.append(("byte \(offset) flipped", flipped))
        }
        damaged.append(("grown", whole + [0]))
        for (what, bytes) in damaged {
            try maildir.write("imapd-index", bytes)
            let folder = try reopen(maildir)
            XCTAssertFalse(folder.openedFromIndex, what)
            XCTAssertEqual(
                try folder.synchronize(moveNewToCur: false).messages.map(\.uid), before.messages.map(\.uid), what)
            // The full build wrote a whole index again.
            XCTAssertEqual(try maildir.read("imapd-index").count, whole.count, what)
            XCTAssertTrue(try reopen(maildir).openedFromIndex, what)
        }
    }

    /// The decoder's own bounds, without the CRC in front of them: every cut of the
    /// payload decodes to nil, and every byte changed decodes to nil or a state, never
    /// a crash or a read past the end.
    func testDecoderBoundsHoldWithoutTheCRC() throws {
        let (maildir, _) = try populated()
        let file = try maildir.read("imapd-index")
        let payload = try XCTUnwrap(FolderIndexFormat.payload(of: file))
        XCTAssertNotNil(FolderIndexFormat.decode(payload, keywords: KeywordTable()))
        for cut in 0..<payload.count {
            XCTAssertNil(FolderIndexFormat.decode(payload.prefix(cut), keywords: KeywordTable()), "cut at \(cut)")
        }
        for offset in payload.indices {
            for mask: UInt8 in [0x01, 0x80, 0xFF] {
                var changed = Array(payload)
                changed[offset - payload.startIndex] ^= mask
                _ = FolderIndexFormat.decode(changed[...], keywords: KeywordTable())
            }
        }
    }

    /// Another instance changed a mod-sequence: the index no longer knows every message's
    /// latest one, so it is not used (CHANGEDSINCE must not miss a change).
    func testModSeqLogChangedSinceTheIndexMeansAFullBuild() throws {
        let (maildir, _) = try populated()
        let handle = try XCTUnwrap(FileHandle(forWritingAtPath: maildir.path("imapd-modseq")))
        handle.seekToEndOfFile()
        handle.write(Data("M 1 99999999999999 0\n".utf8))
        handle.closeFile()
        XCTAssertFalse(try reopen(maildir).openedFromIndex)
    }

    func testUIDListAppendedWhileDownIsReadOn() throws {
        let (maildir, _) = try populated()
        // Dovecot's LDA: the file, then its record appended under the lock.
        try maildir.deliver("new/1700000300.M300P1.host")
        let handle = try XCTUnwrap(FileHandle(forWritingAtPath: maildir.path("dovecot-uidlist")))
        handle.seekToEndOfFile()
        handle.write(Data("40 :1700000300.M300P1.host\n".utf8))
        handle.closeFile()
        let folder = try reopen(maildir)
        XCTAssertTrue(folder.openedFromIndex)
        let snapshot = try folder.synchronize(moveNewToCur: false)
        XCTAssertEqual(snapshot.messages.last?.uid.rawValue, 40)
        XCTAssertEqual(snapshot.uidNext.rawValue, 41)
    }

    func testUIDListRewrittenWhileDownMeansAFullBuild() throws {
        let (maildir, before) = try populated()
        let uidList = try maildir.readString("dovecot-uidlist")
        try maildir.write("dovecot-uidlist.new", Array(uidList.utf8))
        try maildir.renameFile("dovecot-uidlist.new", "dovecot-uidlist")
        let folder = try reopen(maildir)
        XCTAssertFalse(folder.openedFromIndex)
        XCTAssertEqual(try folder.synchronize(moveNewToCur: false).messages.map(\.uid), before.messages.map(\.uid))
    }

    /// Symlinks planted at the index or its temporary name are neither read nor written
    /// through.
    func testPlantedSymlinksAreNeverFollowed() throws {
        let (maildir, before) = try populated()
        let outside = try TempMaildir()
        try outside.write("victim", Array("untouched".utf8))
        try maildir.remove("imapd-index")
        XCTAssertEqual(symlink(outside.path("victim"), maildir.path("imapd-index.tmp")), 0)
        XCTAssertEqual(symlink(outside.path("victim"), maildir.path("imapd-index")), 0)
        let folder = try reopen(maildir)
        XCTAssertFalse(folder.openedFromIndex)
        XCTAssertEqual(try folder.synchronize(moveNewToCur: false).messages.map(\.uid), before.messages.map(\.uid))
        XCTAssertEqual(try outside.readString("victim"), "untouched")
        XCTAssertTrue(try reopen(maildir).openedFromIndex, "the index replaced the symlink")
    }

    /// A folder deleted and created again under its name while this server held the old
    /// one: the old state never writes the new folder's index.
    func testFolderReplacedWhileHeldGetsNoIndexFromTheOldState() throws {
        let maildir = try TempMaildir()
        try maildir.deliver("cur/1700000001.M1P1.host:2,S")
        let registry = registry()
        let folder = try registry.open(directory: maildir.root, mailRoot: maildir.root)
        registry.release(folder)
        for name in ["cur", "new", "tmp"] { try maildir.remove(name) }
        for name in ["dovecot-uidlist", "imapd-modseq", "imapd-index"] where maildir.exists(name) {
            try maildir.remove(name)
        }
        for name in ["cur", "new", "tmp"] { try maildir.makeDirectory(name) }
        try maildir.deliver("cur/1700000002.M2P1.host:2,S")
        registry.saveIndexes()
        XCTAssertFalse(maildir.exists("imapd-index"))
        let reopened = try reopen(maildir)
        XCTAssertEqual(try reopened.synchronize(moveNewToCur: false).messages.map(\.baseName), ["1700000002.M2P1.host"])
    }

    func testSmallFoldersGetNoIndex() throws {
        let maildir = try TempMaildir()
        try maildir.deliver("cur/1700000001.M1P1.host:2,S")
        let registry = FolderRegistry(logger: testLogger())
        _ = try registry.open(directory: maildir.root, mailRoot: maildir.root)
        registry.saveIndexes()
        XCTAssertFalse(maildir.exists("imapd-index"))
    }

    private func setModificationTime(_ path: String, _ time: timespec) throws {
        var times = [timespec(tv_sec: 0, tv_nsec: POSIX.utimeOmit), time]
        guard utimensat(AT_FDCWD, path, &times, 0) == 0 else { throw StoreError.io(path, errno: errno) }
    }
}
