// Reading, appending and compacting one header cache file (HeaderCacheFormat). Always
// called inside the folder owner's `FileOwner.perform`, so a file created here belongs
// to the user, and the kernel checks every access as that user.
//
// - Opens never follow a symlink and never block on a FIFO (O_NOFOLLOW|O_NONBLOCK), and
//   only a regular file is read or written: a careless program's link or pipe at the
//   cache's path is ignored, never followed.
// - One writer at a time: appends and compactions hold flock(2) on the file, and an
//   appender checks after getting it that the path still names the file it opened (a
//   compaction may have renamed a new one over it meanwhile).
// - Appends are O_APPEND, one write(2) per frame. When the file is not as this process
//   last saw it (another process wrote it, or its tail was torn), it is decoded again
//   under the lock first, and a torn tail or a foreign header is cut off (ftruncate)
//   before the new frame goes out: a frame is never appended after damage.
import Glibc
import MaildirStore

struct HeaderCacheFile: Sendable {
    let kind: HeaderCacheFormat.Kind
    let path: String
    /// Beyond this the file is not grown (and one found larger is started again).
    let maxBytes: Int

    /// What identifies the file as this process last read or wrote it.
    struct Mark: Sendable, Equatable {
        var device: UInt64
        var inode: UInt64
        var size: Int
        /// A file rewritten in place to the same size (cut back after damage, then
        /// appended to) differs here.
        var mtimeSeconds: Int64
        var mtimeNanoseconds: UInt32

        init(device: UInt64, inode: UInt64, size: Int, mtimeSeconds: Int64, mtimeNanoseconds: UInt32) {
            self.device = device
            self.inode = inode
            self.size = size
            self.mtimeSeconds = mtimeSeconds
            self.mtimeNanoseconds = mtimeNanoseconds
        }

        init(_ st: stat) {
            device = UInt64(st.st_dev)
            inode = UInt64(st.st_ino)
            size = Int(st.st_size)
            mtimeSeconds = Int64(st.st_mtim.tv_sec)
            mtimeNanoseconds = UInt32(truncatingIfNeeded: st.st_mtim.tv_nsec)
        }
    }

    /// The path's file now (lstat: a symlink is not the file), nil when missing.
    func currentMark() -> Mark? {
        var st = stat()
        guard lstat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { return nil }
        return Mark(st)
    }

    /// The file's bytes and mark; no bytes when it is missing, not a regular file or
    /// too large (then started again).
    func readBytes() -> (bytes: [UInt8], mark: Mark?) {
        guard let (bytes, mark) = CacheFileIO.read(path, maxBytes: maxBytes) else { return ([], nil) }
        return (bytes, mark)
    }

    private func readAll(_ fd: Int32) -> ([UInt8], Mark)? { CacheFileIO.readAll(fd, maxBytes: maxBytes) }

    /// What an append found and left.
    struct Appended: Sendable {
        /// The file after the append (nil when nothing could be written).
        var mark: Mark?
        /// When the file was not as `known` said: what it held before this append
        /// (entries of another UIDVALIDITY or a foreign file count as none).
        var reloaded: [HeaderCacheFormat.Entry]?
    }

    /// Appends one frame of `entries`. `known` is the mark this process last saw; when
    /// the file differs, its intact entries come back in `reloaded`.
    func append(_ entries: [HeaderCacheFormat.Entry], uidValidity: UInt32, known: Mark?) -> Appended {
        CacheFileIO.withAppendLock(path) { fd, st in
            appendLocked(fd, Mark(st), entries, uidValidity: uidValidity, known: known)
        } ?? Appended(mark: nil)
    }

    private func appendLocked(
        _ fd: Int32, _ mark: Mark, _ entries: [HeaderCacheFormat.Entry], uidValidity: UInt32, known: Mark?
    ) -> Appended {
        var result = Appended(mark: nil)
        var keep = mark.size
        var needsHeader = mark.size == 0
        if mark != known && mark.size > 0 {
            // Not what we last saw: decode it under the lock, keep its intact part.
            let contents = readAll(fd).flatMap { HeaderCacheFormat.decode(kind, $0.0) }
            if let contents, contents.uidValidity == uidValidity {
                result.reloaded = contents.entries
                keep = contents.validEnd
            } else {
                result.reloaded = []
                keep = 0
                needsHeader = true
            }
        }
        var bytes = needsHeader ? HeaderCacheFormat.fileHeader(kind, uidValidity: uidValidity) : []
        bytes += HeaderCacheFormat.frame(kind, entries)
        if keep + bytes.count > maxBytes { return result }
        if keep < mark.size { guard ftruncate(fd, off_t(keep)) == 0 else { return result } }
        guard writeAll(fd, bytes) else {
            // A short write (disk full): cut it off again so no torn frame stays.
            _ = ftruncate(fd, off_t(keep))
            return result
        }
        var st = stat()
        if fstat(fd, &st) == 0 { result.mark = Mark(st) }
        return result
    }

