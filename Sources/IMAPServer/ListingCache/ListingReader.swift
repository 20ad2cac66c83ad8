import MaildirStore

/// Reads the byte-level pieces of the listing cache's files (ListingCodec's entries,
/// ListingFormat's offsets) from borrowed bytes, bounds-checked: anything that runs past
/// the end, overflows or counts more elements than bytes are left throws `Damaged`.
struct ListingReader {
    struct Damaged: Error {}

    let input: UnsafeRawBufferPointer
    var position = 0

    var isAtEnd: Bool { position == input.count }
    var remaining: Int { input.count - position }

    mutating func u8() throws -> UInt8 {
        guard remaining >= 1 else { throw Damaged() }
        defer { position += 1 }
        return input[position]
    }

    mutating func u32() throws -> UInt32 {
        guard remaining >= 4 else { throw Damaged() }
        defer { position += 4 }
        return input.loadUnaligned(fromByteOffset: position, as: UInt32.self).littleEndian
    }

    /// A varint of at most 63 bits (ten bytes would be 64: refused as damage).
    mutating func varint() throws -> UInt64 {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            let byte = try u8()
            value |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 { return value }
            shift += 7
            guard shift < 63 else { throw Damaged() }
        }
    }

    mutating func int() throws -> Int { Int(Varint.unzigzag(try varint())) }

    /// A count of elements each at least one byte long: never more than the bytes
    /// left, so no damaged count can ask for a huge array.
    mutating func count(offset: UInt64 = 0) throws -> Int {
        let value = try varint()
        guard value >= offset, value - offset <= UInt64(remaining) else { throw Damaged() }
        return Int(value - offset)
    }

    mutating func nstring() throws -> [UInt8]? {
        let value = try varint()
        if value == 0 { return nil }
        guard value - 1 <= UInt64(remaining) else { throw Damaged() }
        let count = Int(value - 1)
        defer { position += count }
        return Array(input[position..<position + count])
    }

    mutating func string() throws -> [UInt8] {
        guard let value = try nstring() else { throw Damaged() }
        return value
    }

    mutating func text() throws -> String { String(decoding: try string(), as: UTF8.self) }

    mutating func skipString() throws {
        let value = try varint()
        guard value > 0, value - 1 <= UInt64(remaining) else { throw Damaged() }
        position += Int(value - 1)
    }
}
