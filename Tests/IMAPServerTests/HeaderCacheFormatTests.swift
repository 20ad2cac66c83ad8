import Foundation
import IMAPProtocol
import MailMessage
import MaildirStore
import XCTest

@testable import IMAPServer

/// The byte formats of the header cache's files (HeaderCacheFormat, ThreadCacheFormat),
/// without a server: round trips, and damage that must be refused, never trusted and
/// never trap.
final class HeaderCacheFormatTests: XCTestCase {
    func testFormatRoundTripAndTornFrames() throws {
        var headers = SortHeaders()
        headers.subject = "Re: café"
        headers.from = SortAddress(mailbox: "a", displayName: "Ä B")
        headers.cc = SortAddress(mailbox: "", displayName: "")
        headers.sentDate = -5
        headers.references = Array("<x@y> <z@w>".utf8)
        headers.messageID = []
        let entries = [
            HeaderCacheFormat.Entry(uid: 7, nameHash: 42, headers: headers),
            HeaderCacheFormat.Entry(uid: 9, nameHash: 1, headers: SortHeaders()),
        ]
        let header = HeaderCacheFormat.fileHeader(.headers, uidValidity: 1234)
        let file = header + HeaderCacheFormat.frame(.headers, entries) + HeaderCacheFormat.frame(.headers, [entries[1]])
        let decoded = try XCTUnwrap(HeaderCacheFormat.decode(.headers, file))
        XCTAssertEqual(decoded.uidValidity, 1234)
        XCTAssertEqual(decoded.entries, entries + [entries[1]])
        XCTAssertEqual(decoded.validEnd, file.count)
        // Every cut inside the last frame leaves exactly the first one.
        let firstEnd = header.count + HeaderCacheFormat.frame(.headers, entries).count
        for cut in firstEnd..<file.count {
            let torn = try XCTUnwrap(HeaderCacheFormat.decode(.headers, Array(file[..<cut])))
            XCTAssertEqual(torn.entries, entries)
            XCTAssertEqual(torn.validEnd, firstEnd)
        }
        XCTAssertNil(HeaderCacheFormat.decode(.dates, file))
        let dates = HeaderCacheFormat.fileHeader(.dates, uidValidity: 1) + HeaderCacheFormat.frame(.dates, entries)
        XCTAssertEqual(dates.count, HeaderCacheFormat.headerSize + HeaderCacheFormat.frameHeaderSize + 2 * 16)
        XCTAssertEqual(HeaderCacheFormat.decode(.dates, dates)?.entries.map(\.headers.sentDate), [-5, nil])
    }

    /// A thread file of a few messages: what the header cache would save.
    private func threadFile() -> (bytes: [UInt8], uids: [UInt32], entries: [ThreadEntry], ids: Threading.IDTable) {
        var ids = Threading.IDTable()
        let fields: [(String?, String?, String?, String?)] = [
            ("Hello", "<a@x>", nil, nil), ("Re: Hello", "<b@x>", "<a@x>", "<a@x>"), (nil, nil, "<b@x> <c@x>", nil),
            ("[list] Fwd: other", "<d@x>", nil, "<a@x> <b@x> <zz@x>"),
        ]
        var entries: [ThreadEntry] = []
        for (n, (subject, id, inReplyTo, references)) in fields.enumerated() {
            let keys = ids.keys(
                subject: subject, messageID: id.map { Array($0.utf8) }, inReplyTo: inReplyTo.map { Array($0.utf8) },
                references: references.map { Array($0.utf8) })
            entries.append(
                ThreadEntry(
                    nameHash: UInt32(n * 7), date: n == 2 ? HeaderCacheFormat.absentDate : Int64(-n), keys: keys))
        }
        let uids: [UInt32] = [3, 4, 9, 70_000]
        let source = HeaderCacheFile.Mark(device: 1, inode: 2, size: 3, mtimeSeconds: -4, mtimeNanoseconds: 5)
        let bytes = ThreadCacheFormat.encode(
            uidValidity: 77, source: source, headersFileEntries: 6, uids: uids, entries: entries, ids: ids)
        return (bytes, uids, entries, ids)
    }

