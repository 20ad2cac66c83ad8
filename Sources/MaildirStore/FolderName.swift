// Maildir++ folder names: hierarchy components ⇄ the directory name `.A.B` under the
// mail root, each component in modified UTF-7. Validation refuses everything that could
// leave the root or break the one-directory-per-folder mapping.

enum FolderName {
    /// Whether `components` name INBOX itself (case-insensitively, RFC 9051 §5.1).
    static func isInbox(_ components: [String]) -> Bool {
        components.count == 1 && isInboxComponent(components[0])
    }

    static func isInboxComponent(_ component: String) -> Bool {
        KeywordTable.foldCase(component) == "inbox"
    }

    /// `INBOX` spelled canonically when it is the first component.
    static func normalized(_ components: [String]) -> [String] {
        guard let first = components.first, isInboxComponent(first) else { return components }
        return [MaildirNames.inbox] + components.dropFirst()
    }

    /// The directory name `.A.B` (nil for INBOX, which is the root itself).
    /// Throws .invalidName(reason).
    static func directoryName(for components: [String]) throws -> String? {
        let components = normalized(components)
        guard !components.isEmpty else { throw StoreError.invalidName("empty name") }
        if isInbox(components) { return nil }
        var encoded: [String] = []
        for component in components {
            try validate(component)
            let onDisk = ModifiedUTF7.encode(component)
            guard onDisk.utf8.count <= PathLimits.maxNameBytes else {
                throw StoreError.invalidName("component longer than \(PathLimits.maxNameBytes) bytes")
            }
            encoded.append(onDisk)
        }
        let name =
            String(MaildirNames.folderSeparator) + encoded.joined(separator: String(MaildirNames.folderSeparator))
        guard name.utf8.count <= PathLimits.maxNameBytes else {
            throw StoreError.invalidName("name longer than \(PathLimits.maxNameBytes) bytes on disk")
        }
        return name
    }

    /// `%` and `*` are LIST wildcards (RFC 9051 §5.1, §6.3.9): a folder named with one
    /// cannot be listed or matched unambiguously, so new names may not hold them.
    /// Folders that already have them (made by another program) stay usable.
    static let listWildcards: Set<Unicode.Scalar> = ["%", "*"]

    /// Checks a name a folder is about to get (CREATE, RENAME): `validate`'s rules
    /// (through `directoryName`) plus no LIST wildcard.
    static func validateNew(_ components: [String]) throws {
        if components.contains(where: { $0.unicodeScalars.contains(where: listWildcards.contains) }) {
            throw StoreError.invalidName("'%' and '*' are not allowed in new mailbox names")
        }
    }

    static func validate(_ component: String) throws {
        if component.isEmpty { throw StoreError.invalidName("empty hierarchy component") }
        if component == "." || component == ".." { throw StoreError.invalidName("'\(component)' is not a name") }
        for scalar in component.unicodeScalars {
            if scalar == "/" { throw StoreError.invalidName("'/' in a name") }
            if scalar.value == 0 || scalar.properties.generalCategory == .control {
                throw StoreError.invalidName("control character in a name")
            }
            // Maildir++ separates levels with '.', so a '.' inside a component would
            // silently become a level (Dovecot stores it as-is and breaks the hierarchy).
            if scalar == "." { throw StoreError.invalidName("'.' inside a hierarchy component") }
        }
        if component.hasPrefix("~") { throw StoreError.invalidName("name starts with '~'") }
    }

    /// Hierarchy components of a directory entry of the mail root, or nil when the entry
    /// is not a folder (no leading '.', empty levels like `..X`, malformed UTF-7, names
    /// we would refuse to create).
    static func components(ofDirectoryName name: String) -> [String]? {
        guard name.utf8.first == MaildirNames.folderSeparatorByte, name.utf8.count > 1 else { return nil }
        var components: [String] = []
        for part in name.utf8.dropFirst().split(
            separator: MaildirNames.folderSeparatorByte, omittingEmptySubsequences: false)
        {
            guard !part.isEmpty, let raw = String(part), let decoded = ModifiedUTF7.decode(raw) else {
                return nil
            }
            guard (try? validate(decoded)) != nil else { return nil }
            components.append(decoded)
        }
        return components
    }

    /// Entries of the mail root that are Dovecot / Courier files, never folders.
    static func isNeverFolder(_ name: String) -> Bool {
        MaildirNames.neverFolderNames.contains(name) || MaildirNames.neverFolderPrefixes.contains { name.hasPrefix($0) }
    }
}
