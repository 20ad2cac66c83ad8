// The `dovecot-uidlist` format (MAILDIR-FORMATS.md): parsing (v3, and v1/v2 whose
// header is `<version> <uidvalidity> <nextuid>`), serialising (always v3), salvage of
// damaged files. Pure functions over bytes; the file handling is in UIDListFile.swift.

/// One `<key letter><value>` field of a v3 header line, kept in file order so a rewrite
/// preserves fields we do not know.
struct UIDListHeaderField: Hashable, Sendable {
    var key: UInt8
    var value: String
}

struct UIDListHeader: Hashable, Sendable {
    /// The version read (1, 2 or 3); what we write is always 3.
    var version: Int
    var fields: [UIDListHeaderField]

    init(version: Int = UIDListSyntax.currentVersion, fields: [UIDListHeaderField]) {
        self.version = version
        self.fields = fields
    }

    init(uidValidity: UInt32, nextUID: UInt32, guid: String) {
        self.init(fields: [
            UIDListHeaderField(key: UIDListSyntax.uidValidityKey, value: String(uidValidity)),
            UIDListHeaderField(key: UIDListSyntax.nextUIDKey, value: String(nextUID)),
            UIDListHeaderField(key: UIDListSyntax.guidKey, value: guid),
        ])
    }

    func value(_ key: UInt8) -> String? { fields.first { $0.key == key }?.value }

    mutating func setValue(_ key: UInt8, _ value: String) {
        if let i = fields.firstIndex(where: { $0.key == key }) {
            fields[i].value = value
        } else {
            fields.append(UIDListHeaderField(key: key, value: value))
        }
    }

    /// `V`, 0 when missing or malformed.
    var uidValidity: UInt32 {
        get { value(UIDListSyntax.uidValidityKey).flatMap { UInt32($0) } ?? 0 }
        set { setValue(UIDListSyntax.uidValidityKey, String(newValue)) }
    }

    /// Why `N` is impossible (present but not a number, 0, or leaving no UID to give
    /// out), or nil. A missing `N` is fine: records tell the next UID.
    var nextUIDProblem: String? {
        guard let text = value(UIDListSyntax.nextUIDKey) else { return nil }
        guard let n = UInt32(text), n > 0 else { return "next UID \(text) is not a UID" }
        return n >= UIDListSyntax.uidLimit ? "next UID \(n) leaves no UID to give" : nil
    }

    /// `N`, 1 when missing or malformed.
    var nextUID: UInt32 {
        get { value(UIDListSyntax.nextUIDKey).flatMap { UInt32($0) } ?? 1 }
        set { setValue(UIDListSyntax.nextUIDKey, String(newValue)) }
    }

    /// The v3 header line including its newline.
    var serialized: [UInt8] {
        var line = Array(String(UIDListSyntax.currentVersion).utf8)
        for field in fields {
            line.append(UIDListSyntax.space)
            line.append(field.key)
            line += field.value.utf8
        }
        line.append(UIDListSyntax.newline)
        return line
    }

    /// Parses line 1 (without its newline). nil when it is not a usable header: unknown
    /// version or no non-zero UIDVALIDITY.
    static func parse(_ line: ArraySlice<UInt8>) -> UIDListHeader? {
        let tokens = line.split(separator: UIDListSyntax.space, omittingEmptySubsequences: true)
        guard let first = tokens.first, let version = Int(String(decoding: first, as: UTF8.self)) else {
            return nil
        }
        var header: UIDListHeader
        switch version {
        case 1, 2:
            // `1 <uidvalidity> <nextuid>` (also Courier's courierimapuiddb).
            guard tokens.count >= 3, let v = UInt32(String(decoding: tokens[1], as: UTF8.self)),
                let n = UInt32(String(decoding: tokens[2], as: UTF8.self))
            else { return nil }
            header = UIDListHeader(
                version: version,
                fields: [
                    UIDListHeaderField(key: UIDListSyntax.uidValidityKey, value: String(v)),
                    UIDListHeaderField(key: UIDListSyntax.nextUIDKey, value: String(n)),
                ])
        case UIDListSyntax.currentVersion:
            header = UIDListHeader(version: version, fields: [])
            for token in tokens.dropFirst() {
                guard let key = token.first else { continue }
                header.fields.append(
                    UIDListHeaderField(key: key, value: String(decoding: token.dropFirst(), as: UTF8.self)))
            }
        default:
            return nil
        }
        return header.uidValidity == 0 ? nil : header
    }

