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

    static func appendCeiling(_ ceiling: ModSeq, to bytes: inout [UInt8]) {
        bytes.append(ceilingTag)
        appendNumber(ceiling.rawValue, radix: 10, to: &bytes)
        bytes.append(newline)
    }

    /// A line without building Strings: a rewrite formats 100,000s of them.
    static func append(_ entry: ModSeqEntry, to bytes: inout [UInt8]) {
        switch entry {
        case .message(let uid, let modSeq, let flagBits):
            bytes.append(messageTag)
            appendNumber(UInt64(uid), radix: 10, to: &bytes)
            bytes.append(space)
            appendNumber(modSeq.rawValue, radix: 10, to: &bytes)
            bytes.append(space)
            appendNumber(UInt64(flagBits), radix: 16, to: &bytes)
        case .expunged(let uid, let modSeq):
            bytes.append(expungeTag)
            appendNumber(UInt64(uid), radix: 10, to: &bytes)
            bytes.append(space)
            appendNumber(modSeq.rawValue, radix: 10, to: &bytes)
        }
        bytes.append(newline)
    }

    private static let digits = Array("0123456789abcdef".utf8)

    private static func appendNumber(_ value: UInt64, radix: UInt64, to bytes: inout [UInt8]) {
        let start = bytes.count
        var rest = value
        repeat {
            bytes.append(digits[Int(rest % radix)])
            rest /= radix
        } while rest > 0
        bytes[start...].reverse()
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
        guard line.starts(with: magic) else { return nil }
        var fields = FieldReader(line.dropFirst(magic.count))
        guard fields.skipSpace(), fields.rest.first == uidValidityTag else { return nil }
        fields.rest = fields.rest.dropFirst()
        guard let validity = fields.number(radix: 10), validity <= UInt64(UInt32.max), fields.skipSpace(),
            fields.rest.first == floorTag
        else { return nil }
        fields.rest = fields.rest.dropFirst()
        guard let floor = fields.number(radix: 10), fields.atEnd else { return nil }
        return (UInt32(validity), ModSeq(floor))
    }

    private static func apply(_ line: ArraySlice<UInt8>, to contents: inout ModSeqLogContents) -> Bool {
        var fields = FieldReader(line.dropFirst())
        switch line.first {
        case ceilingTag:
            guard let value = fields.number(radix: 10), fields.atEnd else { return false }
            contents.ceiling = max(contents.ceiling, ModSeq(value))
        case messageTag:
            guard let uid = fields.number(radix: 10), uid > 0, uid <= UInt64(UInt32.max), fields.skipSpace(),
                let modSeq = fields.number(radix: 10), fields.skipSpace(),
                let bits = fields.number(radix: 16), bits <= UInt64(UInt32.max), fields.atEnd
            else { return false }
            contents.messages[UInt32(uid)] = (ModSeq(modSeq), UInt32(bits))
            contents.highest = max(contents.highest, ModSeq(modSeq))
        case expungeTag:
            guard let uid = fields.number(radix: 10), uid > 0, uid <= UInt64(UInt32.max), fields.skipSpace(),
                let modSeq = fields.number(radix: 10), fields.atEnd
            else { return false }
            contents.messages[UInt32(uid)] = nil
            if ModSeq(modSeq) > contents.floor { contents.expunges.append((StoreUID(UInt32(uid)), ModSeq(modSeq))) }
            contents.highest = max(contents.highest, ModSeq(modSeq))
        default:
            return false
        }
        return true
    }
}

/// Reads the space-separated numbers of one line.
private struct FieldReader {
    var rest: ArraySlice<UInt8>
    init(_ line: ArraySlice<UInt8>) { rest = line }

    var atEnd: Bool { rest.isEmpty }

    mutating func skipSpace() -> Bool {
        guard rest.first == ModSeqLogFormat.space else { return false }
        rest = rest.dropFirst()
        return true
    }

    /// Digits (lowercase hex when radix 16) up to the next space or the end; nil when
    /// there are none, another byte comes first, or the value overflows 64 bits.
    mutating func number(radix: UInt64) -> UInt64? {
        var value: UInt64 = 0
        var count = 0
        while let byte = rest.first, byte != ModSeqLogFormat.space {
            let digit: UInt64
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt64(byte - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f") where radix == 16: digit = UInt64(byte - UInt8(ascii: "a") + 10)
            default: return nil
            }
            let (times, overflowed) = value.multipliedReportingOverflow(by: radix)
            guard !overflowed, times <= UInt64.max - digit else { return nil }
            value = times + digit
            count += 1
            rest = rest.dropFirst()
        }
        return count > 0 ? value : nil
    }
}
