// Thin wrappers over the Glibc calls the store needs, turning errno into StoreError.
// Races: none handled here; callers decide what ENOENT means (most return nil for it,
// because a file vanishing between readdir and stat/open is normal in a Maildir).
import Glibc

/// A file timestamp with nanoseconds (st_mtim), ordered.
struct Timestamp: Hashable, Comparable, Sendable {
    var seconds: Int64
    var nanoseconds: Int64

    init(seconds: Int64, nanoseconds: Int64) {
        self.seconds = seconds
        self.nanoseconds = nanoseconds
    }

    init(_ ts: timespec) {
        self.init(seconds: Int64(ts.tv_sec), nanoseconds: Int64(ts.tv_nsec))
    }

    static func < (lhs: Timestamp, rhs: Timestamp) -> Bool {
        (lhs.seconds, lhs.nanoseconds) < (rhs.seconds, rhs.nanoseconds)
    }

    /// Nanoseconds since the epoch (fits in Int64 until 2262).
    var totalNanoseconds: Int64 { seconds &* 1_000_000_000 &+ nanoseconds }

    static func now() -> Timestamp {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Timestamp(ts)
    }

    var timespecValue: timespec { timespec(tv_sec: Int(seconds), tv_nsec: Int(nanoseconds)) }
}

/// What the store needs from stat(2).
struct FileStatus: Hashable, Sendable {
    var device: UInt64
    var inode: UInt64
    var mode: UInt32
    var size: Int
    var mtime: Timestamp

    init(_ st: stat) {
        device = UInt64(st.st_dev)
        inode = UInt64(st.st_ino)
        mode = UInt32(st.st_mode)
        size = Int(st.st_size)
        mtime = Timestamp(st.st_mtim)
    }

    var isDirectory: Bool { mode & UInt32(S_IFMT) == UInt32(S_IFDIR) }
    var isRegular: Bool { mode & UInt32(S_IFMT) == UInt32(S_IFREG) }
    var isSymlink: Bool { mode & UInt32(S_IFMT) == UInt32(S_IFLNK) }
    /// Same file (not just same contents): device and inode.
    func isSameFile(as other: FileStatus) -> Bool { device == other.device && inode == other.inode }
}

enum POSIX {
    /// UTIME_OMIT of <sys/stat.h> (a macro Swift does not import): leave that time alone.
    static let utimeOmit = (1 << 30) - 2

    static func error(_ path: String, _ code: Int32 = errno) -> StoreError { .io(path, errno: code) }

    /// Whether errno means "the path is not there" (vanished file or parent).
    static func isMissing(_ code: Int32) -> Bool { code == ENOENT || code == ENOTDIR }

    /// stat or lstat; nil when the path does not exist.
    static func status(_ path: String, followSymlinks: Bool = true) throws -> FileStatus? {
        var st = stat()
        let rc = followSymlinks ? stat(path, &st) : lstat(path, &st)
        if rc == 0 { return FileStatus(st) }
        let code = errno
        if isMissing(code) { return nil }
        throw error(path, code)
    }

