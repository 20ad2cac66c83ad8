import Foundation
import MaildirStore
import XCTest

@testable import IMAPServer

#if canImport(Glibc)
    import Glibc
#endif

/// One folder's listing file on disk (ListingFile): appends found again by offset,
/// saved offsets plus the tail, and damage of every kind read as misses, never as
/// another message's entry.
final class ListingFileTests: XCTestCase {
    var directory = ""

    override func setUpWithError() throws {
        directory = NSTemporaryDirectory() + "imapd-listing-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let path = directory
        addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
    }

    var file: ListingFile { ListingFile(directory: directory, maxBytes: 1 << 30) }

    static func entry(_ uid: UInt32) -> ListingEntry {
        var entry = ListingEntry(uid: uid, nameHash: uid &* 31)
        var headers = SearchHeaders()
        headers[.header("subject")] = [Array("SUBJECT \(uid)".utf8)]
        headers[.address("from")] = [
            Array("SENDER <S\(uid % 5)@EXAMPLE.ORG>".utf8), Array("S\(uid % 5)@EXAMPLE.ORG".utf8),
        ]
        headers.sentDate = .some(nil)
        entry.searchHeaders = headers
        return entry
    }

    func wanted(_ contents: ListingFile.Contents, _ uids: [UInt32]) -> [ListingFile.Wanted] {
        zip(uids, contents.offsets.lookup(uids, .search)).compactMap { uid, offset in
            offset.map { (uid, uid &* 31, $0) }
        }
    }

    /// Appends `uids` as this process would, its view of the file kept in `contents`.
    func append(_ uids: [UInt32], _ contents: inout ListingFile.Contents, uidValidity: UInt32 = 9) {
        let appended = file.append(uids.map(Self.entry), uidValidity: uidValidity, known: contents.known)
        if let reloaded = appended.contents { contents = reloaded }
        XCTAssertNotNil(appended.mark)
        for frame in appended.written { contents.offsets.put(frame.uid, frame.offset, frame.kind) }
        contents.offsets.normalize()
        contents.frames += appended.written.count
        contents.end = appended.end
        contents.mark = appended.mark
        contents.known = appended.mark
    }

    func testAppendsAreFoundByOffsetAfterALoad() throws {
        var contents = ListingFile.Contents()
        append(Array(1...50), &contents)
        append(Array(51...60), &contents)
        let loaded = file.load(uidValidity: 9)
        XCTAssertEqual(loaded.offsets[.search].columns.uids, Array(1...60))
        XCTAssertEqual(loaded.frames, 60)
        XCTAssertEqual(loaded.known, contents.known)
        let read = file.read(wanted(loaded, Array(1...60)))
        XCTAssertEqual(read, (1...60).map(Self.entry))
        // Far apart offsets are read in separate runs, and the same UID twice.
        XCTAssertEqual(file.read(wanted(loaded, [60, 1, 30, 1])), [60, 1, 30, 1].map(Self.entry))
    }

    func testWrongNameHashOrUIDIsAMiss() throws {
        var contents = ListingFile.Contents()
        append(Array(1...10), &contents)
        let offset = try XCTUnwrap(contents.offsets.lookup([4], .search).first ?? nil)
        XCTAssertEqual(file.read([(4, 4 &* 31, offset)]), [Self.entry(4)])
        // The message is now another file (another base name), or the offset is stale.
        XCTAssertEqual(file.read([(4, 12345, offset)]), [nil])
        XCTAssertEqual(file.read([(5, 5 &* 31, offset)]), [nil])
        XCTAssertEqual(file.read([(4, 4 &* 31, offset + 3)]), [nil])
        XCTAssertEqual(file.read([(4, 4 &* 31, UInt32(1 << 30))]), [nil])
        // Compaction reads a frame whatever its name.
        XCTAssertEqual(file.read([(4, nil, offset)]), [Self.entry(4)])
    }

    func testSavedOffsetsAndTheTailAfterThem() throws {
        var contents = ListingFile.Contents()
        append(Array(1...30), &contents)
        file.saveOffsets(&contents)
        XCTAssertEqual(contents.saved, contents.end)
        append(Array(31...40), &contents)
        // A later entry for UID 3 wins over the saved one.
        var replaced = Self.entry(3)
        replaced.searchHeaders?[.header("subject")] = [Array("EDITED".utf8)]
        let appended = file.append([replaced], uidValidity: 9, known: contents.known)
        XCTAssertNil(appended.contents)
        let loaded = file.load(uidValidity: 9)
        XCTAssertLessThan(loaded.saved, loaded.end)
        XCTAssertEqual(loaded.frames, 41)
        XCTAssertEqual(loaded.offsets.count, 40)
        XCTAssertEqual(file.read(wanted(loaded, [3, 35])), [replaced, Self.entry(35)])

        // Damaged offsets: the whole file is read instead, with the same result.
        let offsetsPath = directory + "/" + HeaderCacheNames.listingOffsets
        var bytes = try XCTUnwrap(FileManager.default.contents(atPath: offsetsPath))
        bytes[bytes.count - 2] ^= 0x10
        try bytes.write(to: URL(fileURLWithPath: offsetsPath))
        let rescanned = file.load(uidValidity: 9)
        XCTAssertEqual(rescanned.saved, 0)
        XCTAssertEqual(rescanned.offsets[.search].columns.uids, loaded.offsets[.search].columns.uids)
        XCTAssertEqual(rescanned.offsets[.search].columns.values, loaded.offsets[.search].columns.values)
    }

