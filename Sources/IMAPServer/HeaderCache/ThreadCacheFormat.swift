// The byte format of `imapd-cache.threads` (MAILDIR-FORMATS.md), pure: what THREAD
// derives from `imapd-cache.headers` (Threading.Keys and their IDTable), saved so that
// the first THREAD after a restart reads numbers instead of deriving them again from
// every message's Subject, Message-ID and References.
//
//     file    = header source counts entry* reference* id* subject* crc32
//     header  = magic (8 bytes) version (u32) UIDVALIDITY (u32)           16 bytes
//     source  = device (u64) inode (u64) size (u64) mtime s (i64) ns (u32) 36 bytes
//     counts  = entries, references, ids, subjects, headers-file entries   5 × u32
//     entry   = uid (u32) name hash (u32) Date: (i64) own id (i32)
//               subject (u32) reference count (u32, bit 31: reply or forward)  28 bytes
//     reference = id number (u32); each entry's in turn, in entry order
//     id, subject = varint length, bytes
//
// Integers are little-endian; the CRC-32 (zlib's) covers every byte before it. The
// file describes one state of the headers file, named by `source`: when that file is
// not exactly the one described (another size, inode or mtime), or the CRC or any
// bound fails, the thread file is not used and the keys are derived again.
import MaildirStore

enum ThreadCacheFormat {
    static let magic = Array("imapdCT\u{1}".utf8)
    static let version: UInt32 = 1
    static let headerSize = 16
    static let sourceSize = 36
    static let countsSize = 20
    static let entrySize = 28
    private static let replyOrForwardBit: UInt32 = 1 << 31

    /// What a thread file holds.
    struct Contents: Sendable {
        var uidValidity: UInt32
        /// The headers file it was derived from, as stat(2) saw it.
        var source: HeaderCacheFile.Mark
        /// Entries of the headers file, stale ones included (for its compaction).
        var headersFileEntries: Int
        var uids: [UInt32]
        var entries: [ThreadEntry]
        var ids: Threading.IDTable
    }

    // MARK: Writing

    /// The file for `entries` (ascending UIDs), whose keys are numbers of `ids`. Each
    /// entry's references are written out in turn, so the reference list is written
    /// without the ranges of entries no longer held.
    static func encode(
        uidValidity: UInt32, source: HeaderCacheFile.Mark, headersFileEntries: Int,
        uids: [UInt32], entries: [ThreadEntry], ids: Threading.IDTable
    ) -> [UInt8] {
        var bytes = magic
        put32(&bytes, version)
        put32(&bytes, uidValidity)
        put64(&bytes, source.device)
        put64(&bytes, source.inode)
        put64(&bytes, UInt64(source.size))
        put64(&bytes, UInt64(bitPattern: source.mtimeSeconds))
        put32(&bytes, source.mtimeNanoseconds)
        let referenceCount = entries.reduce(0) { $0 + Int($1.keys.referenceCount) }
        for count in [entries.count, referenceCount, ids.ids.count, ids.subjects.count, headersFileEntries] {
            put32(&bytes, UInt32(count))
        }
        bytes.reserveCapacity(bytes.count + entries.count * (entrySize + 40))
        for (uid, entry) in zip(uids, entries) {
            put32(&bytes, uid)
            put32(&bytes, entry.nameHash)
            put64(&bytes, UInt64(bitPattern: entry.date))
            put32(&bytes, UInt32(bitPattern: entry.keys.ownID))
            put32(&bytes, UInt32(bitPattern: entry.keys.subject))
            put32(&bytes, UInt32(entry.keys.referenceCount) | (entry.keys.replyOrForward ? replyOrForwardBit : 0))
        }
        for entry in entries {
            for reference in ids.references(entry.keys) { put32(&bytes, UInt32(bitPattern: reference)) }
        }
        for text in ids.ids + ids.subjects {
            Varint.append(UInt64(text.count), to: &bytes)
            bytes += text
        }
        put32(&bytes, CRC32.of(bytes[...]))
        return bytes
    }

    // MARK: Reading

