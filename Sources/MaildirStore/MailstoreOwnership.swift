// The public face of Mailstore: every operation that touches the user's files runs with
// the Maildir owner's file-system ids (FileOwner.swift), so the kernel checks it as that
// user and whatever it creates belongs to that user. The work itself is in the
// `…AsOwner` methods (Mailstore.swift, MailstoreMutations.swift, Subscriptions.swift,
// SpecialUseFile.swift).
import Glibc
import Logging

extension Mailstore {
    /// Creates root with cur/new/tmp if missing (used by --create-users).
    public func createIfMissing() throws { try owner.perform { try createIfMissingAsOwner() } }

    /// Whether the Maildir (its cur/) is there, as its owner sees it.
    public var exists: Bool { (try? owner.perform { existsAsOwner }) ?? false }

    /// Every folder, INBOX first, then sorted by components.
    public func listFolders() throws -> [FolderEntry] { try owner.perform { try listFoldersAsOwner() } }

    /// The folder's directory if it exists and is selectable (see existingFolderAsOwner).
    public func existingFolder(_ components: [String]) throws -> String {
        try owner.perform { try existingFolderAsOwner(components) }
    }

    /// CREATE: see createFolderAsOwner.
    @discardableResult
    public func createFolder(_ components: [String]) throws -> String {
        try owner.perform { try createFolderAsOwner(components) }
    }

    public func deleteFolder(_ components: [String]) throws {
        try owner.perform { try deleteFolderAsOwner(components) }
    }

    public func renameFolder(_ from: [String], to: [String]) throws {
        try owner.perform { try renameFolderAsOwner(from, to: to) }
    }

    public func subscriptions() throws -> [[String]] { try owner.perform { try subscriptionsAsOwner() } }

    public func setSubscribed(_ components: [String], _ subscribed: Bool) throws {
        try owner.perform { try setSubscribedAsOwner(components, subscribed) }
    }

    public func specialUses() throws -> [[String]: [String]] { try owner.perform { try specialUsesAsOwner() } }

    public func setSpecialUse(_ components: [String], _ attributes: [String]) throws {
        try owner.perform { try setSpecialUseAsOwner(components, attributes) }
    }
}

/// Why a user's Maildir cannot be served (logged at login; the client gets
/// `NO [UNAVAILABLE]`).
public struct MaildirUnavailable: Error, Sendable, CustomStringConvertible {
    public let description: String
}

extension Mailstore {
    /// A user's Maildir at login, with its owner decided and its root checked as that
    /// owner (issue 13 items 1 and 2):
    /// - the owner is `uid`/`gid` when the passwd entry gives them (Dovecot's passwd-file
    ///   semantics; a missing gid is the Maildir root's group), else the owner of the
    ///   Maildir root; with no switching (not root) there is none;
    /// - the root must exist, be a directory with cur/, and be readable, writable and
    ///   searchable by that owner; otherwise `MaildirUnavailable` says which.
    public static func forUser(root: String, uid: UInt32?, gid: UInt32?, logger: Logger) throws(MaildirUnavailable)
        -> Mailstore
    {
        var st = stat()
        guard stat(root, &st) == 0 else {
            throw MaildirUnavailable(description: "Maildir \(root): \(String(cString: strerror(errno)))")
        }
        guard st.st_mode & S_IFMT == S_IFDIR else {
            throw MaildirUnavailable(description: "Maildir \(root) is not a directory")
        }
        var owner: FileOwner? = nil
        if FileOwner.switchingEnabled {
            owner = FileOwner(uid: uid ?? st.st_uid, gid: gid ?? st.st_gid)
        }
        let store = Mailstore(root: root, logger: logger, owner: owner)
        try store.checkAccessible()
        return store
    }

    /// The root and its cur/ checked as the owner: the kernel's answer, not a guess from
    /// mode bits (faccessat with AT_EACCESS checks with the file-system ids, which
    /// access(2) would replace with the real ones).
    func checkAccessible() throws(MaildirUnavailable) {
        let who = owner.map { " for uid \($0.uid)" } ?? ""
        let problem: String?
        do {
            problem = try owner.perform { () -> String? in
                if faccessat(AT_FDCWD, root, R_OK | W_OK | X_OK, AT_EACCESS) != 0 {
                    return "Maildir \(root) is not accessible\(who): \(String(cString: strerror(errno)))"
                }
                let cur = POSIX.join(root, MaildirNames.cur)
                var st = stat()
                guard stat(cur, &st) == 0, st.st_mode & S_IFMT == S_IFDIR else {
                    return "Maildir \(root) has no usable cur/\(who): \(String(cString: strerror(errno)))"
                }
                guard faccessat(AT_FDCWD, cur, R_OK | W_OK | X_OK, AT_EACCESS) == 0 else {
                    return "Maildir \(cur) is not readable and writable\(who): \(String(cString: strerror(errno)))"
                }
                return nil
            }
        } catch {
            problem = "could not take the file-system ids\(who)"
        }
        if let problem { throw MaildirUnavailable(description: problem) }
    }
}

extension FolderRegistry {
    /// Opens a folder of `store`'s Maildir with the store's owner (see `open`).
    public func open(directory: String, store: Mailstore) throws -> SharedFolder {
        try open(directory: directory, mailRoot: store.root, owner: store.owner)
    }
}
