import XCTest

@testable import MailMessage

/// LF → CRLF conversion: every chunking gives the same bytes, windows select the
/// right slice of the CRLF form, lengths agree.
final class CRLFConverterTests: XCTestCase {
    /// The obvious byte-at-a-time conversion, as the reference.
    func reference(_ input: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        for (i, c) in input.enumerated() {
            if c == 0x0A && (i == 0 || input[i - 1] != 0x0D) { out.append(0x0D) }
            out.append(c)
        }
        return out
    }

    func convert(_ input: [UInt8], chunk: Int, skip: Int = 0, limit: Int = Int.max) -> [UInt8] {
        var converter = CRLFConverter(skip: skip, limit: limit)
        var out: [UInt8] = []
        input.withUnsafeBytes { raw in
            var start = 0
            while start < raw.count {
                let end = min(raw.count, start + chunk)
                if !converter.convert(UnsafeRawBufferPointer(rebasing: raw[start..<end]), into: &out) { break }
                start = end
            }
        }
        return out
    }

    let samples: [[UInt8]] = [
        [],
        Array("\n".utf8),
        Array("\r\n".utf8),
        Array("\r".utf8),
        Array("a\nb\r\nc\rd\n\n\r\r\n".utf8),
        Array("no line end at all".utf8),
        Array("\n\n\n\r\n\r\n\n".utf8),
        Array("Subject: x\n\nbody\r\nmore\n".utf8) + [0, 0x0A, 0xFF, 0x0D],
    ]

    func testEveryChunkingMatchesReference() {
        for sample in samples {
            let expected = reference(sample)
            sample.withUnsafeBytes { XCTAssertEqual(crlfLength($0), expected.count) }
            for chunk in 1...max(1, sample.count) {
                XCTAssertEqual(convert(sample, chunk: chunk), expected, "chunk \(chunk) of \(sample)")
            }
        }
    }

    func testWindowsMatchReferenceSlices() {
        for sample in samples {
            let expected = reference(sample)
            for skip in 0...expected.count + 1 {
                for limit in [0, 1, 2, 3, 5, expected.count, Int.max] {
                    let lo = min(skip, expected.count)
                    let hi = limit == Int.max ? expected.count : min(expected.count, lo + limit)
                    let want = Array(expected[lo..<hi])
                    for chunk in [1, 2, 3, 7, 1000] {
                        XCTAssertEqual(
                            convert(sample, chunk: chunk, skip: skip, limit: limit), want,
                            "skip \(skip) limit \(limit) chunk \(chunk)")
                    }
                }
            }
        }
    }

    func testStopsOnceLimitReached() {
        var converter = CRLFConverter(skip: 0, limit: 3)
        var out: [UInt8] = []
        let more = Array("ab\ncd".utf8).withUnsafeBytes { converter.convert($0, into: &out) }
        XCTAssertFalse(more)
        XCTAssertEqual(out, Array("ab\r".utf8))
        XCTAssertEqual(converter.remainingLimit, 0)
        let again = Array("zz".utf8).withUnsafeBytes { converter.convert($0, into: &out) }
        XCTAssertFalse(again)
        XCTAssertEqual(out.count, 3)
    }

    func testCRAtChunkEndFollowedByLF() {
        var converter = CRLFConverter()
        var out: [UInt8] = []
        _ = Array("a\r".utf8).withUnsafeBytes { converter.convert($0, into: &out) }
        _ = Array("\nb\n".utf8).withUnsafeBytes { converter.convert($0, into: &out) }
        XCTAssertEqual(out, Array("a\r\nb\r\n".utf8))
    }

    func testLargeInputInOddChunks() {
        var input: [UInt8] = []
        for i in 0..<20_000 { input.append(contentsOf: Array("line \(i)\(i % 3 == 0 ? "\r" : "")\n".utf8)) }
        let expected = reference(input)
        XCTAssertEqual(convert(input, chunk: 4093), expected)
        XCTAssertEqual(convert(input, chunk: 65536, skip: 12345, limit: 999), Array(expected[12345..<(12345 + 999)]))
    }
}
