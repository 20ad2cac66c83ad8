// The message file-name grammar: `<base>[:<info>]`, where info `2,<letters>[,<suffix>]`
// carries the flags (MAILDIR-FORMATS.md "Message files"). Parsing never fails: any name
// is a base name, possibly with an info part we keep verbatim.

/// A message file name split at its last ':'.
struct MaildirFileName: Hashable, Sendable {
    /// Everything before the last ':': the message's identity in every index.
    var baseName: String
    /// Whether the name has an info part at all (files in new/ usually do not).
    var hasInfo: Bool
    /// Flag letters of a `2,` info part, in the order found.
    var letters: [UInt8]
    /// Everything from the first ',' after the letters (e.g. ",foo"), kept on every rename.
    var infoSuffix: String
    /// An info part that is not `2,...` (other "experimental semantics"): kept verbatim
    /// while the flags do not change; it carries no flags.
    var foreignInfo: String?

    init(baseName: String, letters: [UInt8] = [], infoSuffix: String = "", hasInfo: Bool = true) {
        self.baseName = baseName
        self.hasInfo = hasInfo
        self.letters = letters
        self.infoSuffix = infoSuffix
        self.foreignInfo = nil
    }

    init(parsing name: String) {
        let bytes = Array(name.utf8)
        guard let colon = bytes.lastIndex(of: FileNameSyntax.infoSeparator) else {
            self.init(baseName: name, hasInfo: false)
            return
        }
        self.init(baseName: String(decoding: bytes[..<colon], as: UTF8.self), info: bytes[(colon + 1)...])
    }

    /// A base name and the bytes after its ':' (the folder index keeps names so).
    init<Info: Collection<UInt8>>(baseName: String, info: Info) {
        guard info.starts(with: FileNameSyntax.infoVersion2) else {
            self.init(baseName: baseName)
            foreignInfo = String(decoding: info, as: UTF8.self)
            return
        }
        let flagsStart = info.index(info.startIndex, offsetBy: FileNameSyntax.infoVersion2.count)
        let flagsEnd = info[flagsStart...].firstIndex(of: FileNameSyntax.fieldSeparator) ?? info.endIndex
        self.init(
            baseName: baseName, letters: Array(info[flagsStart..<flagsEnd]),
            infoSuffix: flagsEnd == info.endIndex ? "" : String(decoding: info[flagsEnd...], as: UTF8.self))
    }

    /// Everything after the base name is the same (the info part and its flags).
    func hasSameEnding(as other: MaildirFileName) -> Bool {
        hasInfo == other.hasInfo && letters == other.letters && infoSuffix == other.infoSuffix
            && foreignInfo == other.foreignInfo
    }

    /// The full file name.
    var fileName: String {
        guard hasInfo else { return baseName }
        if let foreignInfo { return baseName + ":" + foreignInfo }
        return baseName + ":2," + String(decoding: letters, as: UTF8.self) + infoSuffix
    }

    /// The same message with other flag letters: a `2,` info part with the letters in
    /// ASCII order and duplicates removed, the suffix kept.
    func withLetters(_ newLetters: [UInt8]) -> MaildirFileName {
        var copy = self
        copy.hasInfo = true
        copy.foreignInfo = nil
        copy.letters = Array(Set(newLetters)).sorted()
        return copy
    }

    /// `,S=<n>` of the base name: physical size.
    var physicalSize: Int? { Self.sizeField(FileNameSyntax.physicalSizeKey, in: baseName) }
    /// `,W=<n>` of the base name: size with CRLF line ends.
    var virtualSize: Int? { Self.sizeField(FileNameSyntax.virtualSizeKey, in: baseName) }

    /// `,<key>=` followed by digits ending at ',' or the end of the base name. Fields of
    /// other tools (`,U=`, `,FMD5=`) never match a one-letter key.
    static func sizeField(_ key: UInt8, in baseName: String) -> Int? {
        let bytes = Array(baseName.utf8)
        var i = 0
        while i + 2 < bytes.count {
            if bytes[i] == FileNameSyntax.fieldSeparator && bytes[i + 1] == key
                && bytes[i + 2] == FileNameSyntax.fieldAssign
            {
                var j = i + 3
                var value = 0
                var digits = 0
                while j < bytes.count, let digit = decimalDigit(bytes[j]) {
                    let (times, o1) = value.multipliedReportingOverflow(by: 10)
                    let (sum, o2) = times.addingReportingOverflow(digit)
                    if o1 || o2 { return nil }
                    value = sum
                    digits += 1
                    j += 1
                }
                if digits > 0 && (j == bytes.count || bytes[j] == FileNameSyntax.fieldSeparator) {
                    return value
                }
            }
            i += 1
        }
        return nil
    }
}

