import NIOCore

/// RFC 9051 §9 `sequence-set` / `uid-set` as the server sends them (APPENDUID, COPYUID,
/// MODIFIED, VANISHED, ESEARCH ALL): `1:3,7,9:12`.

/// A sequence set for the wire from sorted, merged ranges: "1:3,7,9:12". A range of one
/// number is written as that number. An empty array gives "" (the grammar has no empty
/// set: callers leave the item out instead).
public func encodeSequenceSet(_ ranges: [ClosedRange<UInt32>]) -> String {
    var text = ""
    text.reserveCapacity(ranges.count * 8)
    for (index, range) in ranges.enumerated() {
        if index > 0 { text.append(",") }
        text.append(String(range.lowerBound))
        if range.upperBound != range.lowerBound {
            text.append(":")
            text.append(String(range.upperBound))
        }
    }
    return text
}

extension ResponseEncoder {
    /// Writes `ranges` as a sequence set, straight into the buffer.
    func writeSequenceSet(_ ranges: [ClosedRange<UInt32>], into buffer: inout ByteBuffer) {
        var first = true
        for range in ranges {
            if !first { buffer.writeInteger(EncoderByte.comma) }
            first = false
            writeNumber(range.lowerBound, into: &buffer)
            if range.upperBound != range.lowerBound {
                buffer.writeInteger(EncoderByte.colon)
                writeNumber(range.upperBound, into: &buffer)
            }
        }
    }
}
