// CREATE-SPECIAL-USE (RFC 6154 §3) for any folder name: the attributes a client gave
// are kept in `imapd-special-use` in the mail root, beside Dovecot's `subscriptions`
// (Dovecot itself keeps special use only in its configuration, so this file is ours).
//
// Format (text, one line per folder, LF-terminated, any order):
//   <attributes separated by SP> TAB <folder name as in subscriptions v2>
// e.g. `\Archive\tReceipts` or `\Sent \Archive\tWork\tOut`: the name's levels are
// separated by TAB, each level modified UTF-7 and tab-escaped like subscriptions v2
// (\001 → \0011, TAB → \001t, CR → \001r, LF → \001n). Lines that do not parse are kept
// as they are when the file is rewritten.
//
// Races handled here: writers take `imapd-special-use.lock` (a dot-lock, stale after
// 30 s like the subscriptions lock) and replace the file by rename (temporary file,
// fsync, rename), so readers, which take no lock, see the old or the new file.
import Glibc

enum SpecialUseFile {
    static let name = "imapd-special-use"
    static let lockName = "imapd-special-use.lock"
    static let temporaryName = "imapd-special-use.tmp"
    private static let tab = UInt8(ascii: "\t")
    private static let space = UInt8(ascii: " ")

    /// (folder components, attributes) of one line; nil if it does not parse.
    static func parse(_ line: ArraySlice<UInt8>) -> ([String], [String])? {
        guard let split = line.firstIndex(of: tab),
            let components = SubscriptionsFile.components(of: line[(split + 1)...], version: 2)
        else { return nil }
        let attributes = line[..<split].split(separator: space).map { String(decoding: $0, as: UTF8.self) }
        return attributes.isEmpty ? nil : (components, attributes)
    }

    static func line(_ components: [String], _ attributes: [String]) -> [UInt8] {
        Array(attributes.joined(separator: " ").utf8) + [tab] + SubscriptionsFile.line(for: components, version: 2)
    }
}

/// One folder's line in `imapd-special-use`.
struct SpecialUseEntry {
    var components: [String]
    var attributes: [String]
}

extension Mailstore {
    var specialUsePath: String { POSIX.join(root, SpecialUseFile.name) }

    /// Special-use attributes clients set with CREATE (USE (…)), by folder.
    func specialUsesAsOwner() throws -> [[String]: [String]] {
        guard let bytes = try POSIX.readFile(specialUsePath) else { return [:] }
        var result: [[String]: [String]] = [:]
        for line in bytes.split(separator: UIDListSyntax.newline) {
            if let (components, attributes) = SpecialUseFile.parse(line) { result[components] = attributes }
        }
        return result
    }

    /// Records the folder's attributes (empty: forgets them).
    func setSpecialUseAsOwner(_ components: [String], _ attributes: [String]) throws {
        let target = FolderName.normalized(components)
        try rewriteSpecialUses(adding: attributes.isEmpty ? [] : [(target, attributes)]) { entry in
            entry.components == target ? nil : entry
        }
    }

    /// RENAME moves the attributes of the folder and of every folder below it; DELETE
    /// (`to` nil) drops the folder's own (its children stay, RFC 9051 §6.3.5).
    func moveSpecialUses(from: [String], to: [String]?) throws {
        let source = FolderName.normalized(from)
        let target = to.map(FolderName.normalized)
        try rewriteSpecialUses(adding: []) { entry in
            guard let target else { return entry.components == source ? nil : entry }
            guard entry.components.starts(with: source) else { return entry }
            return SpecialUseEntry(
                components: target + entry.components.dropFirst(source.count), attributes: entry.attributes)
        }
    }

    /// Rewrites the file under its lock: every parsed entry goes through `transform`
    /// (nil drops it), unparsed lines stay, `adding` is appended. Nothing is written
    /// when nothing changed.
    private func rewriteSpecialUses(
        adding: [([String], [String])], _ transform: (SpecialUseEntry) -> SpecialUseEntry?
    ) throws {
        try rewriteRootFile(
            name: SpecialUseFile.name, lockName: SpecialUseFile.lockName, temporaryName: SpecialUseFile.temporaryName
        ) { existing in
            var lines: [[UInt8]] = []
            var changed = !adding.isEmpty
            for line in (existing ?? []).split(separator: UIDListSyntax.newline) {
                guard let entry = SpecialUseFile.parse(line) else {
                    lines.append(Array(line))
                    continue
                }
                guard let kept = transform(SpecialUseEntry(components: entry.0, attributes: entry.1)) else {
                    changed = true
                    continue
                }
                if kept.components != entry.0 { changed = true }
                lines.append(SpecialUseFile.line(kept.components, kept.attributes))
            }
            guard changed else { return nil }
            lines += adding.map { SpecialUseFile.line($0.0, $0.1) }
            return lines.flatMap { $0 + [UIDListSyntax.newline] }
        }
    }

    /// Replaces a small file in the mail root under its dot-lock: `transform` gets the
    /// current bytes (nil: no file) and returns the new ones (nil: leave it alone); the
    /// new file is written to a temporary name, fsync'd and renamed into place.
    func rewriteRootFile(
        name: String, lockName: String, temporaryName: String, _ transform: ([UInt8]?) throws -> [UInt8]?
    ) throws {
        let locker = DotLocker(
            timeout: StoreTiming.defaultLockTimeout, staleSeconds: StoreTiming.subscriptionsLockStaleSeconds,
            logger: logger)
        try locker.withLock(POSIX.join(root, lockName)) {
            guard let bytes = try transform(try POSIX.readFile(POSIX.join(root, name))) else { return }
            try POSIX.writeAtomically(
                path: POSIX.join(root, name), temporaryPath: POSIX.join(root, temporaryName), directory: root,
                contents: bytes)
        }
    }
}
