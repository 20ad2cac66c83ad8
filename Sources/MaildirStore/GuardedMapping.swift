// A read-only mapping of a file that a truncation cannot turn into a crash: registered
// with TruncationGuard for as long as the reader holds it (TruncationGuard.swift tells
// how). Message files (MessageFile.withMappedBytes) and imapd-index (FolderIndex) are
// read through it.
import Glibc

enum GuardedMapping {
    /// Maps the first `length` bytes of `fd` for the duration of `body`. `expected` is
    /// the size the caller knew the file by: a file already shorter gives a probe that
    /// says it shrank. `populate` reads every page in at once (a file read whole). With
    /// every TruncationGuard slot taken, the bytes are read into memory instead.
    static func withMapping<R>(
        fd: Int32, length: Int, expected: Int, path: String, populate: Bool = false,
        _ body: (UnsafeRawBufferPointer, ShrinkProbe) throws -> R
    ) throws -> R {
        guard length > 0 else {
            return try body(UnsafeRawBufferPointer(start: nil, count: 0), ShrinkProbe(shortRead: length < expected))
        }
        let flags = MAP_PRIVATE | (populate ? MAP_POPULATE : 0)
        guard let address = mmap(nil, length, PROT_READ, flags, fd, 0), address != MAP_FAILED else {
            throw POSIX.error(path)
        }
        defer { munmap(address, length) }
        let start = Int(bitPattern: address)
        guard let slot = TruncationGuard.shared.register(start: start, end: start + length) else {
            // Every slot busy (far more mappings than threads): read it instead.
            let bytes = try POSIX.pread(fd: fd, path: path, offset: 0, count: length)
            return try bytes.withUnsafeBytes { try body($0, ShrinkProbe(shortRead: bytes.count < expected)) }
        }
        defer { TruncationGuard.shared.unregister(slot) }
        return try body(
            UnsafeRawBufferPointer(start: address, count: length), ShrinkProbe(slot: slot, shortRead: length < expected)
        )
    }
}
