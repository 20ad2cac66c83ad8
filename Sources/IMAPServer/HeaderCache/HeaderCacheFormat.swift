// The byte format of this server's header cache files (`imapd-cache.dates`,
// `imapd-cache.headers`; MAILDIR-FORMATS.md), pure: encoding and decoding only, no I/O.
//
//     file   = header frame*
//     header = magic (8 bytes) version (u32) UIDVALIDITY (u32)          16 bytes
//     frame  = length (u32) crc32 (u32) payload                         length = payload bytes
//     payload= entry+                                                   one append's entries
//
// Integers are little-endian. A frame is one append (one write(2) under flock): a kill -9
// or a power failure can leave its tail torn; the CRC-32 (zlib's) over the payload finds
// that, and everything from the first bad frame on is dropped, never trusted. The same
// UID may appear more than once (a message parsed again after a reload); the last entry
// wins.
import MailMessage
import MaildirStore

enum HeaderCacheFormat {
    /// Which of the two files: each has its own magic and entry layout.
    enum Kind: Sendable {
        /// uid (u32), name hash (u32), Date: (i64, `absentDate` when none): 16 bytes.
        case dates
        /// The dates entry followed by ten optional byte strings (varint length + 1,
        /// 0 for absent): Subject, From mailbox and display name, To's, Cc's,
        /// Message-ID, In-Reply-To, References.
        case headers

        var magic: [UInt8] { Array((self == .dates ? "imapdCD\u{1}" : "imapdCH\u{1}").utf8) }
    }

    static let version: UInt32 = 1
    static let headerSize = 16
    static let frameHeaderSize = 8
    /// A frame larger than this is damage, not data (one append holds at most a
    /// SORT slice of entries, each capped by SortFields).
    static let maxFrameBytes = 64 * 1024 * 1024
    /// Date: absent or unparsable.
    static let absentDate = Int64.min

    /// One cached message: the name hash ties the entry to the file it was read from.
    struct Entry: Sendable, Equatable {
        var uid: UInt32
        var nameHash: UInt32
        var headers: SortHeaders
    }

    // MARK: Writing

    static func fileHeader(_ kind: Kind, uidValidity: UInt32) -> [UInt8] {
        var bytes = kind.magic
        append32(&bytes, version)
        append32(&bytes, uidValidity)
        return bytes
    }

    /// One frame holding `entries`.
    static func frame(_ kind: Kind, _ entries: [Entry]) -> [UInt8] {
        var payload: [UInt8] = []
        payload.reserveCapacity(entries.count * (kind == .dates ? 16 : 160))
        for entry in entries { encode(kind, entry, into: &payload) }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(payload.count + frameHeaderSize)
        append32(&bytes, UInt32(payload.count))
        append32(&bytes, CRC32.of(payload[...]))
        bytes += payload
        return bytes
    }

    static func encode(_ kind: Kind, _ entry: Entry, into bytes: inout [UInt8]) {
        append32(&bytes, entry.uid)
        append32(&bytes, entry.nameHash)
        let date = entry.headers.sentDate ?? absentDate
        append32(&bytes, UInt32(truncatingIfNeeded: date))
        append32(&bytes, UInt32(truncatingIfNeeded: date >> 32))
        guard kind == .headers else { return }
        let h = entry.headers
        let strings: [[UInt8]?] = [
            h.subject.map { Array($0.utf8) }, h.from.map { Array($0.mailbox.utf8) },
            h.from.map { Array($0.displayName.utf8) }, h.to.map { Array($0.mailbox.utf8) },
            h.to.map { Array($0.displayName.utf8) }, h.cc.map { Array($0.mailbox.utf8) },
            h.cc.map { Array($0.displayName.utf8) }, h.messageID, h.inReplyTo, h.references,
        ]
        for string in strings {
            guard let string else {
                bytes.append(0)
                continue
            }
            Varint.append(UInt64(string.count) + 1, to: &bytes)
            bytes += string
        }
    }

