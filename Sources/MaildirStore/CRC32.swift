// zlib's CRC-32, for the checksummed files this server writes: `imapd-index`
// (FolderIndexFormat) and the frames of the header and listing caches (IMAPServer's
// HeaderCacheFormat, ListingFormat). One implementation, so both files check alike.
import CZlib

public enum CRC32 {
    /// The CRC-32 of `bytes`, fed to zlib in pieces of at most 1 GiB (its length
    /// argument is 32 bits).
    public static func of(_ bytes: ArraySlice<UInt8>) -> UInt32 {
        bytes.withUnsafeBufferPointer(of)
    }

    public static func of(_ raw: UnsafeRawBufferPointer) -> UInt32 {
        of(raw.assumingMemoryBound(to: UInt8.self))
    }

    public static func of(_ buffer: UnsafeBufferPointer<UInt8>) -> UInt32 {
        var crc: UInt = 0
        var offset = 0
        while offset < buffer.count, let base = buffer.baseAddress {
            let count = min(buffer.count - offset, 1 << 30)
            crc = crc32(crc, base + offset, UInt32(count))
            offset += count
        }
        return UInt32(truncatingIfNeeded: crc)
    }
}
