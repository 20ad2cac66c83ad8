// The byte format of the listing cache's two files (MAILDIR-FORMATS.md), pure:
//
// `imapd-cache.listing`, appended to, read by offset:
//
//     file    = header frame*
//     header  = magic "imapdCL\1" version (u32) UIDVALIDITY (u32) generation (u64)   24 bytes
//     frame   = length (u32) crc32 (u32) entry                                  length = entry bytes
//
// A frame holds one message's entry (ListingCodec) of one kind (ListingKind: ENVELOPE
// and BODYSTRUCTURE, or search texts), so a frame read alone by its offset is checked
// alone: its CRC, then its UID and name hash against the message asked for. The same
// UID may have several frames of a kind (the last one written wins). The generation is random,
// new with each file, so offsets saved for one file are never used in another.
//
// `imapd-cache.listing-offsets`, rewritten whole (tmp + rename):
//
//     header  = magic "imapdCO\1" version (u32) UIDVALIDITY (u32) generation (u64)
//               covered (u64) frames (u32) listing count (u32) search count (u32)
//               crc32 (u32)                                                        48 bytes
//     body    = for each kind (ListingKind), its count ×
//               (uid − previous uid (varint), offset − previous offset (zigzag varint))
//
// The CRC covers the header's first 44 bytes and the body: a damaged `covered` would
// send the tail scan into the middle of a frame.
//
// It says where each UID's last frame is among the first `covered` bytes of the listing
// file of that generation (which held `frames` frames). Frames after `covered` (appended
// since the save, or by a process killed before saving) are found by reading the tail.
import MaildirStore

/// Which of a folder's two tables finds a frame. ENVELOPE/BODYSTRUCTURE frames and
/// search-text frames are written and found apart: a SEARCH learning a field appends
/// its texts, not the message's ENVELOPE and BODYSTRUCTURE again.
enum ListingKind: Int, CaseIterable, Sendable {
    case listing = 0
    case search = 1

    init(_ parts: ListingCodec.Parts) { self = parts.contains(.search) ? .search : .listing }

    var parts: ListingCodec.Parts { self == .search ? .search : .listing }
}

/// Each kind's table of UID → frame offset.
struct ListingOffsets: Sendable {
    private var tables = ListingKind.allCases.map { _ in UIDTable<UInt32>() }

    init() {}

    init(_ saved: ListingFormat.Offsets) {
        tables = saved.tables.map { UIDTable(ascending: $0.uids, values: $0.offsets) }
    }

    /// Frames of both kinds found (one per UID and kind).
    var count: Int { tables.reduce(0) { $0 + $1.count } }

    subscript(kind: ListingKind) -> UIDTable<UInt32> { tables[kind.rawValue] }

    mutating func put(_ uid: UInt32, _ offset: UInt32, _ kind: ListingKind) { tables[kind.rawValue].put(uid, offset) }

    mutating func normalize() {
        for index in tables.indices { tables[index].normalize() }
    }

    func lookup(_ uids: some Sequence<UInt32>, _ kind: ListingKind) -> [UInt32?] { tables[kind.rawValue].lookup(uids) }

    var columns: [(uids: [UInt32], offsets: [UInt32])] { tables.map { ($0.columns.uids, $0.columns.values) } }
}

enum ListingFormat {
    static let dataMagic = Array("imapdCL\u{1}".utf8)
    static let offsetsMagic = Array("imapdCO\u{1}".utf8)
    static let version: UInt32 = 1
    static let headerSize = 24
    static let frameHeaderSize = 8
    static let offsetsHeaderSize = 48
    /// An entry larger than this is not cached (a message of thousands of parts is
    /// parsed again instead), and a larger length field is damage.
    static let maxEntryBytes = 1024 * 1024

    struct Header: Equatable {
        var uidValidity: UInt32
        var generation: UInt64
    }

    // MARK: The listing file

    static func header(_ header: Header) -> [UInt8] {
        var bytes = dataMagic
        append32(&bytes, version)
        append32(&bytes, header.uidValidity)
        append64(&bytes, header.generation)
        return bytes
    }

    static func decodeHeader(_ bytes: UnsafeRawBufferPointer) -> Header? {
        guard bytes.count >= headerSize, bytes.prefix(8).elementsEqual(dataMagic), read32(bytes, 8) == version
        else { return nil }
        return Header(uidValidity: read32(bytes, 12), generation: read64(bytes, 16))
    }

    /// A frame of `entry`; nil when the entry is over `maxEntryBytes`.
    static func frame(_ entry: ListingEntry, into bytes: inout [UInt8]) -> Bool {
        precondition(entry.kinds.count == 1, "one kind a frame (ListingEntry.split)")
        var payload: [UInt8] = []
        ListingCodec.encode(entry, into: &payload)
        guard payload.count <= maxEntryBytes else { return false }
        append32(&bytes, UInt32(payload.count))
        append32(&bytes, CRC32.of(payload[...]))
        bytes += payload
        return true
    }

