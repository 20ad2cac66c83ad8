// The varint (LEB128) of the files this server writes: seven bits a byte, low first,
// the high bit set on every byte but the last; signed values zigzag-mapped (0, -1, 1,
// -2… as 0, 1, 2, 3…). `imapd-index` (FolderIndexCoding), the header and thread caches
// (IMAPServer's HeaderCacheFormat, ThreadCacheFormat) and the listing cache
// (ListingCodec, ListingFormat) write them alike; each reader bounds them as its own
// format allows.

public enum Varint {
    public static func append(_ value: UInt64, to bytes: inout [UInt8]) {
        var rest = value
        while rest >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: rest) | 0x80)
            rest >>= 7
        }
        bytes.append(UInt8(rest))
    }

    /// A signed value, small in magnitude either side of zero.
    public static func appendZigzag(_ value: Int64, to bytes: inout [UInt8]) {
        append(UInt64(bitPattern: (value << 1) ^ (value >> 63)), to: &bytes)
    }

    /// The signed value a zigzag-mapped varint holds.
    public static func unzigzag(_ value: UInt64) -> Int64 { Int64(bitPattern: (value >> 1) ^ (0 &- (value & 1))) }
}