    // MARK: Reading

    /// What a file holds: its UIDVALIDITY, the entries of its intact frames in file
    /// order, and where the intact part ends (the file's size when nothing is torn).
    struct Contents: Sendable {
        var uidValidity: UInt32
        var entries: [Entry]
        var validEnd: Int
    }

    /// nil when the file header is not ours (wrong magic or version, too short):
    /// the file is to be started again.
    static func decode(_ kind: Kind, _ bytes: [UInt8]) -> Contents? {
        var entries: [Entry] = []
        guard let (uidValidity, validEnd) = decode(kind, bytes, visit: { entries.append($0) }) else { return nil }
        return Contents(uidValidity: uidValidity, entries: entries, validEnd: validEnd)
    }

    /// The same without collecting: `visit` sees the entries of each intact frame, in
    /// file order (a frame's entries only once the whole frame decoded). Answers the
    /// UIDVALIDITY and where the intact part ends.
    static func decode(_ kind: Kind, _ bytes: [UInt8], visit: (Entry) -> Void) -> (uidValidity: UInt32, validEnd: Int)?
    {
        guard bytes.count >= headerSize, Array(bytes[0..<8]) == kind.magic, read32(bytes, 8) == version else {
            return nil
        }
        var validEnd = headerSize
        var offset = headerSize
        while bytes.count - offset >= frameHeaderSize {
            let length = Int(read32(bytes, offset))
            let start = offset + frameHeaderSize
            guard length > 0, length <= maxFrameBytes, length <= bytes.count - start else { break }
            let payload = bytes[start..<start + length]
            // Checked whole before any entry is made: a frame's entries are seen only
            // when all of it parses, and no array of them is built on the way (a
            // 100,000-message file is read this way after every restart).
            guard CRC32.of(payload) == read32(bytes, offset + 4), isWellFormed(kind, payload) else { break }
            forEachEntry(kind, payload, visit)
            offset = start + length
            validEnd = offset
        }
        return (read32(bytes, 12), validEnd)
    }

    /// The entries of one payload appended to `entries`; false when it does not parse
    /// to its end exactly.
    static func decodeEntries(_ kind: Kind, _ payload: ArraySlice<UInt8>, into entries: inout [Entry]) -> Bool {
        guard isWellFormed(kind, payload) else { return false }
        forEachEntry(kind, payload) { entries.append($0) }
        return true
    }

    /// Whether `payload` is a whole number of entries, parsed to its end exactly
    /// (nothing is allocated: lengths are only skipped).
    static func isWellFormed(_ kind: Kind, _ payload: ArraySlice<UInt8>) -> Bool {
        var reader = Reader(bytes: payload, offset: payload.startIndex)
        let fixed = 16
        while reader.offset < payload.endIndex {
            guard payload.endIndex - reader.offset >= fixed else { return false }
            reader.offset += fixed
            if kind == .headers {
                for _ in 0..<fieldCount { guard reader.skipOptionalBytes() else { return false } }
            }
        }
        return true
    }

    /// The optional byte strings after a headers entry's 16 fixed bytes (Kind.headers).
    static let fieldCount = 10

    /// The entries of a payload `isWellFormed` accepted, in order.
    private static func forEachEntry(_ kind: Kind, _ payload: ArraySlice<UInt8>, _ visit: (Entry) -> Void) {
        var reader = Reader(bytes: payload, offset: payload.startIndex)
        while reader.offset < payload.endIndex {
            guard let uid = reader.u32(), let nameHash = reader.u32(), let low = reader.u32(), let high = reader.u32()
            else { return }
            let date = Int64(bitPattern: UInt64(high) << 32 | UInt64(low))
            var headers = SortHeaders()
            headers.sentDate = date == absentDate ? nil : date
            if kind == .headers {
                // Straight into the fields: no array of the ten strings per entry.
                func text() -> String? { reader.optionalText() ?? nil }
                func address() -> SortAddress? {
                    let mailbox = text()
                    let displayName = text()
                    return mailbox.map { SortAddress(mailbox: $0, displayName: displayName ?? "") }
                }
                headers.subject = text()
                headers.from = address()
                headers.to = address()
                headers.cc = address()
                headers.messageID = reader.optionalBytes() ?? nil
                headers.inReplyTo = reader.optionalBytes() ?? nil
                headers.references = reader.optionalBytes() ?? nil
            }
            visit(Entry(uid: uid, nameHash: nameHash, headers: headers))
        }
    }

