import Glibc

/// What identifies one version of the passwd file: a rename over it changes the inode,
/// an edit in place changes the mtime (nanoseconds) and usually the size.
struct FileSignature: Equatable, Sendable {
    var device: UInt64
    var inode: UInt64
    var size: Int64
    var modificationSeconds: Int
    var modificationNanoseconds: Int

    init(_ status: stat) {
        device = UInt64(status.st_dev)
        inode = UInt64(status.st_ino)
        size = Int64(status.st_size)
        modificationSeconds = Int(status.st_mtim.tv_sec)
        modificationNanoseconds = Int(status.st_mtim.tv_nsec)
    }
}

/// Reading the passwd file.
///
/// Race: the file may be written while it is read (an editor saving in place, `echo >>`).
/// The descriptor is fstat'ed before and after reading; if the two differ the bytes may
/// mix two versions, so the read reports `.changedWhileReading` and the caller tries
/// again later. A file replaced by rename is harmless: the open descriptor keeps the old
/// version, whose signature then differs from the path's and triggers a later reload.
///
/// Known limit (shared with every mtime-based reloader, Dovecot's included): two
/// in-place writes of the same size within one kernel timestamp tick (a few ms), with a
/// read between them, leave the second unnoticed until the file changes again. Tools
/// that write a new file and rename it (sed -i, most editors, `doveadm`-style scripts)
/// change the inode and are always seen.
enum PasswdFileReader {
    /// A passwd file larger than this is refused rather than read into memory: about
    /// a million users at 256 bytes a line.
    static let maximumSize = 256 << 20
    private static let chunkSize = 64 << 10

    enum Failure: Error, Equatable {
        case system(errno: Int32)
        case changedWhileReading
    }

    /// The signature of what is at `path` now, or the errno of stat(2).
    static func signature(of path: String) -> Result<FileSignature, Failure> {
        var status = stat()
        guard stat(path, &status) == 0 else { return .failure(.system(errno: errno)) }
        return .success(FileSignature(status))
    }

    static func read(path: String) -> Result<(bytes: [UInt8], signature: FileSignature), Failure> {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return .failure(.system(errno: errno)) }
        defer { close(descriptor) }

        var before = stat()
        guard fstat(descriptor, &before) == 0 else { return .failure(.system(errno: errno)) }
        guard (before.st_mode & S_IFMT) == S_IFREG else { return .failure(.system(errno: EINVAL)) }
        guard before.st_size <= maximumSize else { return .failure(.system(errno: EFBIG)) }

        var bytes: [UInt8] = []
        bytes.reserveCapacity(Int(before.st_size))
        var chunk = [UInt8](repeating: 0, count: chunkSize)
        // The chunk buffer holds passwords.
        defer { secureZero(&chunk) }
        while true {
            let got = chunk.withUnsafeMutableBytes { raw in Glibc.read(descriptor, raw.baseAddress, raw.count) }
            if got == 0 { break }
            if got < 0 {
                if errno == EINTR { continue }
                return .failure(.system(errno: errno))
            }
            bytes += chunk[0..<got]
            // The file grew past the limit while being read.
            guard bytes.count <= maximumSize else { return .failure(.system(errno: EFBIG)) }
        }

        var after = stat()
        guard fstat(descriptor, &after) == 0 else { return .failure(.system(errno: errno)) }
        let signature = FileSignature(before)
        guard signature == FileSignature(after), Int64(bytes.count) == signature.size else {
            secureZero(&bytes)
            return .failure(.changedWhileReading)
        }
        return .success((bytes, signature))
    }
}
