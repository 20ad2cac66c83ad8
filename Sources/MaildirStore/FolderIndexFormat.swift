// The byte format of `imapd-index` (MAILDIR-FORMATS.md): a FolderState written whole, so
// a folder opened after a restart is loaded instead of rebuilt from readdir, the
// uidlist and the modseq log. Pure: encoding and decoding, no I/O (FolderIndex.swift).
//
//     file    = magic(8) version(u32) length(u64) crc32(u32) payload     length = payload bytes
//     payload = uidvalidity(u32) uidlist-header uidlist-file consumed(u64) state-bits(u8)
//               next-uid(u32) highest-exposed-uid(u32) first-recent-uid(u32)
//               cur-mtime new-mtime last-scan-start                       each opt-timestamp
//               modseqs records messages
//
// Integers are little-endian. Everything is checked while reading: a short or damaged
// file (a torn write, a flipped byte) decodes to nil and the caller builds the state
// from the Maildir instead. The CRC catches damage; the bounds checks make sure that
// even a file with a matching CRC cannot make the reader run past its end.

struct FolderIndexFormat {
    static let magic: [UInt8] = Array("IMAPDIX\u{0}".utf8)
    static let version: UInt32 = 2
    /// magic + version + length + crc32.
    static let headerSize = 8 + 4 + 8 + 4

    /// state-bits
    static let partialLineBit: UInt8 = 1 << 0
    static let needsRewriteBit: UInt8 = 1 << 1
    static let forceRescanBit: UInt8 = 1 << 2
    /// A message's flags byte: in new/, and its base name is that of its UID's record.
    static let inNewBit: UInt8 = 1 << 0
    static let recordBaseBit: UInt8 = 1 << 1
    /// Unknown INTERNALDATE or size.
    static let absent: Int64 = -1

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
        out.u32(UInt32(state.records.count))
        for record in state.records {
            out.u32(record.uid)
            out.text(record.fileName)
            out.u8(UInt8(record.fields.count))
            for field in record.fields { out.text(field) }
        }
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

