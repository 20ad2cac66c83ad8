// `dovecot-keywords` (MAILDIR-FORMATS.md): lines `<index> <name>`, index 0...25 is the
// file-name letter `a`...`z`. Pure model here; the folder reads it when its mtime changes
// and writes it by .tmp + rename while holding dovecot-uidlist.lock (KeywordsFile below).
import Glibc

struct KeywordTable: Hashable, Sendable {
    /// Slot i is letter `a` + i.
    private(set) var names: [String?] = Array(repeating: nil, count: FlagLetter.keywordCount)

    init() {}

    /// Parses the file, skipping malformed lines, out-of-range indexes and duplicates
    /// (the first occurrence wins, as a reader that stops at a conflict would see it).
    init(parsing bytes: [UInt8]) {
        for line in bytes.split(separator: UIDListSyntax.newline, omittingEmptySubsequences: true) {
            guard let space = line.firstIndex(of: UIDListSyntax.space),
                let index = Int(String(decoding: line[line.startIndex..<space], as: UTF8.self)),
                index >= 0, index < FlagLetter.keywordCount, names[index] == nil
            else { continue }
            let name = String(decoding: line[(space + 1)...], as: UTF8.self)
            guard Self.isValidName(name), self.index(of: name) == nil else { continue }
            names[index] = name
        }
    }

    var serialized: [UInt8] {
        var bytes: [UInt8] = []
        for (index, name) in names.enumerated() {
            guard let name else { continue }
            bytes += "\(index) \(name)\n".utf8
        }
        return bytes
    }

    /// Names in index order.
    var list: [String] { names.compactMap { $0 } }
    var usedCount: Int { names.count(where: { $0 != nil }) }
    var canCreate: Bool { usedCount < FlagLetter.keywordCount }

    /// Case-insensitive lookup (IMAP flag names are case-insensitive, RFC 9051 §2.3.2).
    func index(of name: String) -> Int? {
        let key = Self.foldCase(name)
        return names.firstIndex { $0.map(Self.foldCase) == key }
    }

    func name(at index: Int) -> String? {
        index >= 0 && index < names.count ? names[index] : nil
    }

    /// Gives `name` the lowest free index not in `avoiding` (letters already found on
    /// files without a name: naming them would silently flag those messages). nil when
    /// no letter is left.
    mutating func add(_ name: String, avoiding: Set<Int> = []) -> Int? {
        if let existing = index(of: name) { return existing }
        guard let free = names.indices.first(where: { names[$0] == nil && !avoiding.contains($0) }) else {
            return nil
        }
        names[free] = name
        return free
    }

    /// IMAP flags of decoded letters; letters without a name are not keywords.
    func flags(for letters: FlagLetters) -> MessageFlags {
        MessageFlags(system: letters.system, keywords: letters.keywordIndexes.compactMap { name(at: $0) })
    }

    /// Keyword indexes whose letter has no name here.
    func unnamed(_ letters: FlagLetters) -> [Int] { letters.keywordIndexes.filter { name(at: $0) == nil } }

    /// Names that can be stored: non-empty, no space or control characters (they would
    /// break the line format).
    static func isValidName(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.allSatisfy { $0 > 0x20 && $0 != 0x7F }
    }

    static func foldCase(_ name: String) -> String {
        String(
            decoding: name.utf8.map { $0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z") ? $0 | 0x20 : $0 },
            as: UTF8.self)
    }
}

/// Reading and writing a folder's dovecot-keywords.
struct KeywordsFile: Sendable {
    let directory: String
    var path: String { POSIX.join(directory, MaildirNames.keywords) }

    /// The file's identity and mtime, to decide whether to re-read it.
    func status() throws -> FileStatus? { try POSIX.status(path) }

    func read() throws -> KeywordTable {
        guard let bytes = try POSIX.readFile(path) else { return KeywordTable() }
        return KeywordTable(parsing: bytes)
    }

    /// Caller holds dovecot-uidlist.lock.
    func write(_ table: KeywordTable, replacing old: FileStatus?) throws {
        try POSIX.writeAtomically(
            path: path, temporaryPath: POSIX.join(directory, MaildirNames.keywordsTemp), directory: directory,
            contents: table.serialized, newerThan: old?.mtime)
    }
}
