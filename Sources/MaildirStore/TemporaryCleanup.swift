// Stale files in a folder's tmp/: an APPEND whose client disconnected mid-literal, a
// COPY interrupted by a crash, or another program's abandoned delivery. As Dovecot does
// (MAILDIR_TMP_DELETE_SECS), files untouched for 36 hours are removed.
//
// Races handled here: a file still being written is younger than 36 hours (its mtime
// moves with every write), so only abandoned files qualify; unlink of a file another
// cleaner removed first fails with ENOENT, which is ignored. Directories (the
// Mailstore's staging area under root/tmp/) and symlinks are never touched.
import Glibc

extension SharedFolder {
    /// Dovecot's MAILDIR_TMP_DELETE_SECS.
    public static let staleTemporarySeconds: Int64 = 36 * 60 * 60

    /// Removes regular files in tmp/ whose mtime is older than 36 hours. Returns how
    /// many were removed. Errors (tmp/ missing or unreadable) remove nothing.
    @discardableResult
    public func removeStaleTemporaryFiles() -> Int {
        let tmp = POSIX.join(directory, MaildirNames.tmp)
        guard let names = try? POSIX.directoryEntries(tmp) else { return 0 }
        let cutoff = Timestamp.now().seconds - Self.staleTemporarySeconds
        var removed = 0
        for name in names {
            let path = POSIX.join(tmp, name)
            guard let status = try? POSIX.status(path, followSymlinks: false), status.isRegular,
                status.mtime.seconds < cutoff
            else { continue }
            if unlink(path) == 0 { removed += 1 }
        }
        return removed
    }
}
