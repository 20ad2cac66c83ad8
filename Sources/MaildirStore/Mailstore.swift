// One user's Maildir++ tree: listing and resolving folders (mutations are in
// MailstoreMutations.swift).
//
// Races and attacks handled here:
// - A symlink planted inside the Maildir pointing outside it (`.Evil -> /etc`, or
//   `.Evil/cur -> /`): existingFolder and listFolders resolve real paths and refuse
//   anything outside realpath(root). The check is advisory against a concurrent swap of
//   a directory for a symlink after the check; that needs write access to the Maildir,
//   which already means full control of the user's mail.
// - Folders created/deleted by another program while we list: a directory entry that
//   vanished between readdir and stat is skipped.
import Glibc
import Logging

/// One user's Maildir++ tree (`root` is the Maildir itself = INBOX).
public final class Mailstore: Sendable {
    public let root: String
    let logger: Logger
    /// Whose file-system ids every operation runs with (FileOwner.swift); nil: the
    /// process's own.
    public let owner: FileOwner?

    public init(root: String, logger: Logger, owner: FileOwner? = nil) {
        var root = root
        while root.count > 1 && root.hasSuffix("/") { root.removeLast() }
        self.root = root
        self.logger = logger
        self.owner = owner
    }

    /// Creates root with cur/new/tmp if missing (used by --create-users).
    func createIfMissingAsOwner() throws {
        var path = root.hasPrefix("/") ? "" : "."
        for part in root.split(separator: "/", omittingEmptySubsequences: true) {
            path += "/" + part
            try POSIX.makeDirectory(path)
        }
        for sub in [MaildirNames.cur, MaildirNames.new, MaildirNames.tmp] {
            try POSIX.makeDirectory(POSIX.join(root, sub))
        }
    }

    var existsAsOwner: Bool {
        (try? POSIX.status(POSIX.join(root, MaildirNames.cur)))??.isDirectory ?? false
    }

    /// Every folder, INBOX first, then sorted by components.
    func listFoldersAsOwner() throws -> [FolderEntry] {
        let names: [String]
        do {
            names = try POSIX.directoryEntries(root)
        } catch StoreError.io(_, let code) where POSIX.isMissing(code) {
            throw StoreError.nonexistent(root)
        }
        let realRoot = POSIX.realPath(root) ?? root
        var folders: [[String]: FolderEntry] = [:]
        for name in names where !FolderName.isNeverFolder(name) {
            guard let decoded = FolderName.components(ofDirectoryName: name) else { continue }
            let components = FolderName.normalized(decoded)
            // `.INBOX` would shadow the real INBOX.
            guard !FolderName.isInbox(components) else { continue }
            let directory = POSIX.join(root, name)
            guard let status = try? POSIX.status(directory, followSymlinks: false) else { continue }
            if status.isSymlink {
                guard let real = POSIX.realPath(directory), Self.isStrictlyInside(real, realRoot),
                    (try? POSIX.status(directory))??.isDirectory == true
                else {
                    logger.warning("ignoring folder symlink leaving the mail root", metadata: ["path": "\(directory)"])
                    continue
                }
            } else if !status.isDirectory {
                continue
            }
            let selectable: Bool
            do {
                selectable = try POSIX.status(POSIX.join(directory, MaildirNames.cur))?.isDirectory ?? false
            } catch {
                // Not a missing cur/ (that is a \Noselect parent) but one the user may
                // not enter: say so, it would otherwise just look like \Noselect.
                logger.warning("folder not readable", metadata: ["path": "\(directory)", "error": "\(error)"])
                selectable = false
            }
            folders[components] = FolderEntry(
                components: components, directory: directory, isSelectable: selectable, hasChildren: false)
        }
        // Parents that exist only through their children (`.A.B` without `.A`).
        var parents = Set<[String]>()
        for components in folders.keys where components.count > 1 {
            for length in 1..<components.count { parents.insert(Array(components.prefix(length))) }
        }
        for parent in parents where folders[parent] == nil && !FolderName.isInbox(parent) {
            guard let directory = try? directory(for: parent) else { continue }
            folders[parent] = FolderEntry(
                components: parent, directory: directory, isSelectable: false, hasChildren: true)
        }
        for key in Array(folders.keys) where parents.contains(key) { folders[key]?.hasChildren = true }
        let inbox = FolderEntry(
            components: [MaildirNames.inbox], directory: root, isSelectable: true,
            hasChildren: parents.contains([MaildirNames.inbox]))
        let sorted = folders.values.sorted { $0.components.lexicographicallyPrecedes($1.components) }
        return [inbox] + sorted
    }

    /// Validates components (no "", ".", "..", "/", NUL/control chars, leading ".", "~",
    /// over 255 bytes encoded, total path too long) and returns the directory path
    /// (`root` for ["INBOX"] case-insensitively, `root/.A.B` with each component
    /// modified-UTF-7 encoded). Does not touch the disk. Throws .invalidName(reason).
    public func directory(for components: [String]) throws -> String {
        guard let name = try FolderName.directoryName(for: components) else { return root }
        let path = POSIX.join(root, name)
        guard path.utf8.count < PathLimits.maxPathBytes else { throw StoreError.invalidName("path too long") }
        return path
    }

    /// The folder's directory if it exists and is selectable (resolving symlinks: a
    /// folder whose real path leaves `root` is refused with .invalidName).
    func existingFolderAsOwner(_ components: [String]) throws -> String {
        let directory = try directory(for: components)
        let display = FolderName.normalized(components).joined(separator: "/")
        guard let realRoot = POSIX.realPath(root) else { throw StoreError.nonexistent(display) }
        guard let realDirectory = POSIX.realPath(directory) else { throw StoreError.nonexistent(display) }
        let isInbox = directory == root
        guard isInbox ? realDirectory == realRoot : Self.isStrictlyInside(realDirectory, realRoot) else {
            throw StoreError.invalidName("\(display) leaves the mail root")
        }
        guard (try POSIX.status(realDirectory))?.isDirectory == true,
            let realCur = POSIX.realPath(POSIX.join(directory, MaildirNames.cur))
        else { throw StoreError.nonexistent(display) }
        for sub in [realCur, POSIX.realPath(POSIX.join(directory, MaildirNames.new))].compactMap({ $0 }) {
            guard Self.isStrictlyInside(sub, realRoot) else {
                throw StoreError.invalidName("\(display) leaves the mail root")
            }
        }
        guard (try POSIX.status(realCur))?.isDirectory == true else { throw StoreError.nonexistent(display) }
        return directory
    }

    /// `path` is below `root` (both canonical).
    static func isStrictlyInside(_ path: String, _ root: String) -> Bool {
        root == "/" ? path.count > 1 && path.hasPrefix("/") : path.hasPrefix(root + "/")
    }
}
