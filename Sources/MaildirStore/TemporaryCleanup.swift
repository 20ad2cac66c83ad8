// Stale files in a folder's tmp/: an APPEND whose client disconnected mid-literal, a
// COPY interrupted by a crash, or another program's abandoned delivery. As Dovecot does
// (MAILDIR_TMP_DELETE_SECS), files whose inode has not changed for 36 hours are removed.
//
// Races handled here:
// - A file being staged right now can carry an old mtime: APPEND sets the tmp/ file's
//   mtime to the client's INTERNALDATE before renaming it into cur/, and COPY hard-links
//   the source (whose mtime is its INTERNALDATE) into the destination's tmp/. The age is
//   therefore read from the change time (ctime), as Dovecot does: write, futimens, link
//   and rename all set it to now, and nobody can set it back. Judging by mtime removed
//   such files between staging and rename (the APPEND or COPY then failed with ENOENT).
// - Unlink of a file another cleaner removed first fails with ENOENT, which is ignored.
// Directories (the Mailstore's staging area under root/tmp/) and symlinks are never
// touched.
import Glibc

extension SharedFolder {
    /// Dovecot's MAILDIR_TMP_DELETE_SECS.
    public static let staleTemporarySeconds: Int64 = 36 * 60 * 60

    /// Removes regular files in tmp/ whose inode changed last (ctime) more than 36 hours
    /// ago. Returns how many were removed. Errors (tmp/ missing or unreadable) remove
    /// nothing.
    @discardableResult
    public func removeStaleTemporaryFiles() -> Int {
        let now = Timestamp.now().seconds
        return (try? owner.perform { removeStaleTemporaryFiles(now: now) }) ?? 0
    }

    /// The same as seen at `now` (seconds since the epoch): tests look 36 hours ahead,
    /// since no file's ctime can be set into the past.
    func removeStaleTemporaryFiles(now: Int64) -> Int {
        let tmp = POSIX.join(directory, MaildirNames.tmp)
        guard let names = try? POSIX.directoryEntries(tmp) else { return 0 }
        let cutoff = now - Self.staleTemporarySeconds
        var removed = 0
        for name in names {
            let path = POSIX.join(tmp, name)
            var st = stat()
            guard lstat(path, &st) == 0, st.st_mode & S_IFMT == S_IFREG, Int64(st.st_ctim.tv_sec) < cutoff else {
                continue
            }
            if unlink(path) == 0 { removed += 1 }
        }
        return removed
    }
}
