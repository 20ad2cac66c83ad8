import Foundation
import XCTest

@testable import MaildirStore

/// A message file truncated while it is mapped (issue 11 item 2): reading the pages it
/// lost gives zeros instead of SIGBUS, and the reader's ShrinkProbe says so.
final class TruncationGuardTests: XCTestCase {
    static let size = 3 << 20
    static let page = Int(sysconf(Int32(_SC_PAGESIZE)))

    func openTwoMessages() throws -> (TempMaildir, MessageFile, MessageFile) {
        let maildir = try TempMaildir()
        let body = String(repeating: "x", count: Self.size)
        try maildir.deliver("cur/1700000000.M1P1.host:2,", body)
        try maildir.deliver("cur/1700000001.M2P1.host:2,", body)
        let folder = try maildir.openFolder()
        _ = try folder.synchronize(moveNewToCur: false)
        let first = try XCTUnwrap(try folder.openMessage(StoreUID(1)))
        let second = try XCTUnwrap(try folder.openMessage(StoreUID(2)))
        return (maildir, first, second)
    }

    func testPagesLostToATruncationReadAsZerosAndTheProbeSaysSo() throws {
        let (maildir, first, second) = try openTwoMessages()
        defer {
            first.close()
            second.close()
        }
        let path = maildir.path("cur/1700000000.M1P1.host:2,")
        let (before, sum, after, other) = try first.withMappedBytes {
            raw, probe -> (Bool, Int, Bool, Bool) in
            try second.withMappedBytes { _, otherProbe in
                let before = probe.fileShrank
                XCTAssertEqual(truncate(path, off_t(Self.page)), 0)
                // Every page touched: the first still holds the file's bytes, the rest
                // are gone from the file.
                var sum = 0
                for offset in stride(from: 0, to: raw.count, by: Self.page) { sum += Int(raw[offset]) }
                return (before, sum, probe.fileShrank, otherProbe.fileShrank)
            }
        }
        XCTAssertFalse(before)
        XCTAssertTrue(after)
        XCTAssertEqual(sum, Int(UInt8(ascii: "x")))
        XCTAssertFalse(other, "another mapping is not affected")
        // The slot is free again: a new mapping of an intact file reports nothing.
        let intact = try second.withMappedBytes { raw, probe in (raw.count, probe.fileShrank) }
        XCTAssertEqual(intact.0, Self.size)
        XCTAssertFalse(intact.1)
    }

    /// imapd-index is mapped with every page read in at once (MAP_POPULATE): a
    /// truncation still takes the pages away, and they still read as zeros.
    func testAPopulatedMappingIsGuardedToo() throws {
        let maildir = try TempMaildir()
        let path = maildir.path("imapd-index")
        XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data(repeating: 7, count: Self.size)))
        let fd = open(path, O_RDONLY)
        XCTAssertGreaterThanOrEqual(fd, 0)
        defer { close(fd) }
        let (before, sum, after) = try GuardedMapping.withMapping(
            fd: fd, length: Self.size, expected: Self.size, path: path, populate: true
        ) { raw, probe -> (Bool, Int, Bool) in
            let before = probe.fileShrank
            XCTAssertEqual(truncate(path, off_t(Self.page)), 0)
            var sum = 0
            for offset in stride(from: 0, to: raw.count, by: Self.page) { sum += Int(raw[offset]) }
            return (before, sum, probe.fileShrank)
        }
        XCTAssertFalse(before)
        XCTAssertEqual(sum, 7, "the first page kept, the rest zeros")
        XCTAssertTrue(after)
    }

    func testAFileAlreadyShorterThanWhenOpenedIsReported() throws {
        let (maildir, first, second) = try openTwoMessages()
        defer {
            first.close()
            second.close()
        }
        XCTAssertEqual(truncate(maildir.path("cur/1700000000.M1P1.host:2,"), 100), 0)
        let (count, shrank) = try first.withMappedBytes { raw, probe in (raw.count, probe.fileShrank) }
        XCTAssertEqual(count, 100)
        XCTAssertTrue(shrank)
    }
}
