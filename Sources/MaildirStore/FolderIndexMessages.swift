// The records and messages of `imapd-index` (FolderIndexFormat): the part that grows
// with the folder, so it is kept small (56 bytes a message on the benchmark spool, where
// version 2 took 96) and quick to read:
//
//     records  = count(varint) record*
//     record   = uid-delta(varint) name(text) field-count(u8) field(text)*
//     messages = digest-count(u64) digest-first(u64) digest-second(u64)
//                ending-count(varint) ending(text)*  message-count(varint) message*
//     message  = uid-delta(varint) bits(u8) modseq-delta(zigzag)
//                [date-delta(zigzag)] [physical(varint)] [virtual-minus-physical(zigzag)]
//                ending(varint) [base-name(text)]
//
// UIDs ascend, each written as its distance from the one before (≥ 1). Mod-sequences
// and INTERNALDATEs are written as their distance from the previous message's (the
// date from the previous known one); the bits say which of date and sizes are known.
// An ending is what follows the base name in a file name (":2,S", or nothing): a
// folder's files share a handful, so each is written once and parsed once, and a
// message names its ending by number. The base name is written only when it is not the
// name of the record of the same UID (a v3 uidlist's names are base names).
extension FolderIndexFormat {
    static func encodeRecords(_ records: [UIDListRecord], into out: inout IndexWriter) {
        out.varint(UInt64(records.count))
        var previous: UInt32 = 0
        for record in records {
            out.varint(UInt64(record.uid &- previous))
            previous = record.uid
            out.text(record.fileName)
            out.u8(UInt8(record.fields.count))
            for field in record.fields { out.text(field) }
        }
    }

    static func encodeMessages(_ state: FolderState, into out: inout IndexWriter) -> Bool {
        let digest = state.locations.digest.sums
        out.u64(UInt64(digest.count))
        out.u64(digest.first)
        out.u64(digest.second)
        // The endings first, numbered in the order met.
        var endings = EndingTable()
        var messageEndings: [(number: Int, inNew: Bool)] = []
        messageEndings.reserveCapacity(state.messages.count)
        for (index, message) in state.messages.enumerated() {
            guard let location = state.locations.location(of: message.baseName, messageIndex: index),
                location.name.baseName == message.baseName
            else { return false }
            messageEndings.append((endings.number(of: location.name), location.inNew))
        }
        out.varint(UInt64(endings.endings.count))
        for ending in endings.endings { out.text(ending.fileName) }

        out.varint(UInt64(state.messages.count))
        var recordIndex = 0
        var previousUID: UInt32 = 0
        var previousModSeq: UInt64 = 0
        var previousDate: Int64 = 0
        for (index, message) in state.messages.enumerated() {
            let uid = message.uid.rawValue
            while recordIndex < state.records.count && state.records[recordIndex].uid < uid { recordIndex += 1 }
            let sharesBase =
                recordIndex < state.records.count && state.records[recordIndex].uid == uid
                && state.records[recordIndex].baseName == message.baseName
            var bits: UInt8 = messageEndings[index].inNew ? inNewBit : 0
            if sharesBase { bits |= recordBaseBit }
            if message.internalDate != nil { bits |= dateBit }
            if message.physicalSize != nil { bits |= physicalSizeBit }
            if message.virtualSize != nil { bits |= virtualSizeBit }
            out.varint(UInt64(uid &- previousUID))
            previousUID = uid
            out.u8(bits)
            out.zigzag(Int64(bitPattern: message.modSeq.rawValue &- previousModSeq))
            previousModSeq = message.modSeq.rawValue
            if let date = message.internalDate {
                out.zigzag(date &- previousDate)
                previousDate = date
            }
            if let physical = message.physicalSize { out.varint(UInt64(clamping: physical)) }
            if let virtual = message.virtualSize { out.zigzag(Int64(virtual) - Int64(message.physicalSize ?? 0)) }
            out.varint(UInt64(messageEndings[index].number))
            if !sharesBase { out.text(message.baseName) }
        }
        return true
    }

    /// Records ascend (as in the uidlist).
    static func decodeRecords(_ reader: inout IndexReader, into state: inout FolderState) -> Bool {
        guard let count = reader.varint(), count <= UInt64(reader.remaining / 4) else { return false }
        state.records.reserveCapacity(Int(count))
        var uid: UInt32 = 0
        for _ in 0..<count {
            guard let delta = reader.varint(), delta >= 1, delta <= UInt64(UInt32.max - uid),
                let (fileName, hasInfoSeparator) = reader.scannedName(), let fieldCount = reader.u8()
            else { return false }
            uid += UInt32(delta)
            var fields: [String] = []
            for _ in 0..<fieldCount {
                guard let field = reader.text() else { return false }
                fields.append(field)
            }
            state.records.append(
                UIDListRecord(uid: uid, fields: fields, fileName: fileName, hasInfoSeparator: hasInfoSeparator))
        }
        return true
    }