    /// A torn last frame is cut off under the lock before the next append, and the
    /// frames before it stay readable.
    func testTornTailIsCutBeforeTheNextAppend() throws {
        var contents = ListingFile.Contents()
        append(Array(1...20), &contents)
        let path = directory + "/" + HeaderCacheNames.listing
        XCTAssertEqual(truncate(path, off_t(contents.end - 5)), 0)
        let loaded = file.load(uidValidity: 9)
        XCTAssertNil(loaded.known)
        XCTAssertEqual(loaded.offsets.count, 19)
        var view = loaded
        append([21], &view)
        let after = file.load(uidValidity: 9)
        XCTAssertEqual(after.known, after.mark)
        XCTAssertEqual(after.offsets[.search].columns.uids, Array(1...19) + [21])
        XCTAssertEqual(file.read(wanted(after, Array(1...21))), (Array(1...19) + [21]).map(Self.entry))
        // A process that still thinks the file is as before it was cut reads it again.
        let stale = file.append([Self.entry(22)], uidValidity: 9, known: contents.known)
        XCTAssertEqual(stale.contents?.offsets.count, 20)
    }

    /// A file of another UIDVALIDITY (the uidlist was recreated) is started again with
    /// a new generation; its saved offsets are not used for the new one.
    func testAnotherUIDValidityStartsAgain() throws {
        var contents = ListingFile.Contents()
        append(Array(1...5), &contents)
        file.saveOffsets(&contents)
        let old = try XCTUnwrap(contents.header)
        XCTAssertNil(file.load(uidValidity: 10).header)
        var fresh = ListingFile.Contents()
        append([1, 2], &fresh, uidValidity: 10)
        let loaded = file.load(uidValidity: 10)
        XCTAssertNotEqual(loaded.header?.generation, old.generation)
        XCTAssertEqual(loaded.saved, 0)
        XCTAssertEqual(loaded.offsets[.search].columns.uids, [1, 2])
    }

    func testSymlinkAndFIFOAreNeitherFollowedNorBlockedOn() throws {
        let target = directory + "/precious"
        XCTAssertTrue(FileManager.default.createFile(atPath: target, contents: Data("precious".utf8)))
        XCTAssertEqual(symlink(target, directory + "/" + HeaderCacheNames.listing), 0)
        XCTAssertEqual(mkfifo(directory + "/" + HeaderCacheNames.listingOffsets, 0o600), 0)
        XCTAssertNil(file.load(uidValidity: 9).header)
        let appended = file.append([Self.entry(1)], uidValidity: 9, known: nil)
        XCTAssertNil(appended.mark)
        XCTAssertEqual(file.read([(1, 31, 24)]), [nil])
        XCTAssertEqual(try String(contentsOfFile: target, encoding: .utf8), "precious")
    }

    /// Random bytes after a valid header, with real frames among them: the scan stops
    /// at the first thing that is not a whole frame, never crashes, and every offset it
    /// keeps leads to a frame that reads back.
    func testScanOfGarbageKeepsOnlyWholeFrames() throws {
        var rng = SystemRandomNumberGenerator()
        let path = directory + "/" + HeaderCacheNames.listing
        for round in 0..<200 {
            var bytes = ListingFormat.header(ListingFormat.Header(uidValidity: 9, generation: 77))
            for uid in 1...UInt32.random(in: 1...6, using: &rng) {
                _ = ListingFormat.frame(Self.entry(uid), into: &bytes)
            }
            bytes += (0..<Int.random(in: 0...300, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            if round % 3 == 0 {
                // A plausible length in front of the garbage.
                let at = ListingFormat.headerSize
                bytes[at] = UInt8.random(in: 9...60, using: &rng)
            }
            XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data(bytes)))
            let loaded = file.load(uidValidity: 9)
            XCTAssertLessThanOrEqual(loaded.end, bytes.count)
            let uids = loaded.offsets[.search].columns.uids
            let read = file.read(wanted(loaded, uids))
            XCTAssertEqual(read, uids.map(Self.entry), "round \(round)")
        }
    }

    func testCompactionCopiesOnlyTheFramesItIsGiven() throws {
        var contents = ListingFile.Contents()
        append(Array(1...40), &contents)
        file.saveOffsets(&contents)
        // Frames named whatever their name hash, one of them at a wrong offset.
        var keep: [ListingFile.Wanted] = wanted(contents, Array(1...5)).map { ($0.uid, nil, $0.offset) }
        keep.append((6, nil, keep[0].offset))
        let kept = try XCTUnwrap(file.compact(keeping: keep, uidValidity: 9))
        XCTAssertEqual(kept.saved, kept.end)
        let loaded = file.load(uidValidity: 9)
        XCTAssertEqual(loaded.offsets[.search].columns.uids, Array(1...5))
        XCTAssertEqual(loaded.frames, 5)
        XCTAssertEqual(loaded.saved, loaded.end)
        XCTAssertEqual(file.read(wanted(loaded, Array(1...5))), (1...5).map(Self.entry))
        // The old file's offsets lead nowhere in the new one.
        XCTAssertEqual(file.read(wanted(contents, [30])), [nil])
    }
}
