// The bytes of `imapd-modseq`, this server's mod-sequence log beside dovecot-uidlist
// (the format is documented in MAILDIR-FORMATS.md). Pure parsing and formatting; the file
// handling is in ModSeqFile.swift.
//
//     imapd-modseq 1 V<uidvalidity> F<floor>     first line
//     C<ceiling>                                 mod-sequences up to here may be out
//     M<uid> <modseq> <flag bits, hex>           a message's mod-sequence and flags
//     X<uid> <modseq>                            an expunge
//
// Numbers are decimal except the flag bits. Later lines win. A last line without its
// newline is a write torn by a crash and is ignored; any other line that does not
// parse is skipped and makes the file due for a rewrite.

/// The IMAP-visible flags of a file's letters in one number: the five system flags in
/// bits 0-4 (SystemFlags), keyword letters a-z in bits 5-30. What the log compares to
/// notice a rename made while the server was not looking.
enum FlagBits {
    static func of(_ letters: [UInt8]) -> UInt32 {
        var bits: UInt32 = 0
        for letter in letters {
            if letter >= FlagLetter.firstKeyword && letter <= FlagLetter.lastKeyword {
                bits |= 1 << (5 + UInt32(letter - FlagLetter.firstKeyword))
            } else if let flag = SystemFlags.letters.first(where: { $0.1 == letter })?.0 {
                bits |= UInt32(flag.rawValue)
            }
        }
        return bits
    }
}

/// What a modseq log holds.
struct ModSeqLogContents: Equatable {
    var uidValidity: UInt32
    var floor: ModSeq
    var ceiling = ModSeq(0)
    /// The highest mod-sequence on any line.
    var highest = ModSeq(0)
    /// The latest line of each UID not expunged since.
    var messages: [UInt32: (modSeq: ModSeq, flagBits: UInt32)] = [:]
    /// Expunges above the floor, in file order.
    var expunges: [(uid: StoreUID, modSeq: ModSeq)] = []
    var lineCount = 0
    /// Some line did not parse.
    var damaged = false
    /// Bytes up to the end of the last complete line.
    var consumed = 0

    static func == (lhs: ModSeqLogContents, rhs: ModSeqLogContents) -> Bool {
        lhs.uidValidity == rhs.uidValidity && lhs.floor == rhs.floor && lhs.ceiling == rhs.ceiling
            && lhs.highest == rhs.highest
            && lhs.messages.mapValues { [$0.modSeq.rawValue, UInt64($0.flagBits)] }
                == rhs.messages.mapValues { [$0.modSeq.rawValue, UInt64($0.flagBits)] }
            && lhs.expunges.map { [UInt64($0.uid.rawValue), $0.modSeq.rawValue] }
                == rhs.expunges.map { [UInt64($0.uid.rawValue), $0.modSeq.rawValue] }
    }
}

enum ModSeqLogFormat {
    static let magic = Array("imapd-modseq 1".utf8)
    static let ceilingTag = UInt8(ascii: "C")
    static let messageTag = UInt8(ascii: "M")
    static let expungeTag = UInt8(ascii: "X")
    static let uidValidityTag = UInt8(ascii: "V")
    static let floorTag = UInt8(ascii: "F")
    static let space = UInt8(ascii: " ")
    static let newline = UInt8(ascii: "\n")

    static func header(uidValidity: UInt32, floor: ModSeq) -> [UInt8] {
        magic + Array(" V\(uidValidity) F\(floor.rawValue)\n".utf8)
    }

    static func ceilingLine(_ ceiling: ModSeq) -> [UInt8] { Array("C\(ceiling.rawValue)\n".utf8) }

    static func line(_ entry: ModSeqEntry) -> [UInt8] {
        switch entry {
        case .message(let uid, let modSeq, let flagBits):
            return Array("M\(uid) \(modSeq.rawValue) \(String(flagBits, radix: 16))\n".utf8)
        case .expunged(let uid, let modSeq):
            return Array("X\(uid) \(modSeq.rawValue)\n".utf8)
        }
    }

    /// The whole file; nil when its first line is not a header of this version.
    static func parse(_ bytes: [UInt8]) -> ModSeqLogContents? {
        guard let end = bytes.firstIndex(of: newline),
            let header = parseHeader(bytes[..<end])
        else { return nil }
        var contents = ModSeqLogContents(uidValidity: header.uidValidity, floor: header.floor)
        contents.consumed = end + 1
        parseLines(bytes, from: end + 1, into: &contents)
        return contents
    }

    /// Complete lines of `bytes` from `start` on (appended by another process, or the
    /// body of the file), into `contents`.
    static func parseLines(_ bytes: [UInt8], from start: Int, into contents: inout ModSeqLogContents) {
        var position = start
        while position < bytes.count, let end = bytes[position...].firstIndex(of: newline) {
            if !apply(bytes[position..<end], to: &contents) { contents.damaged = true }
            contents.lineCount += 1
            position = end + 1
        }
        contents.consumed = position
    }

    private static func parseHeader(_ line: ArraySlice<UInt8>) -> (uidValidity: UInt32, floor: ModSeq)? {
        let fields = line.split(separator: space)
        guard fields.count == 4, Array(fields[0]) + [space] + Array(fields[1]) == magic,
            fields[2].first == uidValidityTag, let validity = number(fields[2].dropFirst(), as: UInt32.self),
            fields[3].first == floorTag, let floor = number(fields[3].dropFirst(), as: UInt64.self)
        else { return nil }
        return (validity, ModSeq(floor))
    }

    private static func number<T: FixedWidthInteger>(_ bytes: ArraySlice<UInt8>, as: T.Type) -> T? {
        T(String(decoding: bytes, as: UTF8.self))
    }

    private static func apply(_ line: ArraySlice<UInt8>, to contents: inout ModSeqLogContents) -> Bool {
        guard let tag = line.first else { return false }
        let fields = line.dropFirst().split(separator: space, omittingEmptySubsequences: false)
        switch tag {
        case ceilingTag:
            guard fields.count == 1, let value = number(fields[0], as: UInt64.self) else { return false }
            contents.ceiling = max(contents.ceiling, ModSeq(value))
        case messageTag:
            guard fields.count == 3, let uid = number(fields[0], as: UInt32.self), uid > 0,
                let modSeq = number(fields[1], as: UInt64.self),
                let bits = UInt32(String(decoding: fields[2], as: UTF8.self), radix: 16)
            else { return false }
            contents.messages[uid] = (ModSeq(modSeq), bits)
            contents.highest = max(contents.highest, ModSeq(modSeq))
        case expungeTag:
            guard fields.count == 2, let uid = number(fields[0], as: UInt32.self), uid > 0,
                let modSeq = number(fields[1], as: UInt64.self)
            else { return false }
            contents.messages[uid] = nil
            if ModSeq(modSeq) > contents.floor { contents.expunges.append((StoreUID(uid), ModSeq(modSeq))) }
            contents.highest = max(contents.highest, ModSeq(modSeq))
        default:
            return false
        }
        return true
    }
}