    static func decodeMessages(_ reader: inout IndexReader, into state: inout FolderState) -> Bool {
        guard let digestCount = reader.u64(), let first = reader.u64(), let second = reader.u64(),
            var locations = decodeEndings(&reader, keywords: state.keywords),
            let count = reader.varint(), count <= UInt64(reader.remaining / 4)
        else { return false }
        state.messages.reserveCapacity(Int(count))
        locations.files.reserveCapacity(Int(count))
        var recordIndex = 0
        var uid: UInt32 = 0
        var modSeq: UInt64 = 0
        var date: Int64 = 0
        for _ in 0..<count {
            guard let uidDelta = reader.varint(), uidDelta >= 1, uidDelta <= UInt64(UInt32.max - uid),
                let bits = reader.u8(), let modSeqDelta = reader.zigzag()
            else { return false }
            uid += UInt32(uidDelta)
            modSeq = modSeq &+ UInt64(bitPattern: modSeqDelta)
            var internalDate: Int64?
            if bits & dateBit != 0 {
                guard let delta = reader.zigzag() else { return false }
                date = date &+ delta
                internalDate = date
            }
            var physicalSize: Int?
            if bits & physicalSizeBit != 0 {
                guard let physical = reader.varint(), physical <= UInt64(Int.max) else { return false }
                physicalSize = Int(physical)
            }
            var virtualSize: Int?
            if bits & virtualSizeBit != 0 {
                guard let delta = reader.zigzag() else { return false }
                let (virtual, overflow) = Int64(physicalSize ?? 0).addingReportingOverflow(delta)
                guard !overflow, virtual >= 0 else { return false }
                virtualSize = Int(virtual)
            }
            guard let ending = reader.varint(), ending < UInt64(locations.endings.count) else { return false }
            while recordIndex < state.records.count && state.records[recordIndex].uid < uid { recordIndex += 1 }
            let baseName: String
            if bits & recordBaseBit != 0 {
                guard recordIndex < state.records.count, state.records[recordIndex].uid == uid else { return false }
                baseName = state.records[recordIndex].baseName
            } else {
                guard let own = reader.name() else { return false }
                baseName = own
            }
            let (paletteIndex, flags) = locations.endings[Int(ending)]
            locations.files.append(name: baseName, paletteIndex: paletteIndex, inNew: bits & inNewBit != 0)
            state.messages.append(
                MessageRecord(
                    uid: StoreUID(uid), flags: flags, internalDate: internalDate, physicalSize: physicalSize,
                    virtualSize: virtualSize, baseName: baseName, modSeq: ModSeq(modSeq)))
        }
        state.orphanKeywordIndexes = Set(
            (0..<FlagLetter.keywordCount).filter {
                locations.keywordLetters & (1 << $0) != 0 && state.keywords.name(at: $0) == nil
            })
        // The digest of the names, as saved: a digest of another number of names
        // cannot be theirs.
        guard digestCount == UInt64(locations.files.count) else { return false }
        state.locations = LocationTable(
            loaded: locations.files, digest: NameDigest(count: locations.files.count, first: first, second: second))
        return true
    }

    /// The endings table, each parsed once: its palette entry in the files' table, and
    /// the flags its letters stand for.
    private static func decodeEndings(_ reader: inout IndexReader, keywords: KeywordTable) -> DecodedEndings? {
        guard let count = reader.varint(), count <= UInt64(reader.remaining) else { return nil }
        var decoded = DecodedEndings()
        for _ in 0..<count {
            guard let ending = reader.bytes(), ending.isEmpty || ending.first == FileNameSyntax.infoSeparator,
                !ending.contains(UInt8(ascii: "/")), !ending.contains(0)
            else { return nil }
            let name =
                ending.isEmpty
                ? MaildirFileName(baseName: "", hasInfo: false)
                : MaildirFileName(baseName: "", info: ending.dropFirst())
            decoded.keywordLetters |= FlagLetters.keywordMask(name.letters)
            let flags = keywords.flags(for: FlagLetters(decoding: name.letters))
            decoded.endings.append((decoded.files.addToPalette(name), flags))
        }
        return decoded
    }

    private struct DecodedEndings {
        var files = LoadedLocations()
        /// Each ending's palette index in `files`, and its flags.
        var endings: [(paletteIndex: Int, flags: MessageFlags)] = []
        /// Bit i set when keyword letter i is in some ending.
        var keywordLetters: UInt32 = 0
    }
}

/// The distinct endings of the files being written, each numbered once. Compared field
/// by field with the last one met and then the first few (a folder's files share a
/// handful), by hash past those: no string is made per message.
private struct EndingTable {
    /// The files with their base names left empty: `fileName` is the ending.
    private(set) var endings: [MaildirFileName] = []
    private var byEnding: [MaildirFileName: Int] = [:]
    private var last = 0
    private static let linearLimit = 16

    mutating func number(of name: MaildirFileName) -> Int {
        if last < endings.count && endings[last].hasSameEnding(as: name) { return last }
        if endings.count <= Self.linearLimit, let found = endings.firstIndex(where: { $0.hasSameEnding(as: name) }) {
            last = found
            return found
        }
        var ending = name
        ending.baseName = ""
        if let found = byEnding[ending] {
            last = found
            return found
        }
        endings.append(ending)
        last = endings.count - 1
        if endings.count > Self.linearLimit {
            if byEnding.isEmpty {
                for (index, known) in endings.enumerated() { byEnding[known] = index }
            } else {
                byEnding[ending] = last
            }
        }
        return last
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