    /// The entry bytes of the frame at the start of `bytes`, and the frame's whole
    /// length; nil when it is incomplete, damaged or too long.
    static func frame(at bytes: UnsafeRawBufferPointer) -> (entry: UnsafeRawBufferPointer, length: Int)? {
        guard bytes.count >= frameHeaderSize else { return nil }
        let length = Int(read32(bytes, 0))
        guard length >= 9, length <= maxEntryBytes, length <= bytes.count - frameHeaderSize else { return nil }
        let entry = UnsafeRawBufferPointer(rebasing: bytes[frameHeaderSize..<frameHeaderSize + length])
        guard CRC32.of(entry) == read32(bytes, 4) else { return nil }
        return (entry, frameHeaderSize + length)
    }

    /// The length field of the frame starting `bytes`, when plausible (for reading a
    /// frame whose first bytes came short).
    static func frameLength(_ bytes: UnsafeRawBufferPointer) -> Int? {
        guard bytes.count >= 4 else { return nil }
        let length = Int(read32(bytes, 0))
        guard length >= 9, length <= maxEntryBytes else { return nil }
        return frameHeaderSize + length
    }

    // MARK: The offsets file

    struct Offsets: Equatable {
        var header: Header
        /// Bytes of the listing file the offsets describe (frames before it).
        var covered: Int
        /// Frames in those bytes (stale ones included: compaction counts them).
        var frames: Int
        /// By `ListingKind.rawValue`: ascending UIDs and their frames' offsets.
        var tables: [(uids: [UInt32], offsets: [UInt32])]

        static func == (a: Offsets, b: Offsets) -> Bool {
            a.header == b.header && a.covered == b.covered && a.frames == b.frames
                && a.tables.elementsEqual(b.tables) { $0.uids == $1.uids && $0.offsets == $1.offsets }
        }
    }

    static func encode(_ o: Offsets) -> [UInt8] {
        var body: [UInt8] = []
        body.reserveCapacity(o.tables.reduce(0) { $0 + $1.uids.count } * 4)
        for table in o.tables {
            var previousUID: UInt32 = 0
            var previousOffset: Int64 = 0
            for (uid, offset) in zip(table.uids, table.offsets) {
                Varint.append(UInt64(uid - previousUID), to: &body)
                Varint.appendZigzag(Int64(offset) - previousOffset, to: &body)
                previousUID = uid
                previousOffset = Int64(offset)
            }
        }
        var bytes = offsetsMagic
        append32(&bytes, version)
        append32(&bytes, o.header.uidValidity)
        append64(&bytes, o.header.generation)
        append64(&bytes, UInt64(o.covered))
        append32(&bytes, UInt32(o.frames))
        for kind in ListingKind.allCases { append32(&bytes, UInt32(o.tables[kind.rawValue].uids.count)) }
        append32(&bytes, CRC32.of((bytes + body)[...]))
        return bytes + body
    }

    /// nil when the file is not ours, torn or damaged (its CRC), or its UIDs do not
    /// ascend.
    static func decodeOffsets(_ bytes: UnsafeRawBufferPointer) -> Offsets? {
        let checkedSize = offsetsHeaderSize - 4
        guard bytes.count >= offsetsHeaderSize, bytes.prefix(8).elementsEqual(offsetsMagic),
            read32(bytes, 8) == version
        else { return nil }
        let body = UnsafeRawBufferPointer(rebasing: bytes[offsetsHeaderSize...])
        let counts = ListingKind.allCases.map { Int(read32(bytes, 36 + 4 * $0.rawValue)) }
        var checked = Array(bytes[0..<checkedSize])
        checked += body
        // Two bytes at least per pair: larger counts are damage.
        guard CRC32.of(checked[...]) == read32(bytes, checkedSize), counts.reduce(0, +) <= body.count / 2 else {
            return nil
        }
        var o = Offsets(
            header: Header(uidValidity: read32(bytes, 12), generation: read64(bytes, 16)),
            covered: Int(clamping: read64(bytes, 24)), frames: Int(read32(bytes, 32)), tables: [])
        var reader = ListingReader(input: body)
        for count in counts {
            var table = (uids: [UInt32](), offsets: [UInt32]())
            table.uids.reserveCapacity(count)
            table.offsets.reserveCapacity(count)
            var uid: UInt64 = 0
            var offset: Int64 = 0
            for index in 0..<count {
                guard let du = try? reader.varint(), let dz = try? reader.varint() else { return nil }
                uid += du
                offset += Varint.unzigzag(dz)
                guard uid <= UInt64(UInt32.max), du > 0 || index == 0, offset >= Int64(headerSize),
                    offset <= Int64(UInt32.max)
                else { return nil }
                table.uids.append(UInt32(uid))
                table.offsets.append(UInt32(offset))
            }
            o.tables.append(table)
        }
        guard reader.isAtEnd else { return nil }
        return o
    }

    // MARK: Integers

    static func append32(_ bytes: inout [UInt8], _ value: UInt32) {
        withUnsafeBytes(of: value.littleEndian) { bytes += $0 }
    }

    static func append64(_ bytes: inout [UInt8], _ value: UInt64) {
        withUnsafeBytes(of: value.littleEndian) { bytes += $0 }
    }

    static func read32(_ bytes: UnsafeRawBufferPointer, _ offset: Int) -> UInt32 {
        bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self).littleEndian
    }

    static func read64(_ bytes: UnsafeRawBufferPointer, _ offset: Int) -> UInt64 {
        bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self).littleEndian
    }
}
