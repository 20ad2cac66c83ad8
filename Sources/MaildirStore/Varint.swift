// The varint (LEB128) of the files this server writes: seven bits a byte, low first,
// the high bit set on every byte but the last. `imapd-index` (FolderIndexCoding) and the
// header and thread caches (IMAPServer's HeaderCacheFormat, ThreadCacheFormat) write
// them alike; each reader bounds them as its own format allows.

public enum Varint {
    public static func append(_ value: UInt64, to bytes: inout [UInt8]) {
        var rest = value
        while rest >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: rest) | 0x80)
            rest >>= 7
        }
        bytes.append(UInt8(rest))
    }
}
