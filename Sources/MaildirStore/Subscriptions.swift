// Dovecot's `subscriptions` file in the mail root (MAILDIR-FORMATS.md): v1 is one
// folder name per line (Maildir++ names: levels separated by '.', modified UTF-7); v2
// starts with "V\t2\n\n" and separates levels by TAB, each level tab-escaped
// (\001 → \0011, TAB → \001t, CR → \001r, LF → \001n). We read both and write back the
// version we read (v2 for a new file), keeping every other line as it was.
//
// Races handled here: two writers (us and Dovecot) take `subscriptions.lock` (stale
// after 30 s, as in Dovecot) and replace the file by rename, so readers, which take no
// lock, see the old or the new list, never a mix.
import Glibc

enum SubscriptionsFile {
    private static let escape: UInt8 = 0x01
    private static let tab = UInt8(ascii: "\t")
    private static let escapes: [(UInt8, UInt8)] = [
        (0x01, UInt8(ascii: "1")), (UInt8(ascii: "\t"), UInt8(ascii: "t")),
        (UInt8(ascii: "\r"), UInt8(ascii: "r")), (UInt8(ascii: "\n"), UInt8(ascii: "n")),
    ]

    /// (version, lines without the header).
    static func split(_ bytes: [UInt8]) -> (version: Int, lines: [ArraySlice<UInt8>]) {
        let isV2 = bytes.starts(with: MaildirNames.subscriptionsV2Header)
        let body = bytes[(isV2 ? MaildirNames.subscriptionsV2Header.count : 0)...]
        return (isV2 ? 2 : 1, body.split(separator: UIDListSyntax.newline, omittingEmptySubsequences: true))
    }

    /// Components of one line; nil for lines that name nothing usable.
    static func components(of line: ArraySlice<UInt8>, version: Int) -> [String]? {
        let separator = version >= 2 ? tab : MaildirNames.folderSeparatorByte
        var result: [String] = []
        for level in line.split(separator: separator, omittingEmptySubsequences: false) {
            let raw = String(decoding: version >= 2 ? unescape(level) : Array(level), as: UTF8.self)
            guard !raw.isEmpty else { return nil }
            result.append(ModifiedUTF7.decode(raw) ?? raw)
        }
        return result.isEmpty ? nil : FolderName.normalized(result)
    }

    static func line(for components: [String], version: Int) -> [UInt8] {
        let levels = FolderName.normalized(components).map { ModifiedUTF7.encode($0) }
        guard version >= 2 else { return Array(levels.joined(separator: ".").utf8) }
        var bytes: [UInt8] = []
        for (i, level) in levels.enumerated() {
            if i > 0 { bytes.append(tab) }
            for byte in level.utf8 {
                if let pair = escapes.first(where: { $0.0 == byte }) {
                    bytes += [escape, pair.1]
                } else {
                    bytes.append(byte)
                }
            }
        }
        return bytes
    }

    private static func unescape(_ bytes: ArraySlice<UInt8>) -> [UInt8] {
        var out: [UInt8] = []
        var iterator = bytes.makeIterator()
        while let byte = iterator.next() {
            guard byte == escape, let code = iterator.next() else {
                out.append(byte)
                continue
            }
            out.append(escapes.first { $0.1 == code }?.0 ?? code)
        }
        return out
    }
}

extension Mailstore {
    var subscriptionsPath: String { POSIX.join(root, MaildirNames.subscriptions) }

    /// Subscribed folders (LSUB, LIST (SUBSCRIBED)) in file order, whether or not they
    /// exist, from Dovecot's `subscriptions` file.
    func subscriptionsAsOwner() throws -> [[String]] {
        guard let bytes = try POSIX.readFile(subscriptionsPath) else { return [] }
        let (version, lines) = SubscriptionsFile.split(bytes)
        var seen = Set<[String]>()
        return lines.compactMap { SubscriptionsFile.components(of: $0, version: version) }.filter {
            seen.insert($0).inserted
        }
    }

    /// SUBSCRIBE / UNSUBSCRIBE. Validates the name like `directory(for:)`; the folder
    /// need not exist (RFC 9051 §6.3.7), but the user's Maildir must: without it there is
    /// no mailbox at all and nowhere to keep the file (.nonexistent, as CREATE answers).
    func setSubscribedAsOwner(_ components: [String], _ subscribed: Bool) throws {
        _ = try directory(for: components)
        guard (try POSIX.status(root))?.isDirectory == true else {
            throw StoreError.nonexistent(FolderName.normalized(components).joined(separator: "/"))
        }
        let target = FolderName.normalized(components)
        try rewriteSubscriptions { version, lines in
            var kept: [ArraySlice<UInt8>] = []
            var found = false
            for line in lines {
                if SubscriptionsFile.components(of: line, version: version) == target {
                    found = true
                    if !subscribed { continue }
                    if kept.contains(where: { SubscriptionsFile.components(of: $0, version: version) == target }) {
                        continue
                    }
                }
                kept.append(line)
            }
            if subscribed && !found { kept.append(ArraySlice(SubscriptionsFile.line(for: target, version: version))) }
            return kept.count == lines.count ? nil : kept  // nil: already as asked
        }
    }

    /// RENAME: the subscriptions of the folder and of every folder below it follow it,
    /// as Dovecot renames them. A subscription the new name already has is not doubled.
    func renameSubscriptions(from: [String], to: [String]) throws {
        let source = FolderName.normalized(from)
        let target = FolderName.normalized(to)
        try rewriteSubscriptions { version, lines in
            var changed = false
            var seen = Set<[String]>()
            var kept: [ArraySlice<UInt8>] = []
            for line in lines {
                guard var components = SubscriptionsFile.components(of: line, version: version) else {
                    kept.append(line)
                    continue
                }
                if components.starts(with: source) {
                    components = target + components.dropFirst(source.count)
                    changed = true
                    guard seen.insert(components).inserted else { continue }
                    kept.append(ArraySlice(SubscriptionsFile.line(for: components, version: version)))
                } else if seen.insert(components).inserted {
                    kept.append(line)
                }
            }
            return changed ? kept : nil
        }
    }

    /// Rewrites the `subscriptions` file under its dot-lock: `transform` gets the file
    /// version and lines and returns the new lines (nil: leave the file alone). The new
    /// file replaces the old atomically (temporary file + rename).
    private func rewriteSubscriptions(
        _ transform: (Int, [ArraySlice<UInt8>]) throws -> [ArraySlice<UInt8>]?
    ) throws {
        try rewriteRootFile(
            name: MaildirNames.subscriptions, lockName: MaildirNames.subscriptionsLock,
            temporaryName: MaildirNames.subscriptionsTemp
        ) { existing in
            let (version, lines) = existing.map(SubscriptionsFile.split) ?? (2, [])
            guard let kept = try transform(version, lines) else { return nil }
            var bytes = version >= 2 ? MaildirNames.subscriptionsV2Header : []
            for line in kept { bytes += line + [UIDListSyntax.newline] }
            return bytes
        }
    }
}
