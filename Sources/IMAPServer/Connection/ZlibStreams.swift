import CZlib
import NIOCore

/// zlib's raw deflate streams (RFC 1951 without zlib or gzip framing, RFC 4978 §3:
/// windowBits negative). Each wraps one `z_stream`, allocated once and never moved
/// (zlib keeps a pointer back to it), and ended in `deinit`. Used on one event loop.
enum Zlib {
    struct Failure: Error {
        let message: String
    }

    /// The output of one zlib call is made in steps of this many bytes.
    static let step = 16 * 1024

    fileprivate static func allocate() -> UnsafeMutablePointer<z_stream> {
        let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
        // zalloc/zfree/opaque NULL: zlib uses malloc and free.
        stream.initialize(to: z_stream())
        return stream
    }
}

/// The server's compressor.
final class DeflateStream {
    private let stream = Zlib.allocate()

    /// `windowBits` 9...15 (the window is 2^windowBits bytes), `memLevel` 1...9: zlib
    /// allocates about 2^(windowBits+2) + 2^(memLevel+9) bytes for the stream's life.
    init(windowBits: Int32, memLevel: Int32, level: Int32 = Z_DEFAULT_COMPRESSION) throws(Zlib.Failure) {
        let rc = czlib_deflate_init(stream, level, -windowBits, memLevel)
        guard rc == Z_OK else {
            stream.deallocate()
            throw Zlib.Failure(message: "deflateInit2 failed (\(rc))")
        }
    }

    deinit {
        deflateEnd(stream)
        stream.deallocate()
    }

    /// Compresses all of `input` and appends what zlib gives out to `output`. With
    /// `syncFlush` everything so far leaves the compressor, ending on a byte boundary
    /// (Z_SYNC_FLUSH: the peer can inflate all of it now; RFC 4978 §4).
    func compress(_ input: ByteBuffer, syncFlush: Bool, into output: inout ByteBuffer) {
        let flush = syncFlush ? Z_SYNC_FLUSH : Z_NO_FLUSH
        input.withUnsafeReadableBytes { raw in
            // zlib never writes through next_in (it is `z_const`, empty without ZLIB_CONST).
            stream.pointee.next_in = raw.baseAddress.map {
                UnsafeMutablePointer(mutating: $0.assumingMemoryBound(to: Bytef.self))
            }
            stream.pointee.avail_in = UInt32(raw.count)
            var outputFull = false
            repeat {
                var rc = Z_OK
                output.writeWithUnsafeMutableBytes(minimumWritableBytes: Zlib.step) { out in
                    stream.pointee.next_out = out.baseAddress?.assumingMemoryBound(to: Bytef.self)
                    stream.pointee.avail_out = UInt32(out.count)
                    rc = deflate(stream, flush)
                    outputFull = stream.pointee.avail_out == 0
                    return out.count - Int(stream.pointee.avail_out)
                }
                // Z_BUF_ERROR: no progress possible, i.e. nothing left to do.
                guard rc == Z_OK else { break }
            } while stream.pointee.avail_in > 0 || outputFull
            stream.pointee.next_in = nil
        }
    }
}

/// The server's decompressor of client input.
final class InflateStream {
    private let stream = Zlib.allocate()
    /// The last call filled its output completely: zlib may hold more.
    private(set) var mayHaveOutput = false

    /// The window must be at least the sender's: 2^15, what clients use.
    init(windowBits: Int32 = 15) throws(Zlib.Failure) {
        let rc = czlib_inflate_init(stream, -windowBits)
        guard rc == Z_OK else {
            stream.deallocate()
            throw Zlib.Failure(message: "inflateInit2 failed (\(rc))")
        }
    }

    deinit {
        inflateEnd(stream)
        stream.deallocate()
    }

    /// Inflates from `input` (its reader index moves past what zlib consumed) until
    /// `limit` bytes came out or the input is used up. Never more than `limit`: a
    /// deflate bomb is inflated one bounded piece at a time.
    func inflate(_ input: inout ByteBuffer, limit: Int, allocator: ByteBufferAllocator) throws(Zlib.Failure)
        -> ByteBuffer
    {
        var output = allocator.buffer(capacity: limit)
        var rc = Z_OK
        let consumed = input.withUnsafeReadableBytes { raw in
            stream.pointee.next_in = raw.baseAddress.map {
                UnsafeMutablePointer(mutating: $0.assumingMemoryBound(to: Bytef.self))
            }
            stream.pointee.avail_in = UInt32(raw.count)
            output.writeWithUnsafeMutableBytes(minimumWritableBytes: limit) { out in
                stream.pointee.next_out = out.baseAddress?.assumingMemoryBound(to: Bytef.self)
                stream.pointee.avail_out = UInt32(limit)
                rc = CZlib.inflate(stream, Z_SYNC_FLUSH)
                return limit - Int(stream.pointee.avail_out)
            }
            defer { stream.pointee.next_in = nil }
            return raw.count - Int(stream.pointee.avail_in)
        }
        input.moveReaderIndex(forwardBy: consumed)
        mayHaveOutput = output.readableBytes == limit
        switch rc {
        case Z_OK, Z_BUF_ERROR: return output  // Z_BUF_ERROR: needs more input
        // RFC 4978: the compressed stream lasts as long as the connection.
        case Z_STREAM_END: throw Zlib.Failure(message: "Compressed stream ended.")
        default: throw Zlib.Failure(message: "Invalid compressed data.")
        }
    }
}
