import XCTest

@testable import MaildirStore

/// imapd-index's varints (FolderIndexCoding.swift): every value reads back as written,
/// and a varint that runs past the end or past 64 bits is refused.
final class FolderIndexCodingTests: XCTestCase {
    private func read<T>(_ bytes: [UInt8], _ body: (inout IndexReader) -> T) -> (T, atEnd: Bool) {
        bytes.withUnsafeBufferPointer { buffer in
            var reader = IndexReader(buffer)
            let value = body(&reader)
            return (value, reader.isAtEnd)
        }
    }

    func testVarintsAndZigzagsReadBackAsWritten() {
        var unsigned: [UInt64] = [0, 1, 127, 128, 255, 16_383, 16_384, UInt64(UInt32.max), UInt64.max - 1, UInt64.max]
        var signed: [Int64] = [0, 1, -1, 63, -64, 64, -65, Int64(Int32.min), Int64.max, Int64.min]
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<1000 {
            unsigned.append(UInt64.random(in: 0...UInt64.max, using: &generator) >> UInt64.random(in: 0...63))
            signed.append(Int64.random(in: Int64.min...Int64.max, using: &generator) >> Int64.random(in: 0...63))
        }
        var out = IndexWriter()
        for value in unsigned { out.varint(value) }
        for value in signed { out.zigzag(value) }
        let (decoded, atEnd) = read(out.bytes) { reader in
            (unsigned.map { _ in reader.varint() }, signed.map { _ in reader.zigzag() })
        }
        XCTAssertEqual(decoded.0, unsigned)
        XCTAssertEqual(decoded.1, signed)
        XCTAssertTrue(atEnd)
        // Small magnitudes take one byte either side of zero.
        var small = IndexWriter()
        for value: Int64 in [-64, -1, 0, 1, 63] { small.zigzag(value) }
        XCTAssertEqual(small.bytes.count, 5)
    }

    func testAVarintPastTheEndOrPast64BitsIsRefused() {
        XCTAssertNil(read([0x80]) { $0.varint() }.0, "continued past the end")
        XCTAssertNil(read([]) { $0.varint() }.0)
        // UInt64.max is nine 0xFF and a 0x01; a larger tenth byte or an eleventh is too much.
        XCTAssertEqual(read(Array(repeating: 0xFF, count: 9) + [0x01]) { $0.varint() }.0, UInt64.max)
        XCTAssertNil(read(Array(repeating: 0xFF, count: 9) + [0x02]) { $0.varint() }.0)
        XCTAssertNil(read(Array(repeating: 0x80, count: 10) + [0x00]) { $0.varint() }.0)
        // A length beyond the bytes left is refused before anything is taken.
        var out = IndexWriter()
        out.varint(10)
        out.bytes += [1, 2, 3]
        XCTAssertNil(read(out.bytes) { $0.bytes() }.0)
    }
}
