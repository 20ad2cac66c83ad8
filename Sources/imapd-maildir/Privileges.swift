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