    private struct Reader {
        let bytes: ArraySlice<UInt8>
        var offset: Int

        mutating func u32() -> UInt32? {
            guard bytes.endIndex - offset >= 4 else { return nil }
            defer { offset += 4 }
            return HeaderCacheFormat.read32(bytes, offset)
        }

        /// A varint (LEB128) length + 1: the length, `.some(nil)` for 0 (absent), nil
        /// when the varint or the bytes it counts run past the end.
        private mutating func length() -> Int?? {
            guard let value = HeaderCacheFormat.varint(bytes, at: &offset, end: bytes.endIndex) else { return nil }
            if value == 0 { return .some(nil) }
            let count = Int(value - 1)
            guard bytes.endIndex - offset >= count else { return nil }
            return .some(count)
        }

        mutating func skipOptionalBytes() -> Bool {
            guard let count = length() else { return false }
            offset += count ?? 0
            return true
        }

        /// A varint length + 1 and that many bytes; `.some(nil)` for 0 (absent).
        mutating func optionalBytes() -> [UInt8]?? {
            guard let count = length() else { return nil }
            guard let count else { return .some(nil) }
            defer { offset += count }
            return .some(Array(bytes[offset..<offset + count]))
        }

        /// The same as text (UTF-8, repaired as `String(decoding:)` does), made from
        /// the bytes in place.
        mutating func optionalText() -> String?? {
            guard let count = length() else { return nil }
            guard let count else { return .some(nil) }
            defer { offset += count }
            return .some(String(decoding: bytes[offset..<offset + count], as: UTF8.self))
        }
    }

    // MARK: Integers

    static func append32(_ bytes: inout [UInt8], _ value: UInt32) {
        for shift in stride(from: 0, to: 32, by: 8) { bytes.append(UInt8(truncatingIfNeeded: value >> UInt32(shift))) }
    }

    /// A varint (LEB128, at most five bytes) at `offset`, which moves past it; nil
    /// when it runs past `end` or is longer.
    static func varint<C: RandomAccessCollection<UInt8>>(_ bytes: C, at offset: inout Int, end: Int) -> UInt64?
    where C.Index == Int {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard offset < end, shift < 35 else { return nil }
            let byte = bytes[offset]
            offset += 1
            value |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 { return value }
            shift += 7
        }
    }

    static func read32<C: RandomAccessCollection<UInt8>>(_ bytes: C, _ offset: C.Index) -> UInt32
    where C.Index == Int {
        UInt32(bytes[offset]) | UInt32(bytes[offset + 1]) << 8 | UInt32(bytes[offset + 2]) << 16
            | UInt32(bytes[offset + 3]) << 24
    }

    /// FNV-1a of the message's base name: an entry whose hash differs from the file's
    /// name now describes another file (a uidlist rebuilt by another program) and is
    /// not used.
    static func nameHash(_ baseName: String) -> UInt32 {
        // In place when the string is contiguous UTF-8 (names read from disk are): no
        // copy of the string, no reference count (a SORT hashes every message's name).
        func fnv<S: Sequence<UInt8>>(_ bytes: S) -> UInt32 {
            var hash: UInt32 = 0x811C_9DC5
            for byte in bytes { hash = (hash ^ UInt32(byte)) &* 0x0100_0193 }
            return hash
        }
        return baseName.utf8.withContiguousStorageIfAvailable { fnv($0) } ?? fnv(baseName.utf8)
    }
}
