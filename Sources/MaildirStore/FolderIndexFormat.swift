// The byte format of `imapd-index` (MAILDIR-FORMATS.md): a FolderState written whole, so
// a folder opened after a restart is loaded instead of rebuilt from readdir, the
// uidlist and the modseq log. Pure: encoding and decoding, no I/O (FolderIndex.swift).
//
//     file    = magic(8) version(u32) length(u64) crc32(u32) payload     length = payload bytes
//     payload = uidvalidity(u32) uidlist-header uidlist-file consumed(u64) state-bits(u8)
//               next-uid(u32) highest-exposed-uid(u32) first-recent-uid(u32)
//               cur-mtime new-mtime last-scan-start                       each opt-timestamp
//               modseqs records messages            (FolderIndexMessages.swift)
//
// Integers are little-endian, varints LEB128 (FolderIndexCoding.swift). Everything is checked while reading: a short or damaged
// file (a torn write, a flipped byte) decodes to nil and the caller builds the state
// from the Maildir instead. The CRC catches damage; the bounds checks make sure that
// even a file with a matching CRC cannot make the reader run past its end.

struct FolderIndexFormat {
    static let magic: [UInt8] = Array("IMAPDIX\u{0}".utf8)
    /// 3: varints, and the messages' name endings in a table of their own.
    static let version: UInt32 = 3
    /// magic + version + length + crc32.
    static let headerSize = 8 + 4 + 8 + 4

    /// state-bits
    static let partialLineBit: UInt8 = 1 << 0
    static let needsRewriteBit: UInt8 = 1 << 1
    static let forceRescanBit: UInt8 = 1 << 2
    /// A message's flags byte: in new/; its base name is that of its UID's record; its
    /// INTERNALDATE, physical size and size with CRLF are known (and follow).
    static let inNewBit: UInt8 = 1 << 0
    static let recordBaseBit: UInt8 = 1 << 1
    static let dateBit: UInt8 = 1 << 2
    static let physicalSizeBit: UInt8 = 1 << 3
    static let virtualSizeBit: UInt8 = 1 << 4

    /// The whole file for `state`; nil for a state the format cannot hold (a message
    /// without a file, over 255 fields on a line).
    static func encode(_ state: FolderState) -> [UInt8]? {
        guard state.header.fields.count <= UInt8.max, state.records.allSatisfy({ $0.fields.count <= UInt8.max })
        else { return nil }
        var out = IndexWriter()
        out.reserve(64 * (state.records.count + state.messages.count) + 1024)
        out.u32(state.header.uidValidity)
        encodeHeader(state.header, into: &out)
        out.status(state.uidListFile)
        out.u64(UInt64(state.uidListConsumed))
        var bits: UInt8 = 0
        if state.uidListHasPartialLine { bits |= partialLineBit }
        if state.uidListNeedsRewrite { bits |= needsRewriteBit }
        if state.forceRescan { bits |= forceRescanBit }
        out.u8(bits)
        out.u32(state.nextUID)
        out.u32(state.highestExposedUID)
        out.u32(state.firstRecentUID)
        for stamp in [state.curMtime, state.newMtime, state.lastScanStart] { out.timestamp(stamp) }
        encodeModSeqs(state.modSeqs, into: &out)
        encodeRecords(state.records, into: &out)
        guard encodeMessages(state, into: &out) else { return nil }

        var file = IndexWriter()
        file.reserve(headerSize + out.bytes.count)
        file.bytes += magic
        file.u32(version)
        file.u64(UInt64(out.bytes.count))
        file.u32(CRC32.of(out.bytes[...]))
        file.bytes += out.bytes
        return file.bytes
    }

    private static func encodeHeader(_ header: UIDListHeader, into out: inout IndexWriter) {
        out.u8(UInt8(header.version))
        out.u8(UInt8(header.fields.count))
        for field in header.fields {
            out.u8(field.key)
            out.text(field.value)
        }
    }

    private static func encodeModSeqs(_ modSeqs: ModSeqState, into out: inout IndexWriter) {
        out.u64(modSeqs.highest.rawValue)
        out.u64(modSeqs.floor.rawValue)
        out.status(modSeqs.log.file)
        out.u64(UInt64(modSeqs.log.lineCount))
        out.u64(modSeqs.log.ceiling.rawValue)
        out.u32(UInt32(modSeqs.expunges.count))
        for (uid, modSeq) in modSeqs.expunges {
            out.u32(uid.rawValue)
            out.u64(modSeq.rawValue)
        }
    }