    static func status(fd: Int32, path: String) throws -> FileStatus {
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw error(path) }
        return FileStatus(st)
    }

    /// Names in a directory except "." and "..", undecodable (non-UTF-8) names skipped.
    /// Throws .io(path, ENOENT) when the directory does not exist.
    static func directoryEntries(_ path: String) throws -> [String] {
        try typedDirectoryEntries(path).map(\.name)
    }

    /// The same with each entry's d_type (DT_REG, DT_LNK, …; DT_UNKNOWN where the file
    /// system does not say): a scan learns which names are regular files without a stat
    /// per file.
    static func typedDirectoryEntries(_ path: String) throws -> [(name: String, type: UInt8)] {
        guard let dir = opendir(path) else { throw error(path) }
        defer { closedir(dir) }
        var entries: [(name: String, type: UInt8)] = []
        while true {
            errno = 0
            guard let entry = readdir(dir) else {
                if errno != 0 { throw error(path) }
                break
            }
            let name: String? = withUnsafePointer(to: &entry.pointee.d_name) { tuple in
                tuple.withMemoryRebound(to: CChar.self, capacity: MemoryLayout.size(ofValue: tuple.pointee)) {
                    String(validatingCString: $0)
                }
            }
            guard let name, name != ".", name != ".." else { continue }
            entries.append((name, entry.pointee.d_type))
        }
        return entries
    }

    static func open(_ path: String, _ flags: Int32, mode: mode_t = 0o600) throws -> Int32? {
        let fd = Glibc.open(path, flags | O_CLOEXEC, mode)
        if fd >= 0 { return fd }
        let code = errno
        if isMissing(code) { return nil }
        throw error(path, code)
    }

    /// Opens an existing file (a message, `maildirsize`) for reading, or with `flags`;
    /// nil when it is missing or is not a regular file. Symlinks are never followed
    /// (one planted in cur/ could point anywhere, e.g. at another user's mail: ELOOP)
    /// and O_NONBLOCK keeps a FIFO from blocking the open (a write open of one without
    /// a reader, or any open of a socket, fails with ENXIO).
    /// Starts reading a regular file's contents into the page cache; nothing when it is
    /// missing or not a regular file.
    static func readAhead(_ path: String) {
        guard let (fd, _) = try? openRegularFile(path) else { return }
        _ = posix_fadvise(fd, 0, 0, POSIX_FADV_WILLNEED)
        close(fd)
    }

    static func openRegularFile(_ path: String, flags: Int32 = O_RDONLY) throws -> (fd: Int32, status: FileStatus)? {
        let fd = Glibc.open(path, flags | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else {
            let code = errno
            if isMissing(code) || code == ELOOP || code == ENXIO { return nil }
            throw error(path, code)
        }
        do {
            let status = try status(fd: fd, path: path)
            guard status.isRegular else {
                close(fd)
                return nil
            }
            return (fd, status)
        } catch {
            close(fd)
            throw error
        }
    }

    /// Reads up to `count` bytes at `offset`, retrying on EINTR and short reads; shorter
    /// only at end of file.
    static func pread(fd: Int32, path: String, offset: Int, count: Int) throws -> [UInt8] {
        guard count > 0, offset >= 0 else { return [] }
        var result = [UInt8](repeating: 0, count: count)
        var done = 0
        try result.withUnsafeMutableBytes { buffer in
            guard let base = buffer.baseAddress else { return }
            while done < count {
                let n = Glibc.pread(fd, base + done, count - done, off_t(offset + done))
                if n < 0 {
                    if errno == EINTR { continue }
                    throw error(path)
                }
                if n == 0 { break }
                done += n
            }
        }
        result.removeSubrange(done...)
        return result
    }

    /// The whole file, or nil when it does not exist.
    static func readFile(_ path: String, from offset: Int = 0) throws -> [UInt8]? {
        guard let fd = try open(path, O_RDONLY) else { return nil }
        defer { close(fd) }
        let st = try status(fd: fd, path: path)
        var bytes = try pread(fd: fd, path: path, offset: offset, count: max(0, st.size - offset))
        // The file may have grown since fstat (an append in progress): read the rest.
        while true {
            let more = try pread(fd: fd, path: path, offset: offset + bytes.count, count: 65536)
            if more.isEmpty { break }
            bytes += more
        }
        return bytes
    }

    static func writeAll(fd: Int32, path: String, _ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try writeAll(fd: fd, path: path, $0) }
    }

    static func writeAll(fd: Int32, path: String, _ buffer: UnsafeRawBufferPointer) throws {
        guard let base = buffer.baseAddress else { return }
        var done = 0
        while done < buffer.count {
            let n = write(fd, base + done, buffer.count - done)
            if n < 0 {
                if errno == EINTR { continue }
                throw error(path)
            }
            done += n
        }
    }

    /// Sets a file's mtime (INTERNALDATE), leaving its atime alone.
    static func setModificationTime(fd: Int32, path: String, seconds: Int64) throws {
        var times = [timespec(tv_sec: 0, tv_nsec: utimeOmit), timespec(tv_sec: Int(seconds), tv_nsec: 0)]
        if futimens(fd, &times) != 0 { throw error(path) }
    }

    static func fsyncDirectory(_ path: String) throws {
        guard let fd = try open(path, O_RDONLY | O_DIRECTORY) else { throw error(path, ENOENT) }
        defer { close(fd) }
        if fsync(fd) != 0 && errno != EINVAL { throw error(path) }
    }

    /// Writes `temporaryPath` completely, fsyncs it, renames it over `path` and fsyncs the
    /// directory: readers see either the old or the new file, never a partial one. When
    /// `newerThan` is given the new file's mtime is made later than it (readers that cache
    /// by mtime must notice the rewrite even within one timestamp tick).
    static func writeAtomically(
        path: String, temporaryPath: String, directory: String, contents: [UInt8], newerThan: Timestamp? = nil
    ) throws {
        guard let fd = try open(temporaryPath, O_WRONLY | O_CREAT | O_TRUNC) else {
            throw error(temporaryPath, ENOENT)
        }
        var closed = false
        defer { if !closed { close(fd) } }
        do {
            try writeAll(fd: fd, path: temporaryPath, contents)
            if let newerThan {
                let written = try status(fd: fd, path: temporaryPath)
                if written.mtime <= newerThan {
                    var bumped = newerThan
                    bumped.nanoseconds += 1
                    if bumped.nanoseconds >= 1_000_000_000 {
                        bumped.seconds += 1
                        bumped.nanoseconds = 0
                    }
                    var times = [timespec(tv_sec: 0, tv_nsec: POSIX.utimeOmit), bumped.timespecValue]
                    if futimens(fd, &times) != 0 { throw error(temporaryPath) }
                }
            }
            if fsync(fd) != 0 { throw error(temporaryPath) }
            closed = true
            if close(fd) != 0 { throw error(temporaryPath) }
            if rename(temporaryPath, path) != 0 { throw error(path) }
        } catch {
            unlink(temporaryPath)
            throw error
        }
        try fsyncDirectory(directory)
    }

    /// mkdir; false when it already existed.
    @discardableResult
    static func makeDirectory(_ path: String, mode: mode_t = 0o700) throws -> Bool {
        if mkdir(path, mode) == 0 { return true }
        let code = errno
        if code == EEXIST { return false }
        throw error(path, code)
    }

    /// Canonical absolute path with symlinks resolved, or nil when it does not exist.
    static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    static func hostName() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "localhost" }
        let bytes = buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Joins a directory and a name with exactly one '/'.
    static func join(_ directory: String, _ name: String) -> String {
        directory.hasSuffix("/") ? directory + name : directory + "/" + name
    }
}