    /// Each message: uid, mod-sequence, INTERNALDATE and sizes (or `absent`), a flags
    /// byte, its base name unless it is its record's, and what follows the base name in
    /// its file name (":2,S" or nothing).
    private static func encodeMessages(_ state: FolderState, into out: inout IndexWriter) -> Bool {
        let digest = state.locations.digest.sums
        out.u64(UInt64(digest.count))
        out.u64(digest.first)
        out.u64(digest.second)
        out.u32(UInt32(state.messages.count))
        var recordIndex = 0
        for (index, message) in state.messages.enumerated() {
            guard let location = state.locations.location(of: message.baseName, messageIndex: index),
                location.name.baseName == message.baseName
            else { return false }
            while recordIndex < state.records.count && state.records[recordIndex].uid < message.uid.rawValue {
                recordIndex += 1
            }
            let record = recordIndex < state.records.count ? state.records[recordIndex] : nil
            let sharesBase = record?.uid == message.uid.rawValue && record?.baseName == message.baseName
            out.u32(message.uid.rawValue)
            out.u64(message.modSeq.rawValue)
            out.i64(message.internalDate ?? absent)
            out.i64(message.physicalSize.map(Int64.init) ?? absent)
            out.i64(message.virtualSize.map(Int64.init) ?? absent)
            out.u8((location.inNew ? inNewBit : 0) | (sharesBase ? recordBaseBit : 0))
            if !sharesBase { out.text(message.baseName) }
            let full = location.name.fileName.utf8
            out.text(full.dropFirst(message.baseName.utf8.count))
        }
        return true
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

    /// Records ascend (as in the uidlist).
    private static func decodeRecords(_ reader: inout IndexReader, into state: inout FolderState) -> Bool {
        guard let count = reader.u32(), Int(count) <= reader.remaining / 7 else { return false }
        state.records.reserveCapacity(Int(count))
        for _ in 0..<count {
            guard let uid = reader.u32(), let (fileName, hasInfoSeparator) = reader.scannedName(),
                let fieldCount = reader.u8()
            else {
                return false
            }
            var fields: [String] = []
            for _ in 0..<fieldCount {
                guard let field = reader.text() else { return false }
                fields.append(field)
            }
            if let last = state.records.last, last.uid >= uid { return false }
            state.records.append(
                UIDListRecord(uid: uid, fields: fields, fileName: fileName, hasInfoSeparator: hasInfoSeparator))
        }
        return true
    }

    private static func decodeMessages(_ reader: inout IndexReader, into state: inout FolderState) -> Bool {
        guard let digestCount = reader.u64(), let first = reader.u64(), let second = reader.u64(),
            let count = reader.u32(), Int(count) <= reader.remaining / 39
        else { return false }
        state.messages.reserveCapacity(Int(count))
        // The files, in message order: the table of names is built when first used.
        var locations = LoadedLocations()
        locations.reserveCapacity(Int(count))
        var recordIndex = 0
        var infos = InfoPalette(keywords: state.keywords)
        for _ in 0..<count {
            guard let uid = reader.u32(), let modSeq = reader.u64(), let date = reader.i64(),
                let physical = reader.i64(), let virtual = reader.i64(), let bits = reader.u8()
            else { return false }
            if let last = state.messages.last, last.uid.rawValue >= uid { return false }
            while recordIndex < state.records.count && state.records[recordIndex].uid < uid { recordIndex += 1 }
            let baseName: String
            if bits & recordBaseBit != 0 {
                guard recordIndex < state.records.count, state.records[recordIndex].uid == uid else { return false }
                baseName = state.records[recordIndex].baseName
            } else {
                guard let own = reader.name() else { return false }
                baseName = own
            }
            guard let info = reader.bytes(), info.isEmpty || info.first == FileNameSyntax.infoSeparator else {
                return false
            }
            let (paletteIndex, flags) = infos.entry(info, palette: &locations)
            locations.append(name: baseName, paletteIndex: paletteIndex, inNew: bits & inNewBit != 0)
            state.messages.append(
                MessageRecord(
                    uid: StoreUID(uid), flags: flags, internalDate: date == absent ? nil : date,
                    physicalSize: physical < 0 ? nil : Int(physical), virtualSize: virtual < 0 ? nil : Int(virtual),
                    baseName: baseName, modSeq: ModSeq(modSeq)))
        }
        state.orphanKeywordIndexes = Set(
            (0..<FlagLetter.keywordCount).filter {
                infos.keywordLetters & (1 << $0) != 0 && state.keywords.name(at: $0) == nil
            })
        // The digest of the names, as saved: a digest of another number of names
        // cannot be theirs.
        guard digestCount == UInt64(locations.count) else { return false }
        state.locations = LocationTable(
            loaded: locations, digest: NameDigest(count: locations.count, first: first, second: second))
        return true
    }
}

/// The distinct info parts (":2,S") of a loaded index's files, each parsed once into a
/// palette entry of LoadedLocations and its flags: a folder's files share a handful.
private struct InfoPalette {
    let keywords: KeywordTable
    private var entries: [(info: [UInt8], paletteIndex: Int, flags: MessageFlags)] = []
    /// Entries by info part, once there are more than a linear search should visit.
    private var byInfo: [[UInt8]: Int] = [:]
    private var last = 0
    /// Bit i set when keyword letter i is on some file.
    private(set) var keywordLetters: UInt32 = 0
    private static let linearLimit = 16

    init(keywords: KeywordTable) { self.keywords = keywords }

    /// The palette index and flags of a file whose name ends in `info` (empty, or ':'
    /// and what follows it).
    mutating func entry(_ info: UnsafeBufferPointer<UInt8>, palette: inout LoadedLocations) -> (Int, MessageFlags) {
        if let index = find(info) {
            last = index
            return (entries[index].paletteIndex, entries[index].flags)
        }
        let name =
            info.isEmpty
            ? MaildirFileName(baseName: "", hasInfo: false) : MaildirFileName(baseName: "", info: info.dropFirst())
        keywordLetters |= FlagLetters.keywordMask(name.letters)
        let flags = keywords.flags(for: FlagLetters(decoding: name.letters))
        entries.append((Array(info), palette.addToPalette(name), flags))
        last = entries.count - 1
        if entries.count > Self.linearLimit { byInfo[entries[last].info] = last }
        if entries.count == Self.linearLimit + 1 {
            for (index, entry) in entries.enumerated() { byInfo[entry.info] = index }
        }
        return (entries[last].paletteIndex, flags)
    }

    private func find(_ info: UnsafeBufferPointer<UInt8>) -> Int? {
        if last < entries.count && entries[last].info.elementsEqual(info) { return last }
        guard entries.count <= Self.linearLimit else { return byInfo[Array(info)] }
        return entries.firstIndex { $0.info.elementsEqual(info) }
    }
}

/// The records' base names and UIDs, read from the records themselves (LazyNameTable).
/// It shares the records' array: FolderState.addRecord changes the table before it
/// appends, so the array is not copied while this still holds it.
struct RecordUIDs: SavedPairs, Sendable {
    let records: [UIDListRecord]
    var count: Int { records.count }
    func name(at index: Int) -> String { records[index].baseName }
    func value(at index: Int) -> UInt32 { records[index].uid }
}
