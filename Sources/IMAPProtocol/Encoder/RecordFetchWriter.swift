import NIOCore

/// FETCH responses made only of what a message record answers (UID, FLAGS, MODSEQ),
/// written many at a time into one region a ByteBuffer lends out.
///
/// Why: every ByteBuffer write checks its capacity and, through NIO's storage class,
/// exclusive access at run time. A response of `UID FETCH 1:* (FLAGS)` is six such
/// writes, and for 100,000 messages those checks were about 40 % of the command's time.
/// Here a whole step of responses costs one. The bytes are exactly those of
/// `writeFetchStart`, `writeFetchItem` and `writeFetchEnd` (RecordFetchWriterTests).
///
/// The caller asks `fits` with the bound of the next response before writing it; the
/// writer never writes past its region.
public struct RecordFetchWriter {
    private let region: UnsafeMutableRawBufferPointer
    /// Bytes written so far, from the start of the region.
    public private(set) var written = 0

    init(_ region: UnsafeMutableRawBufferPointer) {
        self.region = region
    }

    /// Upper bounds of each piece, for `fits`: "* " number " FETCH (" / ")\r\n".
    public static let startBound = 2 + UInt32.max.description.utf8.count + 8
    public static let endBound = 3
    /// " UID " number
    public static let uidBound = 5 + UInt32.max.description.utf8.count
    /// " MODSEQ (" number64 ")"
    public static let modSeqBound = 9 + UInt64.max.description.utf8.count + 1

    /// Whether `bytes` more fit in the region.
    public func fits(_ bytes: Int) -> Bool { written + bytes <= region.count }

    /// `* <n> FETCH (`
    public mutating func start(_ number: SequenceNumber) {
        append("* ")
        appendNumber(UInt64(number.rawValue))
        append(" FETCH (")
    }

    public mutating func uid(_ uid: UID, isFirst: Bool) {
        append(isFirst ? "UID " : " UID ")
        appendNumber(UInt64(uid.rawValue))
    }

    /// RFC 7162 `fetch-mod-resp`.
    public mutating func modSeq(_ value: UInt64, isFirst: Bool) {
        append(isFirst ? "MODSEQ (" : " MODSEQ (")
        appendNumber(value)
        append(")")
    }

    /// An item encoded beforehand (a FLAGS item from the session's cache).
    public mutating func encoded(_ item: [UInt8], isFirst: Bool) {
        if !isFirst { append(" ") }
        item.withUnsafeBytes { bytes in
            region.baseAddress!.advanced(by: written).copyMemory(from: bytes.baseAddress!, byteCount: bytes.count)
        }
        written += item.count
    }

    /// `)` CRLF
    public mutating func end() { append(")\r\n") }

    private mutating func append(_ text: StaticString) {
        region.baseAddress!.advanced(by: written).copyMemory(from: text.utf8Start, byteCount: text.utf8CodeUnitCount)
        written += text.utf8CodeUnitCount
    }

    /// `number64`: decimal digits, no sign, no leading zeros.
    private mutating func appendNumber(_ value: UInt64) {
        var digits = 1
        var rest = value
        while rest >= 10 {
            rest /= 10
            digits += 1
        }
        var v = value
        var i = written + digits
        while i > written {
            i -= 1
            region[i] = EncoderByte.zero &+ UInt8(truncatingIfNeeded: v % 10)
            v /= 10
        }
        written += digits
    }
}

extension ByteBuffer {
    /// Lends `capacity` writable bytes to `body`, which writes responses into them and
    /// keeps what it wrote; returns `body`'s result.
    public mutating func writeRecordFetches<Result>(
        capacity: Int, _ body: (inout RecordFetchWriter) -> Result
    ) -> Result {
        var result: Result?
        writeWithUnsafeMutableBytes(minimumWritableBytes: capacity) { region in
            var writer = RecordFetchWriter(UnsafeMutableRawBufferPointer(rebasing: region.prefix(capacity)))
            result = body(&writer)
            return writer.written
        }
        return result!
    }
}
