// RFC822.SIZE of a stored message: its size with every bare LF counted as CRLF (the wire
// form). Computed by reading the file once when neither the name (,W=) nor the uidlist
// (W field) knows it.
// Race: the file may vanish between readdir and this read (expunged or renamed by
// another program): nil is returned and the caller rescans.
import Glibc

enum VirtualSize {
    private static let chunk = 64 * 1024
    private static let lf = UInt8(ascii: "\n")
    private static let cr = UInt8(ascii: "\r")

    /// nil when the file does not exist (any more).
    static func compute(path: String) throws -> Int? {
        guard let (fd, _) = try POSIX.openRegularFile(path) else { return nil }
        defer { close(fd) }
        return try compute(fd: fd, path: path)
    }

    /// The count over an open file, read from its start (`path` for errors).
    static func compute(fd: Int32, path: String) throws -> Int {
        var total = 0
        var bareLineFeeds = 0
        var previous: UInt8 = 0
        var offset = 0
        while true {
            let bytes = try POSIX.pread(fd: fd, path: path, offset: offset, count: chunk)
            if bytes.isEmpty { break }
            for byte in bytes {
                if byte == lf && previous != cr { bareLineFeeds += 1 }
                previous = byte
            }
            total += bytes.count
            offset += bytes.count
        }
        return total + bareLineFeeds
    }

    /// The same count over bytes already in memory.
    static func compute(bytes: some Sequence<UInt8>) -> Int {
        var total = 0
        var previous: UInt8 = 0
        for byte in bytes {
            total += byte == lf && previous != cr ? 2 : 1
            previous = byte
        }
        return total
    }
}