func decimalDigit(_ byte: UInt8) -> Int? {
    byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") ? Int(byte - UInt8(ascii: "0")) : nil
}

/// Flag letters decoded: system flags, keyword indexes and letters we must keep as they
/// are (`P`, unknown letters, keyword letters without a name in dovecot-keywords).
struct FlagLetters: Hashable, Sendable {
    var system: SystemFlags = []
    /// Indexes 0...25 (`a`...`z`), ascending.
    var keywordIndexes: [Int] = []
    /// Every other letter, kept untouched on renames.
    var preserved: [UInt8] = []

    init(system: SystemFlags = [], keywordIndexes: [Int] = [], preserved: [UInt8] = []) {
        self.system = system
        self.keywordIndexes = keywordIndexes
        self.preserved = preserved
    }

    init(decoding letters: [UInt8]) {
        // A bit per keyword letter rather than a Set: this runs for every file of a scan.
        var indexes: UInt32 = 0
        for letter in letters {
            if let flag = SystemFlags.letters.first(where: { $0.1 == letter }) {
                system.insert(flag.0)
            } else if letter >= FlagLetter.firstKeyword && letter <= FlagLetter.lastKeyword {
                indexes |= 1 << UInt32(letter - FlagLetter.firstKeyword)
            } else if !preserved.contains(letter) {
                preserved.append(letter)
            }
        }
        if indexes != 0 { keywordIndexes = (0..<FlagLetter.keywordCount).filter { indexes & (1 << $0) != 0 } }
    }

    /// Bit i set when keyword letter i (`a` + i) is among `letters`.
    static func keywordMask(_ letters: [UInt8]) -> UInt32 {
        var mask: UInt32 = 0
        for letter in letters where letter >= FlagLetter.firstKeyword && letter <= FlagLetter.lastKeyword {
            mask |= 1 << UInt32(letter - FlagLetter.firstKeyword)
        }
        return mask
    }

    /// All letters in ASCII order (`D F P R S T`, then `a`...`z`), each once.
    var encoded: [UInt8] {
        var result = Set(preserved)
        for (flag, letter) in SystemFlags.letters where system.contains(flag) { result.insert(letter) }
        for index in keywordIndexes where index >= 0 && index < FlagLetter.keywordCount {
            result.insert(FlagLetter.firstKeyword + UInt8(index))
        }
        return result.sorted()
    }
}

/// Orders new files the way Dovecot assigns their UIDs: by the leading seconds of the
/// name, then the `.M<usecs>` part, then the name itself.
struct DeliveryOrder: Comparable {
    var seconds: UInt64
    var microseconds: UInt64
    /// The base name itself (no byte copy: compared as UTF-8 only on ties).
    var name: String

    init(baseName: String) {
        name = baseName
        (seconds, microseconds) =
            baseName.utf8.withContiguousStorageIfAvailable(Self.timeFields) ?? Self.timeFields(Array(baseName.utf8))
    }

    /// The leading seconds and the `.M<usecs>` that may follow them.
    private static func timeFields<C: RandomAccessCollection>(_ bytes: C) -> (UInt64, UInt64)
    where C.Element == UInt8, C.Index == Int {
        let (seconds, i) = number(in: bytes, at: 0)
        guard
            i + 1 < bytes.count && bytes[i] == FileNameSyntax.uniqueSeparator
                && bytes[i + 1] == FileNameSyntax.microsecondsMarker
        else { return (seconds, 0) }
        return (seconds, number(in: bytes, at: i + 2).0)
    }

    /// Leading decimal digits (saturating) and the index after them.
    private static func number<C: RandomAccessCollection>(in bytes: C, at start: Int) -> (UInt64, Int)
    where C.Element == UInt8, C.Index == Int {
        var value: UInt64 = 0
        var i = start
        while i < bytes.count, let digit = decimalDigit(bytes[i]) {
            let (times, o1) = value.multipliedReportingOverflow(by: 10)
            let (sum, o2) = times.addingReportingOverflow(UInt64(digit))
            value = (o1 || o2) ? UInt64.max : sum
            i += 1
        }
        return (value, i)
    }

    static func < (lhs: DeliveryOrder, rhs: DeliveryOrder) -> Bool {
        if lhs.seconds != rhs.seconds { return lhs.seconds < rhs.seconds }
        if lhs.microseconds != rhs.microseconds { return lhs.microseconds < rhs.microseconds }
        return lhs.name.utf8.lexicographicallyPrecedes(rhs.name.utf8)
    }
}
