import CFileCredentials

#if canImport(Glibc)
    import Glibc
#endif

/// `--user NAME`: give up root for good, as Dovecot's and Postfix's daemons do.
/// Order matters: supplementary groups and the group while still root, the user last;
/// then check that root cannot be regained.
enum Privileges {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    static func drop(to name: String) throws {
        var entry = passwd()
        var result: UnsafeMutablePointer<passwd>?
        var buffer = [CChar](repeating: 0, count: 16 * 1024)
        let rc = getpwnam_r(name, &entry, &buffer, buffer.count, &result)
        guard rc == 0, result != nil else { throw Failure(description: "--user: no such user \(name)") }
        let uid = entry.pw_uid
        let gid = entry.pw_gid
        guard initgroups(name, gid) == 0 else { throw failure("initgroups") }
        guard setgid(gid) == 0 else { throw failure("setgid") }
        guard setuid(uid) == 0 else { throw failure("setuid") }
        guard getuid() == uid, geteuid() == uid, getgid() == gid, getegid() == gid else {
            throw Failure(description: "--user: ids did not change")
        }
        if uid != 0 && setuid(0) == 0 {
            throw Failure(description: "--user: root could be regained after dropping privileges")
        }
    }

    private static func failure(_ call: String) -> Failure {
        Failure(description: "--user: \(call) failed (errno \(errno)); start as root to use --user")
    }
}

/// Started as root without `--user`: the server serves every system user's Maildir with
/// per-thread file-system ids (MaildirStore/FileOwner.swift) and keeps only the
/// capabilities that needs. Capabilities are per thread on Linux, and new threads copy
/// their creator's, so this runs first thing, before the server starts any thread
/// (event loops, the blocking pool, Dispatch, the inotify watcher).
///
/// Kept (everything else is dropped from the effective, permitted, inheritable and
/// bounding sets, and PR_SET_NO_NEW_PRIVS is set, so no exec gets them back):
/// - CAP_SETUID, CAP_SETGID: setfsuid/setfsgid around each file operation;
/// - CAP_DAC_READ_SEARCH: as root (fs uid 0), to stat a Maildir root inside a 0700 home
///   to learn its owner, watch folders with inotify, and re-read the passwd file and the
///   TLS certificate wherever they are; it reads and searches, it never writes;
/// - CAP_NET_BIND_SERVICE: the listeners on 143 and 993 are bound after this point.
/// Dropped, among others: CAP_DAC_OVERRIDE (root cannot write other users' files),
/// CAP_CHOWN, CAP_FOWNER, CAP_KILL, CAP_SYS_ADMIN, CAP_SYS_PTRACE.
/// Supplementary groups are cleared (they are per process, not per thread): with a
/// user's fs ids only that user's primary group then counts.
extension Privileges {
    static let keptCapabilities: [(name: String, number: Int)] = [
        ("CAP_DAC_READ_SEARCH", 2), ("CAP_SETGID", 6), ("CAP_SETUID", 7), ("CAP_NET_BIND_SERVICE", 10),
    ]

    static var keptCapabilityMask: UInt64 { keptCapabilities.reduce(0) { $0 | (1 << UInt64($1.number)) } }

    static func keepOnlyFileCapabilities() throws {
        guard setgroups(0, nil) == 0 else {
            throw Failure(description: "dropping capabilities: setgroups failed (errno \(errno))")
        }
        guard imapd_limit_capabilities(keptCapabilityMask) == 0 else {
            throw Failure(description: "dropping capabilities: capset failed (errno \(errno))")
        }
        guard imapd_set_no_new_privileges() == 0 else {
            throw Failure(description: "dropping capabilities: prctl(PR_SET_NO_NEW_PRIVS) failed (errno \(errno))")
        }
        guard imapd_effective_capabilities() == keptCapabilityMask else {
            throw Failure(description: "dropping capabilities: the effective set did not change")
        }
    }
}
