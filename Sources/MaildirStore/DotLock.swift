// The `dovecot-uidlist.lock` dot-lock: created with O_CREAT|O_EXCL in the folder
// directory; whoever creates it may append to / rewrite dovecot-uidlist and
// dovecot-keywords. Compatible with Dovecot's file_dotlock (content `<pid>:<host>`).
//
// Races handled here:
// - Two processes (or two SharedFolders of this one) wanting the lock: O_EXCL lets one
//   win; the other polls with a bounded exponential back-off until its timeout and then
//   fails with .locked. Polling, not inotify: the lock is held for milliseconds.
// - A lock left by a crashed process: older than 120 s (mtime), or naming a dead pid of
//   this host, it is stale. Before unlinking it we lstat again and only remove the same
//   inode with the same mtime, so a fresh lock created by a third process in between is
//   not removed (a window of one lstat→unlink remains, as in Dovecot).
// - Our own lock broken by someone else as stale (we held it > 120 s): release only
//   unlinks a file with our inode number and our `<pid>:<host>` content (inode numbers
//   are reused at once on most filesystems, so the inode alone would not tell).
import Glibc
import Logging

/// A held lock; `release()` removes it.
struct HeldDotLock {
    let path: String
    let identity: FileStatus
    let content: [UInt8]

    func release() {
        guard let now = try? POSIX.status(path, followSymlinks: false), now.isSameFile(as: identity),
            (try? POSIX.readFile(path)) == content
        else { return }
        unlink(path)
    }
}

struct DotLocker: Sendable {
    var timeout: Duration
    var staleSeconds: Int = StoreTiming.lockStaleSeconds
    var logger: Logger

    /// Runs `body` while holding the lock file at `path`.
    func withLock<T>(_ path: String, _ body: () throws -> T) throws -> T {
        let lock = try acquire(path)
        defer { lock.release() }
        return try body()
    }

    func acquire(_ path: String) throws -> HeldDotLock {
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: timeout)
        var delay: Duration = .milliseconds(2)
        let content = Array("\(getpid()):\(POSIX.hostName())".utf8)
        while true {
            let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
            if fd >= 0 {
                defer { close(fd) }
                do {
                    try POSIX.writeAll(fd: fd, path: path, content)
                    let identity = try POSIX.status(fd: fd, path: path)
                    return HeldDotLock(path: path, identity: identity, content: content)
                } catch {
                    unlink(path)
                    throw error
                }
            }
            let code = errno
            guard code == EEXIST else { throw POSIX.error(path, code) }
            guard let existing = try POSIX.status(path, followSymlinks: false) else {
                continue  // released between our open and lstat: try again at once
            }
            if isStale(existing, path: path) {
                breakStale(existing, path: path)
                continue
            }
            let now = clock.now
            if now >= deadline { throw StoreError.locked(path) }
            let wait = min(delay, now.duration(to: deadline))
            sleep(wait)
            delay = min(delay * 2, .milliseconds(100))
        }
    }

    private func isStale(_ lock: FileStatus, path: String) -> Bool {
        if Timestamp.now().seconds - lock.mtime.seconds > Int64(staleSeconds) { return true }
        // `<pid>:<host>` of a process of this host that no longer exists.
        guard let bytes = try? POSIX.readFile(path), let colon = bytes.firstIndex(of: UInt8(ascii: ":")),
            let pid = Int32(String(decoding: bytes[..<colon], as: UTF8.self)), pid > 0,
            String(decoding: bytes[(colon + 1)...], as: UTF8.self) == POSIX.hostName()
        else { return false }
        return kill(pid, 0) != 0 && errno == ESRCH
    }

    private func breakStale(_ lock: FileStatus, path: String) {
        guard let again = try? POSIX.status(path, followSymlinks: false), again.isSameFile(as: lock),
            again.mtime == lock.mtime
        else { return }
        logger.warning("removing stale lock", metadata: ["path": "\(path)"])
        unlink(path)
    }

    private func sleep(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        var request = timespec(tv_sec: Int(seconds), tv_nsec: Int(attoseconds / 1_000_000_000))
        var remaining = timespec()
        while nanosleep(&request, &remaining) != 0 && errno == EINTR { request = remaining }
    }
}