    /// An append to a file torn since this process saw it reads the file again under
    /// the lock and keeps its intact frames: only the torn one is cut off. (The append
    /// opened the file write-only, so that read failed and the whole file was started
    /// again.)
    func testAppendAfterATornTailKeepsTheIntactFrames() throws {
        let directory = NSTemporaryDirectory() + "imapd-headers-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let file = HeaderCacheFile(kind: .dates, path: directory + "/" + HeaderCacheNames.dates, maxBytes: 1 << 20)
        let entries = (1...3).map { HeaderCacheFormat.Entry(uid: $0, nameHash: $0, headers: SortHeaders()) }
        let first = file.append(Array(entries[0..<2]), uidValidity: 5, known: nil)
        let second = file.append([entries[2]], uidValidity: 5, known: first.mark)
        let size = try XCTUnwrap(second.mark?.size)
        XCTAssertEqual(truncate(file.path, off_t(size - 3)), 0)
        let fourth = HeaderCacheFormat.Entry(uid: 4, nameHash: 4, headers: SortHeaders())
        let third = file.append([fourth], uidValidity: 5, known: second.mark)
        XCTAssertEqual(third.reloaded, Array(entries[0..<2]))
        let bytes = try XCTUnwrap(FileManager.default.contents(atPath: file.path))
        let contents = try XCTUnwrap(HeaderCacheFormat.decode(.dates, Array(bytes)))
        XCTAssertEqual(contents.entries, Array(entries[0..<2]) + [fourth])
        XCTAssertEqual(contents.validEnd, bytes.count)
    }

    func testThreadFileRoundTrip() throws {
        let (bytes, uids, entries, ids) = threadFile()
        let decoded = try XCTUnwrap(ThreadCacheFormat.decode(bytes))
        XCTAssertEqual(decoded.uidValidity, 77)
        XCTAssertEqual(
            decoded.source,
            HeaderCacheFile.Mark(device: 1, inode: 2, size: 3, mtimeSeconds: -4, mtimeNanoseconds: 5))
        XCTAssertEqual(decoded.headersFileEntries, 6)
        XCTAssertEqual(decoded.uids, uids)
        XCTAssertEqual(decoded.entries.map(\.nameHash), entries.map(\.nameHash))
        XCTAssertEqual(decoded.entries.map(\.date), entries.map(\.date))
        XCTAssertEqual(decoded.ids.ids, ids.ids)
        XCTAssertEqual(decoded.ids.subjects, ids.subjects)
        for (got, was) in zip(decoded.entries, entries) {
            XCTAssertEqual(got.keys.ownID, was.keys.ownID)
            XCTAssertEqual(got.keys.subject, was.keys.subject)
            XCTAssertEqual(got.keys.replyOrForward, was.keys.replyOrForward)
            XCTAssertEqual(Array(decoded.ids.references(got.keys)), Array(ids.references(was.keys)))
        }
        // Threading the decoded table answers as threading the original.
        let items = { (table: [ThreadEntry]) in
            zip(uids, table).map { Threading.Item(number: $0, sentDate: $1.date, keys: $1.keys) }
        }
        for algorithm in [ThreadAlgorithm.references, .refs, .orderedSubject] {
            XCTAssertEqual(
                Threading.thread(items(decoded.entries), ids: decoded.ids, algorithm: algorithm),
                Threading.thread(items(entries), ids: ids, algorithm: algorithm))
        }
        // A table read from the file interns new messages after the ones it holds.
        var grown = decoded.ids
        let keys = grown.keys(
            subject: "hello", messageID: Array("<new@x>".utf8), inReplyTo: nil, references: Array("<b@x>".utf8))
        XCTAssertEqual(keys.subject, entries[0].keys.subject)
        XCTAssertEqual(keys.ownID, Int32(ids.idCount))
        XCTAssertEqual(Array(grown.references(keys)), [entries[1].keys.ownID])
    }

    /// Every cut and every changed byte is refused (the CRC), and without the CRC
    /// the decoder's own bounds refuse or accept, never trap.
    func testDamagedThreadFilesAreRefused() throws {
        let (bytes, _, _, _) = threadFile()
        for cut in 0..<bytes.count { XCTAssertNil(ThreadCacheFormat.decode(Array(bytes[..<cut])), "cut \(cut)") }
        XCTAssertNil(ThreadCacheFormat.decode(bytes + [0]))
        let body = bytes.count - 4
        for index in 0..<bytes.count {
            for mask: UInt8 in [0x01, 0x80, 0xFF] {
                var damaged = bytes
                damaged[index] ^= mask
                XCTAssertNil(ThreadCacheFormat.decode(damaged), "byte \(index) ^ \(mask)")
                // The same damage with the CRC made right again: only the bounds stand.
                var resealed = Array(damaged[..<body])
                HeaderCacheFormat.append32(&resealed, CRC32.of(resealed[...]))
                if let contents = ThreadCacheFormat.decode(resealed) {
                    for entry in contents.entries {
                        XCTAssertLessThan(Int(entry.keys.ownID), contents.ids.idCount)
                        XCTAssertLessThan(Int(entry.keys.subject), contents.ids.subjects.count)
                        XCTAssertTrue(contents.ids.references(entry.keys).allSatisfy { Int($0) < contents.ids.idCount })
                    }
                }
            }
        }
    }
}
