// An open message file. Maildir files are never modified in place (delivery writes tmp/
// and renames; flag changes rename), so once open the descriptor keeps reading the same
// bytes even if the file is renamed or unlinked meanwhile.
// Race: a program violating that convention and truncating a file while it is mapped
// would make the mapping fault (SIGBUS); withMappedBytes registers the mapping with
// TruncationGuard, which turns that fault into zero pages and a ShrinkProbe that
// reports it, so the reader discards what it read.
import Glibc
import Synchronization

/// An open message file: read it with pread; close with `close()` (or deinit).
public final class MessageFile: Sendable {
    public let record: MessageRecord
    /// Physical size now.
    public let size: Int
    /// INTERNALDATE: the file's mtime, seconds since the epoch.
    public let internalDate: Int64
    let path: String
    /// -1 once closed. The lock keeps a read from using a descriptor number that a
    /// concurrent close() has released (and the kernel may have reused).
    private let descriptor: Mutex<Int32>

    /// `record` completed with what the open file's status tells (INTERNALDATE = mtime,
    /// physical size); RFC822.SIZE may still be unknown (`virtualSize()`).
    init(record: MessageRecord, descriptor: Int32, status: FileStatus, path: String) {
        var record = record
        record.internalDate = record.internalDate ?? status.mtime.seconds
        record.physicalSize = record.physicalSize ?? status.size
        internalDate = status.mtime.seconds
        self.record = record
        size = status.size
        self.path = path
        self.descriptor = Mutex(descriptor)
    }

    deinit { close() }

    /// Up to `count` bytes at `offset`; short only at end of file.
    public func read(offset: Int, count: Int) throws -> [UInt8] {
        try descriptor.withLock { fd in
            guard fd >= 0 else { throw StoreError.io(path, errno: EBADF) }
            return try POSIX.pread(fd: fd, path: path, offset: offset, count: count)
        }
    }

    /// RFC822.SIZE: the record's, else counted by reading the file.
    public func virtualSize() throws -> Int {
        if let known = record.virtualSize { return known }
        return try descriptor.withLock { fd in
            guard fd >= 0 else { throw StoreError.io(path, errno: EBADF) }
            return try VirtualSize.compute(fd: fd, path: path)
        }
    }

    /// Maps the whole file read-only for the duration of `body` (an empty file gives an
    /// empty buffer). If the file is truncated meanwhile, the pages past its new end read
    /// as zeros instead of faulting, and `probe.fileShrank` tells: `body` must check it
    /// before it trusts what it read.
    public func withMappedBytes<R>(_ body: (UnsafeRawBufferPointer, ShrinkProbe) throws -> R) throws -> R {
        let fd = descriptor.withLock { $0 >= 0 ? dup($0) : -1 }
        guard fd >= 0 else { throw StoreError.io(path, errno: EBADF) }
        defer { Glibc.close(fd) }
        let length = min(size, try POSIX.status(fd: fd, path: path).size)
        return try GuardedMapping.withMapping(fd: fd, length: length, expected: size, path: path, body)
    }

    public func close() {
        descriptor.withLock { fd in
            if fd >= 0 { Glibc.close(fd) }
            fd = -1
        }
    }
}
