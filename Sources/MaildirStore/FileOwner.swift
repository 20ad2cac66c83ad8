// Per-user file ownership (issue 13 item 1).
//
// A server started as root serves Maildirs that belong to different system users (each
// user owns /var/mail/<user> or ~/Maildir). Every file and directory the server creates
// or replaces in a Maildir must belong to its user, and every read and write must be
// checked by the kernel as that user, so a path mistake (a template or a passwd home
// pointing at someone else's Maildir, a planted symlink) can never reach another user's
// mail.
//
// How: Linux file-system credentials (setfsuid(2)/setfsgid(2)). They are per thread and
// only used for permission checks and for the owner of new files, so
// `FileOwner.perform` switches the calling thread to the user around one blocking file
// operation and switches it back afterwards: no fork per user (Dovecot's way), no
// setuid of the whole process (which glibc applies to every thread), no chown after the
// fact (a window where root owns the file, and CAP_CHOWN kept). While the fs uid is not
// 0 the kernel also clears the thread's file capabilities (CAP_DAC_OVERRIDE,
// CAP_DAC_READ_SEARCH, CAP_FOWNER, CAP_CHOWN, CAP_FSETID), so root's override does not
// apply: the operation sees exactly what the user would.
//
// Every entry point of the store that touches a user's files goes through
// `perform`: the Mailstore methods, and SharedFolder.perform (the one funnel of every
// folder operation, also used by the inotify watcher's thread). New files are created
// 0600 and new directories 0700 (Maildir++ convention; Dovecot's default too), owned
// by the fs uid and gid. Supplementary groups are not switched (they are per process):
// the executable clears them at start (Privileges.swift), so only the user's primary
// group (the fs gid) counts.
//
// When the process is not root (started as a user, or after `--user vmail`) there is
// nothing to switch: the process's own ids are the owner of everything, as before.
import CFileCredentials
import Glibc

/// The system user and group a Maildir belongs to.
public struct FileOwner: Sendable, Hashable, CustomStringConvertible {
    public let uid: UInt32
    public let gid: UInt32

    public init(uid: UInt32, gid: UInt32) {
        self.uid = uid
        self.gid = gid
    }

    public var description: String { "\(uid):\(gid)" }

    /// Whether this process switches credentials at all: only root may, and only root
    /// needs to (a non-root process is the owner of whatever it can touch).
    public static var switchingEnabled: Bool { geteuid() == 0 }

    /// The owner of an existing path (stat(2), following symlinks), or nil when it is
    /// missing or cannot be stat-ed.
    public static func owner(of path: String) -> FileOwner? {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        return FileOwner(uid: st.st_uid, gid: st.st_gid)
    }

    /// Runs `body` on this thread with the file-system uid and gid of this owner, and
    /// restores the previous ones afterwards (nesting is fine: an inner call for the
    /// same owner changes nothing). Throws `.credentials` when the switch did not take
    /// (never runs `body` as root by mistake).
    public func perform<T>(_ body: () throws -> T) throws -> T {
        guard Self.switchingEnabled, uid != 0 || gid != 0 || Self.currentUID() != 0 else { return try body() }
        let previousGID = UInt32(bitPattern: setfsgid(gid))
        let previousUID = UInt32(bitPattern: setfsuid(uid))
        defer {
            setfsuid(previousUID)
            setfsgid(previousGID)
        }
        // setfsuid answers the previous value even when it fails: ask again to know.
        guard Self.currentUID() == uid, Self.currentGID() == gid else {
            throw StoreError.credentials("could not switch the file-system ids to \(self) (errno \(errno))")
        }
        return try body()
    }

    /// This thread's file-system uid (setfsuid(-1) changes nothing and answers it).
    public static func currentUID() -> UInt32 { UInt32(bitPattern: setfsuid(UInt32.max)) }
    public static func currentGID() -> UInt32 { UInt32(bitPattern: setfsgid(UInt32.max)) }
}

extension Optional where Wrapped == FileOwner {
    /// `owner.perform` when there is an owner, `body` as it is otherwise.
    public func perform<T>(_ body: () throws -> T) throws -> T {
        switch self {
        case .some(let owner): return try owner.perform(body)
        case .none: return try body()
        }
    }
}