    /// The file's contents, or nil when it is not whole and consistent: wrong magic or
    /// version, a CRC or length that does not match, UIDs not ascending, or a number
    /// beyond its table. Never traps on any input.
    static func decode(_ bytes: [UInt8]) -> Contents? {
        let fixed = headerSize + sourceSize + countsSize
        guard bytes.count >= fixed + 4, Array(bytes[0..<8]) == magic, read32(bytes, 8) == version else { return nil }
        let body = bytes.count - 4
        guard CRC32.of(bytes[0..<body]) == read32(bytes, body) else { return nil }
        var reader = Reader(bytes: bytes, offset: 12, end: body)
        let uidValidity = reader.u32()
        let (device, inode, size) = (reader.u64(), reader.u64(), reader.u64())
        guard let size = Int(exactly: size) else { return nil }
        let source = HeaderCacheFile.Mark(
            device: device, inode: inode, size: size, mtimeSeconds: Int64(bitPattern: reader.u64()),
            mtimeNanoseconds: reader.u32())
        let counts = (0..<5).map { _ in Int(reader.u32()) }
        let (entryCount, referenceCount, idCount, subjectCount) = (counts[0], counts[1], counts[2], counts[3])
        // Fixed-size parts first: counts that claim more than the file holds end here,
        // before anything is allocated for them.
        guard entryCount <= (body - reader.offset) / entrySize,
            referenceCount <= (body - reader.offset - entryCount * entrySize) / 4,
            idCount + subjectCount <= body - reader.offset - entryCount * entrySize - referenceCount * 4
        else { return nil }
        guard let (uids, entries) = decodeEntries(&reader, count: entryCount, idCount: idCount, subjects: subjectCount)
        else { return nil }
        var references: [Int32] = []
        references.reserveCapacity(referenceCount)
        for _ in 0..<referenceCount {
            let number = reader.u32()
            guard number < idCount else { return nil }
            references.append(Int32(number))
        }
        guard entries.last.map({ Int($0.keys.referenceStart + $0.keys.referenceCount) }) ?? 0 == referenceCount,
            let ids = reader.texts(idCount), let subjects = reader.texts(subjectCount), reader.offset == body
        else { return nil }
        return Contents(
            uidValidity: uidValidity, source: source, headersFileEntries: counts[4], uids: uids, entries: entries,
            ids: Threading.IDTable(ids: ids, subjects: subjects, referenceList: references))
    }

    private static func decodeEntries(_ reader: inout Reader, count: Int, idCount: Int, subjects: Int) -> (
        [UInt32], [ThreadEntry]
    )? {
        var uids: [UInt32] = []
        var entries: [ThreadEntry] = []
        uids.reserveCapacity(count)
        entries.reserveCapacity(count)
        var referenceStart = 0
        for _ in 0..<count {
            let uid = reader.u32()
            let nameHash = reader.u32()
            let date = Int64(bitPattern: reader.u64())
            let ownID = Int32(bitPattern: reader.u32())
            let subject = reader.u32()
            let packed = reader.u32()
            let references = Int(packed & ~replyOrForwardBit)
            guard uids.last.map({ $0 < uid }) ?? true, ownID >= -1, Int(ownID) < idCount, Int(subject) < subjects,
                references <= Int(Int32.max) - referenceStart
            else { return nil }
            let keys = Threading.Keys(
                ownID: ownID, referenceStart: Int32(referenceStart), referenceCount: Int32(references),
                subject: Int32(subject), replyOrForward: packed & replyOrForwardBit != 0)
            uids.append(uid)
            entries.append(ThreadEntry(nameHash: nameHash, date: date, keys: keys))
            referenceStart += references
        }
        return (uids, entries)
    }

    /// Reads within `offset..<end`; the caller checked the fixed-size parts fit.
    private struct Reader {
        let bytes: [UInt8]
        var offset: Int
        let end: Int

        mutating func u32() -> UInt32 {
            defer { offset += 4 }
            return read32(bytes, offset)
        }

        mutating func u64() -> UInt64 {
            let low = UInt64(u32())
            return low | UInt64(u32()) << 32
        }

        /// `count` varint-length byte strings; nil when one runs past the end.
        mutating func texts(_ count: Int) -> [[UInt8]]? {
            var texts: [[UInt8]] = []
            texts.reserveCapacity(count)
            for _ in 0..<count {
                guard let length = HeaderCacheFormat.varint(bytes, at: &offset, end: end),
                    length <= UInt64(end - offset)
                else { return nil }
                texts.append(Array(bytes[offset..<offset + Int(length)]))
                offset += Int(length)
            }
            return texts
        }
    }

    private static func read32(_ bytes: [UInt8], _ offset: Int) -> UInt32 {
        HeaderCacheFormat.read32(bytes, offset)
    }

    private static func put32(_ bytes: inout [UInt8], _ value: UInt32) {
        HeaderCacheFormat.append32(&bytes, value)
    }

    private static func put64(_ bytes: inout [UInt8], _ value: UInt64) {
        put32(&bytes, UInt32(truncatingIfNeeded: value))
        put32(&bytes, UInt32(truncatingIfNeeded: value >> 32))
    }
}

/// What a THREAD reads of one cached message: no text, nothing to retain.
struct ThreadEntry: Sendable, Equatable {
    /// HeaderCacheFormat.nameHash of the file it was read from.
    var nameHash: UInt32
    /// Date:, `HeaderCacheFormat.absentDate` when none.
    var date: Int64
    var keys: Threading.Keys
}