    /// Recovers `V` (and `N`) from a damaged first line, so a damaged file never makes
    /// us start a new UIDVALIDITY while the old one can still be read.
    static func salvage(_ line: ArraySlice<UInt8>) -> UIDListHeader? {
        var header = UIDListHeader(fields: [])
        for token in line.split(separator: UIDListSyntax.space) {
            guard let key = token.first, key == UIDListSyntax.uidValidityKey || key == UIDListSyntax.nextUIDKey,
                let value = UInt32(String(decoding: token.dropFirst(), as: UTF8.self))
            else { continue }
            if header.value(key) == nil { header.setValue(key, String(value)) }
        }
        return header.uidValidity == 0 ? nil : header
    }
}

/// One `<uid> [<KEY><value> ...] :<filename>` line.
struct UIDListRecord: Hashable, Sendable {
    var uid: UInt32
    /// Extension fields (`W2101`, `S2048`, `G...`), in file order, kept on rewrite.
    var fields: [String]
    /// The name as written: a base name since Dovecot 2.0.6, a full name before.
    var fileName: String
    /// The name up to its last ':' (what records are matched on).
    var baseName: String

    init(uid: UInt32, fields: [String] = [], fileName: String) {
        self.init(
            uid: uid, fields: fields, fileName: fileName,
            hasInfoSeparator: fileName.utf8.contains(FileNameSyntax.infoSeparator))
    }

    /// The same when the caller already knows whether the name holds a ':'.
    init(uid: UInt32, fields: [String], fileName: String, hasInfoSeparator: Bool) {
        self.uid = uid
        self.fields = fields
        self.fileName = fileName
        // A v3 name is the base name itself (no ':'): one string, not a parse.
        self.baseName = hasInfoSeparator ? MaildirFileName(parsing: fileName).baseName : fileName
    }

    /// The `W<n>` field: size with CRLF line ends.
    var virtualSize: Int? { numericField(UIDListSyntax.virtualSizeKey) }
    /// The `S<n>` field: physical size.
    var physicalSize: Int? { numericField(UIDListSyntax.physicalSizeKey) }

    private func numericField(_ key: UInt8) -> Int? {
        for field in fields {
            let bytes = Array(field.utf8)
            if bytes.first == key, bytes.count > 1 { return Int(String(decoding: bytes.dropFirst(), as: UTF8.self)) }
        }
        return nil
    }

    var serialized: [UInt8] {
        var line = Array(String(uid).utf8)
        for field in fields {
            line.append(UIDListSyntax.space)
            line += field.utf8
        }
        line.append(UIDListSyntax.space)
        line.append(UIDListSyntax.fileNamePrefix)
        line += fileName.utf8
        line.append(UIDListSyntax.newline)
        return line
    }

    /// Parses one record line (without newline) of a file of `version`.
    static func parse(_ line: ArraySlice<UInt8>, version: Int) -> UIDListRecord? {
        guard let space = line.firstIndex(of: UIDListSyntax.space),
            let uid = UInt32(String(decoding: line[line.startIndex..<space], as: UTF8.self)), uid > 0
        else { return nil }
        var position = space + 1
        if version == 1 {
            // v1: the rest of the line is the file name.
            guard position < line.endIndex else { return nil }
            return UIDListRecord(uid: uid, fileName: String(decoding: line[position...], as: UTF8.self))
        }
        var fields: [String] = []
        while position < line.endIndex {
            if line[position] == UIDListSyntax.fileNamePrefix {
                let name = line[(position + 1)...]
                guard !name.isEmpty else { return nil }
                return UIDListRecord(uid: uid, fields: fields, fileName: String(decoding: name, as: UTF8.self))
            }
            let end = line[position...].firstIndex(of: UIDListSyntax.space) ?? line.endIndex
            if end > position { fields.append(String(decoding: line[position..<end], as: UTF8.self)) }
            position = end + 1
        }
        return nil  // no ":<filename>" token
    }
}

