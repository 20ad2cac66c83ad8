// Creating, deleting and renaming Maildir++ folders.
//
// Races handled here:
// - Two creators of one folder (two sessions, or this server and Dovecot): the folder
//   is assembled under root/tmp/ (cur, new, tmp, maildirfolder) and renamed into place
//   in one step, so nobody sees a half-made folder and exactly one creator succeeds;
//   the other gets .alreadyExists.
// - Deleting a folder other sessions still use: the directory is first renamed out of
//   the tree (into root/tmp/) and only then removed, so the name disappears atomically
//   and a concurrent creator of the same name gets a brand-new directory (and a new
//   UIDVALIDITY: the uidlist went with the old one).
// - Rename: rename(2) of the folder and then of each child `.Old.X`; a concurrent
//   listing may briefly see some children under the old name.
import Glibc

extension Mailstore {
    /// Creates the folder (`.A.B` with cur/, new/, tmp/ and an empty `maildirfolder`).
    /// Parents are not created: Maildir++ does not need them (they list as \Noselect).
    /// Returns the directory.
    @discardableResult
    func createFolderAsOwner(_ components: [String]) throws -> String {
        let display = FolderName.normalized(components).joined(separator: "/")
        if FolderName.isInbox(components) { throw StoreError.alreadyExists(display) }
        try FolderName.validateNew(components)
        let directory = try directory(for: components)
        guard (try POSIX.status(root))?.isDirectory == true else { throw StoreError.nonexistent(root) }
        if let existing = try POSIX.status(directory, followSymlinks: false) {
            guard existing.isDirectory, (try POSIX.status(POSIX.join(directory, MaildirNames.cur))) == nil else {
                throw StoreError.alreadyExists(display)
            }
            // A directory that only held children (`.A` made by another tool): complete it.
            try populate(directory)
            return directory
        }
        let staging = try stagingPath("create")
        try POSIX.makeDirectory(staging)
        do {
            try populate(staging)
            if rename(staging, directory) != 0 {
                let code = errno
                throw code == EEXIST || code == ENOTEMPTY
                    ? StoreError.alreadyExists(display) : POSIX.error(directory, code)
            }
        } catch {
            try? FileTree.remove(staging)
            throw error
        }
        try POSIX.fsyncDirectory(root)
        return directory
    }

    /// Deletes the folder and its messages. Children (`.A.B` of `.A`) stay: A then lists
    /// as \Noselect (RFC 9051 §6.3.5). INBOX cannot be deleted.
    func deleteFolderAsOwner(_ components: [String]) throws {
        let display = FolderName.normalized(components).joined(separator: "/")
        if FolderName.isInbox(components) { throw StoreError.invalidName("INBOX cannot be deleted") }
        let directory = try directory(for: components)
        guard let status = try POSIX.status(directory, followSymlinks: false) else {
            throw StoreError.nonexistent(display)
        }
        if status.isSymlink {
            // Never follow it: only the link goes.
            if unlink(directory) != 0 { throw POSIX.error(directory) }
            return
        }
        guard status.isDirectory else { throw StoreError.nonexistent(display) }
        let trash = try stagingPath("delete")
        if rename(directory, trash) != 0 {
            let code = errno
            throw POSIX.isMissing(code) ? StoreError.nonexistent(display) : POSIX.error(directory, code)
        }
        try FileTree.remove(trash)
        try POSIX.fsyncDirectory(root)
        do {
            try moveSpecialUses(from: components, to: nil)
        } catch {
            logger.warning("special use not removed", metadata: ["error": "\(error)"])
        }
    }

    /// Renames the folder and every folder below it. The folder keeps its UIDVALIDITY
    /// (its uidlist moves with it). Renaming INBOX is not supported yet (.invalidName).
    func renameFolderAsOwner(_ from: [String], to: [String]) throws {
        let fromDisplay = FolderName.normalized(from).joined(separator: "/")
        let toDisplay = FolderName.normalized(to).joined(separator: "/")
        if FolderName.isInbox(from) { throw StoreError.invalidName("renaming INBOX is not supported") }
        if FolderName.isInbox(to) { throw StoreError.alreadyExists(toDisplay) }
        try FolderName.validateNew(to)
        guard let fromName = try FolderName.directoryName(for: from),
            let toName = try FolderName.directoryName(for: to)
        else { throw StoreError.invalidName("INBOX") }
        if toName.hasPrefix(fromName + String(MaildirNames.folderSeparator)) || toName == fromName {
            throw StoreError.invalidName("cannot rename \(fromDisplay) into itself")
        }
        let source = try directory(for: from)
        let target = try directory(for: to)
        if try POSIX.status(target, followSymlinks: false) != nil { throw StoreError.alreadyExists(toDisplay) }
        let childPrefix = fromName + String(MaildirNames.folderSeparator)
        let children = try POSIX.directoryEntries(root).filter { $0.hasPrefix(childPrefix) }
        let sourceExists = try POSIX.status(source, followSymlinks: false) != nil
        guard sourceExists || !children.isEmpty else { throw StoreError.nonexistent(fromDisplay) }
        // Check every new child name before moving anything.
        var moves: [(String, String)] = []
        for child in children {
            let newName = toName + child.dropFirst(fromName.count)
            guard newName.utf8.count <= PathLimits.maxNameBytes else {
                throw StoreError.invalidName("name longer than \(PathLimits.maxNameBytes) bytes on disk")
            }
            let newPath = POSIX.join(root, newName)
            if try POSIX.status(newPath, followSymlinks: false) != nil { throw StoreError.alreadyExists(newName) }
            moves.append((POSIX.join(root, child), newPath))
        }
        if sourceExists { moves.insert((source, target), at: 0) }
        for (old, new) in moves where rename(old, new) != 0 {
            let code = errno
            throw code == EEXIST || code == ENOTEMPTY ? StoreError.alreadyExists(toDisplay) : POSIX.error(old, code)
        }
        try POSIX.fsyncDirectory(root)
        // The folders have moved: a failure here must not report the RENAME as failed.
        do {
            try renameSubscriptions(from: from, to: to)
            try moveSpecialUses(from: from, to: to)
        } catch {
            logger.warning("subscriptions or special use not renamed", metadata: ["error": "\(error)"])
        }
    }

    /// cur/ new/ tmp/ and the `maildirfolder` marker inside `directory`.
    private func populate(_ directory: String) throws {
        for sub in [MaildirNames.cur, MaildirNames.new, MaildirNames.tmp] {
            try POSIX.makeDirectory(POSIX.join(directory, sub))
        }
        let marker = POSIX.join(directory, MaildirNames.maildirFolderMarker)
        guard let fd = try POSIX.open(marker, O_WRONLY | O_CREAT) else { throw POSIX.error(marker, ENOENT) }
        close(fd)
    }

    /// A fresh name under root/tmp/ (same filesystem, invisible to folder listings).
    private func stagingPath(_ purpose: String) throws -> String {
        let tmp = POSIX.join(root, MaildirNames.tmp)
        try POSIX.makeDirectory(tmp)
        var generator = SystemRandomNumberGenerator()
        let random = String(generator.next() as UInt64, radix: 16)
        return POSIX.join(tmp, ".imapd-\(purpose).\(getpid()).\(random)")
    }
}