    /// Replaces the file with one holding exactly `entries` (compaction, or a file of
    /// another UIDVALIDITY started again): written to `<path>.tmp` and renamed over it
    /// while holding the old file's lock. Returns the new file's mark.
    func rewrite(_ entries: [HeaderCacheFormat.Entry], uidValidity: UInt32) -> Mark? {
        let old = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
        defer { if old >= 0 { close(old) } }
        if old >= 0 { _ = flock(old, LOCK_EX) }
        var bytes = HeaderCacheFormat.fileHeader(kind, uidValidity: uidValidity)
        // Frames of a bounded size, so no frame nears maxFrameBytes.
        var start = 0
        while start < entries.count {
            let end = min(start + 4096, entries.count)
            bytes += HeaderCacheFormat.frame(kind, Array(entries[start..<end]))
            start = end
        }
        guard bytes.count <= maxBytes else { return nil }
        return CacheFileIO.replace(path, with: bytes)
    }

    private func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool { CacheFileIO.writeAll(fd, bytes) }
}

/// The reads and writes both kinds of cache file share (the header cache's two, and
/// the thread file).
enum CacheFileIO {
    /// The whole of the regular file at `path`, never through a symlink or blocking on
    /// a FIFO; nil when there is none.
    static func read(_ path: String, maxBytes: Int) -> ([UInt8], HeaderCacheFile.Mark)? {
        let fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        return readAll(fd, maxBytes: maxBytes)
    }

    /// The whole of a regular file (none of one larger than `maxBytes`: empty bytes).
    static func readAll(_ fd: Int32, maxBytes: Int) -> ([UInt8], HeaderCacheFile.Mark)? {
        var st = stat()
        guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { return nil }
        let size = Int(st.st_size)
        guard size <= maxBytes else { return ([], HeaderCacheFile.Mark(st)) }
        var bytes = [UInt8](repeating: 0, count: size)
        var done = 0
        while done < size {
            let n = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + done, size - done, off_t(done)) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            done += n
        }
        // A file that shrank under the read: what was read is decoded as it stands.
        if done < size { bytes.removeSubrange(done...) }
        return (bytes, HeaderCacheFile.Mark(st))
    }

    static func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + done, bytes.count - done) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return false }
            done += n
        }
        return true
    }

    /// Runs `body` with `path` open for reading and appending (created when missing)
    /// under flock(2), once the path is known to still name the file locked: a
    /// compaction may have renamed a new one over it while we waited (then that one is
    /// opened). The descriptor is readable, so a file not as the caller last saw it can
    /// be read again under the lock. nil when it cannot be opened or locked, or is not a
    /// regular file.
    static func withAppendLock<R>(_ path: String, _ body: (Int32, stat) -> R) -> R? {
        for _ in 0..<2 {
            let fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0o600)
            guard fd >= 0 else { return nil }
            defer { close(fd) }
            guard flock(fd, LOCK_EX) == 0 else { return nil }
            var st = stat()
            guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { return nil }
            var now = stat()
            guard lstat(path, &now) == 0, now.st_ino == st.st_ino, now.st_dev == st.st_dev else { continue }
            return body(fd, st)
        }
        return nil
    }

    /// `<path>.tmp`, created empty for writing; nil when a link or pipe is planted
    /// there (never followed or blocked on) or it cannot be made.
    static func openTemporary(for path: String) -> (fd: Int32, path: String)? {
        let temporary = path + HeaderCacheNames.temporarySuffix
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return nil }
        var st = stat()
        guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else {
            close(fd)
            return nil
        }
        return (fd, temporary)
    }

    /// Replaces `path` with a file holding `bytes`: written to `<path>.tmp` (a link or
    /// pipe planted there is never followed or blocked on) and renamed over it.
    /// Returns the new file's mark; nil when nothing was replaced.
    static func replace(_ path: String, with bytes: [UInt8]) -> HeaderCacheFile.Mark? {
        guard let (fd, temporary) = openTemporary(for: path) else { return nil }
        defer { close(fd) }
        var st = stat()
        guard writeAll(fd, bytes), rename(temporary, path) == 0 else {
            unlink(temporary)
            return nil
        }
        guard fstat(fd, &st) == 0 else { return nil }
        return HeaderCacheFile.Mark(st)
    }
}