/// The result of parsing (part of) a uidlist.
struct UIDListParse: Sendable {
    /// nil when line 1 was not parsed (incremental parse) or is damaged.
    var header: UIDListHeader?
    var records: [UIDListRecord] = []
    /// Lines that could not be parsed or broke the UID order (salvage skipped them).
    var damagedLines: [Int] = []
    /// Bytes consumed: up to and including the last newline. A trailing partial line (an
    /// append in progress, or a crashed writer) is left for later.
    var consumed = 0
    /// The first line was present but not a usable header.
    var headerDamaged = false
    /// Why the file cannot be right, whatever is salvaged from it (UIDs not ascending,
    /// a UID or next UID at the top of the UID space, …): nil when it is possible.
    /// Keeping its UIDVALIDITY would reuse UIDs or give new ones out of order.
    var impossible: String?
}

enum UIDListParser {
    /// Parses a whole file (`continuing == nil`) or the bytes appended after a previous
    /// parse (`continuing` = that file's version and highest UID). Salvages: a line that
    /// does not parse, or whose UID does not increase, is skipped and reported.
    static func parse(_ bytes: [UInt8], continuing: (version: Int, lastUID: UInt32)? = nil) -> UIDListParse {
        var result = UIDListParse()
        var version = continuing?.version ?? UIDListSyntax.currentVersion
        var lastUID = continuing?.lastUID ?? 0
        var lineStart = 0
        var lineNumber = 0
        var expectHeader = continuing == nil
        while lineStart < bytes.count {
            guard let newline = bytes[lineStart...].firstIndex(of: UIDListSyntax.newline) else { break }
            let line = bytes[lineStart..<newline]
            lineNumber += 1
            lineStart = newline + 1
            result.consumed = lineStart
            if expectHeader {
                expectHeader = false
                if let header = UIDListHeader.parse(line) {
                    result.header = header
                    version = header.version
                    result.impossible = header.nextUIDProblem
                    continue
                }
                result.headerDamaged = true
                result.damagedLines.append(lineNumber)
                if let salvaged = UIDListHeader.salvage(line) {
                    result.header = salvaged
                    result.impossible = salvaged.nextUIDProblem
                    continue
                }
                // Otherwise the first line might be a record; fall through.
            }
            if line.isEmpty { continue }
            guard let record = UIDListRecord.parse(line, version: version) else {
                result.damagedLines.append(lineNumber)
                continue
            }
            if let problem = impossibility(of: record, after: lastUID, version: version, header: result.header) {
                result.impossible = result.impossible ?? "line \(lineNumber): \(problem)"
            }
            guard record.uid > lastUID, record.uid < UIDListSyntax.uidLimit else {
                result.damagedLines.append(lineNumber)
                continue
            }
            lastUID = record.uid
            result.records.append(record)
        }
        return result
    }

    /// Why `record` cannot follow a record of UID `lastUID` in a valid file, or nil.
    /// Like Dovecot (maildir-uidlist.c): UIDs strictly ascend and stay below the limit;
    /// in v1/v2 files every UID is below the header's next UID. In v3 a UID at or above
    /// N is normal: records are appended without rewriting the header.
    private static func impossibility(
        of record: UIDListRecord, after lastUID: UInt32, version: Int, header: UIDListHeader?
    ) -> String? {
        if record.uid <= lastUID { return "UIDs not ascending (\(record.uid) after \(lastUID))" }
        if record.uid >= UIDListSyntax.uidLimit { return "UID too high (\(record.uid))" }
        if version < UIDListSyntax.currentVersion, let header, record.uid >= header.nextUID {
            return "UID \(record.uid) not below the next UID \(header.nextUID)"
        }
        return nil
    }

    static func serialize(header: UIDListHeader, records: [UIDListRecord]) -> [UInt8] {
        var bytes = header.serialized
        for record in records { bytes += record.serialized }
        return bytes
    }

    /// A new mailbox GUID: 32 lowercase hex digits from the system's CSPRNG
    /// (getrandom / /dev/urandom through SystemRandomNumberGenerator).
    static func makeGUID() -> String {
        var generator = SystemRandomNumberGenerator()
        var hex = ""
        for _ in 0..<2 {
            let value = generator.next() as UInt64
            let digits = String(value, radix: 16)
            hex += String(repeating: "0", count: 16 - digits.count) + digits
        }
        return hex
    }
}