    /// Whether the file's frame is whole and its CRC matches; the payload if so.
    static func payload(of file: UnsafeBufferPointer<UInt8>) -> UnsafeBufferPointer<UInt8>? {
        var reader = IndexReader(file)
        guard let head = reader.take(magic.count), head.elementsEqual(magic), reader.u32() == version,
            let length = reader.u64(), let crc = reader.u32(), length == UInt64(reader.remaining),
            let payload = reader.take(reader.remaining), CRC32.of(payload) == crc
        else { return nil }
        return payload
    }

    /// The same for a file in an array.
    static func payload(of file: [UInt8]) -> ArraySlice<UInt8>? {
        file.withUnsafeBufferPointer { payload(of: $0) } == nil ? nil : file[headerSize...]
    }

    /// The FolderState in `payload`, its messages' flags named by `keywords`; nil when it
    /// does not decode whole.
    static func decode(_ payload: UnsafeBufferPointer<UInt8>, keywords: KeywordTable) -> FolderState? {
        decode(IndexReader(payload), keywords: keywords)
    }

    static func decode(_ payload: ArraySlice<UInt8>, keywords: KeywordTable) -> FolderState? {
        payload.withUnsafeBufferPointer { decode(IndexReader($0), keywords: keywords) }
    }

    private static func decode(_ reader: IndexReader, keywords: KeywordTable) -> FolderState? {
        var reader = reader
        guard let uidValidity = reader.u32(), let header = decodeHeader(&reader),
            header.uidValidity == uidValidity, let uidListFile = reader.status(), let consumed = reader.u64(),
            let bits = reader.u8(), let nextUID = reader.u32(), let highestExposed = reader.u32(),
            let firstRecent = reader.u32(), let curMtime = reader.timestamp(), let newMtime = reader.timestamp(),
            let lastScanStart = reader.timestamp(), let modSeqs = decodeModSeqs(&reader)
        else { return nil }
        var state = FolderState(header: header)
        state.uidListFile = uidListFile
        state.uidListConsumed = Int(clamping: consumed)
        state.uidListHasPartialLine = bits & partialLineBit != 0
        state.uidListNeedsRewrite = bits & needsRewriteBit != 0
        state.forceRescan = bits & forceRescanBit != 0
        state.nextUID = nextUID
        state.highestExposedUID = highestExposed
        state.firstRecentUID = firstRecent
        state.curMtime = curMtime
        state.newMtime = newMtime
        state.lastScanStart = lastScanStart
        state.modSeqs = modSeqs
        state.keywords = keywords
        guard decodeRecords(&reader, into: &state), decodeMessages(&reader, into: &state), reader.isAtEnd else {
            return nil
        }
        // Base name → UID of the records, built when first used (LazyNameTable).
        state.recordUIDs = LazyNameTable(loaded: RecordUIDs(records: state.records))
        return state
    }

    private static func decodeHeader(_ reader: inout IndexReader) -> UIDListHeader? {
        guard let version = reader.u8(), let count = reader.u8() else { return nil }
        var fields: [UIDListHeaderField] = []
        for _ in 0..<count {
            guard let key = reader.u8(), let value = reader.text() else { return nil }
            fields.append(UIDListHeaderField(key: key, value: value))
        }
        return UIDListHeader(version: Int(version), fields: fields)
    }

    private static func decodeModSeqs(_ reader: inout IndexReader) -> ModSeqState? {
        guard let highest = reader.u64(), let floor = reader.u64(), let file = reader.status(),
            let lineCount = reader.u64(), let ceiling = reader.u64(), let count = reader.u32(),
            Int(count) <= reader.remaining / 12
        else { return nil }
        var modSeqs = ModSeqState(start: ModSeq(highest))
        modSeqs.floor = ModSeq(floor)
        modSeqs.expunges.reserveCapacity(Int(count))
        for _ in 0..<count {
            guard let uid = reader.u32(), let modSeq = reader.u64() else { return nil }
            modSeqs.expunges.append((StoreUID(uid), ModSeq(modSeq)))
        }
        modSeqs.log = ModSeqLogPosition(
            file: file, lineCount: Int(clamping: lineCount), ceiling: ModSeq(ceiling), needsRewrite: false)
        return modSeqs
    }
}
