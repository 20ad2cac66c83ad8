import NIOCore
import XCTest

@testable import IMAPProtocol

/// RecordFetchWriter must write exactly what the ByteBuffer encoder writes for the
/// same items, and never more than its bounds.
final class RecordFetchWriterTests: XCTestCase {
    private struct Line {
        var number: UInt32
        var uid: UInt32
        var modSeq: UInt64
        var flags: [Flag]
        /// Which items, in order: 0 UID, 1 FLAGS, 2 MODSEQ.
        var items: [Int]
    }

    private static let edgeNumbers: [UInt32] = [0, 1, 9, 10, 99, 100, 4_294_967_295]
    private static let edgeModSeqs: [UInt64] = [0, 1, 10, 9_007_199_254_740_991, UInt64.max]

    private func randomLine(_ generator: inout SystemRandomNumberGenerator) -> Line {
        let flagChoices: [[Flag]] = [
            [], [.seen], [.seen, .answered], [.keyword("$Forwarded"), .flagged, .extension("Recent")],
        ]
        return Line(
            number: Self.edgeNumbers.randomElement(using: &generator)!,
            uid: Bool.random(using: &generator)
                ? UInt32.random(in: 0...UInt32.max, using: &generator) : Self.edgeNumbers.randomElement()!,
            modSeq: Bool.random(using: &generator)
                ? UInt64.random(in: 0...UInt64.max, using: &generator) : Self.edgeModSeqs.randomElement()!,
            flags: flagChoices.randomElement(using: &generator)!,
            items: Array([0, 1, 2].shuffled(using: &generator).prefix(Int.random(in: 1...3, using: &generator))))
    }

    /// What the ByteBuffer encoder writes for `line`.
    private func expected(_ line: Line) -> [UInt8] {
        EncoderFixture.written { encoder, buffer in
            encoder.writeFetchStart(SequenceNumber(line.number), into: &buffer)
            for (position, item) in line.items.enumerated() {
                let response: FetchResponseItem =
                    switch item {
                    case 0: .uid(UID(line.uid))
                    case 1: .flags(line.flags)
                    default: .modSeq(line.modSeq)
                    }
                encoder.writeFetchItem(response, isFirst: position == 0, into: &buffer)
            }
            encoder.writeFetchEnd(into: &buffer)
        }
    }

    /// The FLAGS item as the session caches it: written alone, as the first item.
    private func flagsItem(_ flags: [Flag]) -> [UInt8] {
        EncoderFixture.written { encoder, buffer in encoder.writeFetchItem(.flags(flags), isFirst: true, into: &buffer)
        }
    }

    private func bound(_ line: Line, flagsItem: [UInt8]) -> Int {
        RecordFetchWriter.startBound + RecordFetchWriter.endBound
            + line.items.map {
                [RecordFetchWriter.uidBound, 1 + flagsItem.count, RecordFetchWriter.modSeqBound][$0]
            }.reduce(0, +)
    }

    func testWritesWhatTheEncoderWritesWithinItsBounds() {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<500 {
            let lines = (0..<Int.random(in: 1...20)).map { _ in randomLine(&generator) }
            var buffer = ByteBufferAllocator().buffer(capacity: 16)
            buffer.writeStaticString("head ")
            let capacity = 16 * 1024
            let written = buffer.writeRecordFetches(capacity: capacity) { writer -> Int in
                for line in lines {
                    let flags = flagsItem(line.flags)
                    XCTAssertTrue(writer.fits(bound(line, flagsItem: flags)))
                    let before = writer.written
                    writer.start(SequenceNumber(line.number))
                    for (position, item) in line.items.enumerated() {
                        switch item {
                        case 0: writer.uid(UID(line.uid), isFirst: position == 0)
                        case 1: writer.encoded(flags, isFirst: position == 0)
                        default: writer.modSeq(line.modSeq, isFirst: position == 0)
                        }
                    }
                    writer.end()
                    XCTAssertLessThanOrEqual(writer.written - before, bound(line, flagsItem: flags))
                }
                return writer.written
            }
            XCTAssertEqual(Array(buffer.readableBytesView), Array("head ".utf8) + lines.flatMap(expected))
            XCTAssertEqual(buffer.readableBytes, 5 + written)
        }
    }

    func testFitsIsFalseBeyondTheRegion() {
        var buffer = ByteBufferAllocator().buffer(capacity: 16)
        buffer.writeRecordFetches(capacity: 40) { writer in
            XCTAssertTrue(writer.fits(40))
            XCTAssertFalse(writer.fits(41))
            writer.start(SequenceNumber(12))
            XCTAssertTrue(writer.fits(40 - writer.written))
            XCTAssertFalse(writer.fits(41 - writer.written))
        }
        XCTAssertEqual(String(buffer: buffer), "* 12 FETCH (")
    }
}
