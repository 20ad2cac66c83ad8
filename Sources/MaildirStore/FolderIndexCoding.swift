// The byte-level coding of `imapd-index` (FolderIndexFormat.swift): little-endian
// integers, varints (LEB128: seven bits a byte, low first, the high bit set on every
// byte but the last; signed ones zigzag-mapped), strings prefixed with their length
// as a varint, optional timestamps and file identities, written by IndexWriter and
// read back, bounds-checked, by IndexReader.
import Glibc

/// Appends little-endian integers and length-prefixed texts.
struct IndexWriter {
    var bytes: [UInt8] = []

    mutating func reserve(_ count: Int) { bytes.reserveCapacity(count) }
    mutating func u8(_ value: UInt8) { bytes.append(value) }
    mutating func u32(_ value: UInt32) { withUnsafeBytes(of: value.littleEndian) { bytes += $0 } }
    mutating func u64(_ value: UInt64) { withUnsafeBytes(of: value.littleEndian) { bytes += $0 } }
    mutating func i64(_ value: Int64) { u64(UInt64(bitPattern: value)) }

    mutating func varint(_ value: UInt64) { Varint.append(value, to: &bytes) }

    /// A signed value, small in magnitude either side of zero: 0, -1, 1, -2… as 0, 1, 2, 3…
    mutating func zigzag(_ value: Int64) { Varint.appendZigzag(value, to: &bytes) }

    /// Length (varint), then the bytes.
    mutating func text<S: Collection<UInt8>>(_ value: S) {
        varint(UInt64(value.count))
        bytes += value
    }

    mutating func text(_ value: String) { text(value.utf8) }

    mutating func timestamp(_ value: Timestamp?) {
        optional(value) { out, value in
            out.i64(value.seconds)
            out.i64(value.nanoseconds)
        }
    }

    mutating func status(_ value: FileStatus?) {
        optional(value) { out, value in
            out.u64(value.device)
            out.u64(value.inode)
            out.u32(value.mode)
            out.u64(UInt64(value.size))
            out.timestamp(value.mtime)
        }
    }

    /// A presence byte (0 absent, 1 present), then the value when present.
    private mutating func optional<T>(_ value: T?, _ write: (inout IndexWriter, T) -> Void) {
        guard let value else {
            u8(0)
            return
        }
        u8(1)
        write(&self, value)
    }
}

/// Reads what IndexWriter wrote; nil when the bytes end early or a value is out of
/// range (the caller then gives up on the file). Over borrowed memory: reading a field
/// costs no reference count (a slice per field made loading twice as slow).
///
/// @unchecked Sendable: a read-only view, used only inside the `withUnsafeBufferPointer`
/// call that lends the bytes, which also outlives `decode`'s two threads
/// (`concurrentPerform` returns when both are done).
struct IndexReader: @unchecked Sendable {
    private let input: UnsafeBufferPointer<UInt8>
    private var position = 0

    init(_ input: UnsafeBufferPointer<UInt8>) {
        self.input = input
    }

    var remaining: Int { input.count - position }
    var isAtEnd: Bool { position == input.count }

    mutating func take(_ count: Int) -> UnsafeBufferPointer<UInt8>? {
        guard count >= 0, count <= remaining, let base = input.baseAddress else {
            return count == 0 ? UnsafeBufferPointer(start: nil, count: 0) : nil
        }
        defer { position += count }
        return UnsafeBufferPointer(start: base + position, count: count)
    }

    mutating func u8() -> UInt8? { take(1)?.first }

    mutating func u32() -> UInt32? {
        guard let raw = take(4) else { return nil }
        return UInt32(littleEndian: UnsafeRawBufferPointer(raw).loadUnaligned(as: UInt32.self))
    }

    mutating func u64() -> UInt64? {
        guard let raw = take(8) else { return nil }
        return UInt64(littleEndian: UnsafeRawBufferPointer(raw).loadUnaligned(as: UInt64.self))
    }

    mutating func i64() -> Int64? { u64().map { Int64(bitPattern: $0) } }

    /// A varint of at most ten bytes; nil past the end, or for one that overflows 64 bits.
    mutating func varint() -> UInt64? {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while let byte = u8() {
            guard shift < 63 || byte <= 1 else { return nil }
            value |= UInt64(byte & 0x7F) << shift
            if byte < 0x80 { return value }
            shift += 7
        }
        return nil
    }

    mutating func zigzag() -> Int64? {
        varint().map(Varint.unzigzag)
    }

    /// A length-prefixed byte string.
    mutating func bytes() -> UnsafeBufferPointer<UInt8>? {
        guard let count = varint(), count <= UInt64(remaining) else { return nil }
        return take(Int(count))
    }

    mutating func text() -> String? { bytes().map { String(decoding: $0, as: UTF8.self) } }

    /// A file or base name: not empty, no '/' or NUL (never a path out of the folder).
    mutating func name() -> String? { scannedName()?.name }

    /// The same, and whether it holds the info separator ':', from one pass over its
    /// bytes (a large folder's index holds 100,000s of names).
    mutating func scannedName() -> (name: String, hasInfoSeparator: Bool)? {
        guard let raw = bytes(), !raw.isEmpty else { return nil }
        var hasInfoSeparator = false
        for byte in raw {
            if byte == UInt8(ascii: "/") || byte == 0 { return nil }
            if byte == FileNameSyntax.infoSeparator { hasInfoSeparator = true }
        }
        return (String(decoding: raw, as: UTF8.self), hasInfoSeparator)
    }

    mutating func timestamp() -> Timestamp?? {
        guard let present = u8() else { return nil }
        guard present == 1 else { return present == 0 ? .some(nil) : nil }
        guard let seconds = i64(), let nanoseconds = i64() else { return nil }
        return .some(Timestamp(seconds: seconds, nanoseconds: nanoseconds))
    }

    mutating func status() -> FileStatus?? {
        guard let present = u8() else { return nil }
        guard present == 1 else { return present == 0 ? .some(nil) : nil }
        guard let device = u64(), let inode = u64(), let mode = u32(), let size = u64(),
            let mtime = timestamp(), let mtime
        else { return nil }
        return .some(FileStatus(device: device, inode: inode, mode: mode, size: Int(clamping: size), mtime: mtime))
    }
}

extension FileStatus {
    init(device: UInt64, inode: UInt64, mode: UInt32, size: Int, mtime: Timestamp) {
        var st = stat()
        st.st_dev = __dev_t(truncatingIfNeeded: device)
        st.st_ino = __ino_t(truncatingIfNeeded: inode)
        st.st_mode = mode
        st.st_size = off_t(size)
        self.init(st)
        self.mtime = mtime
    }
}
