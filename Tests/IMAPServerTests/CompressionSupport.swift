import CZlib
import NIOCore
import Synchronization
import XCTest

#if canImport(Glibc)
    import Glibc
#endif

/// A raw deflate stream (RFC 4978's framing) for test clients, on the system zlib.
final class TestDeflater {
    private let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)

    init() {
        stream.initialize(to: z_stream())
        precondition(czlib_deflate_init(stream, Z_DEFAULT_COMPRESSION, -15, 8) == Z_OK)
    }

    deinit {
        deflateEnd(stream)
        stream.deallocate()
    }

    /// Compresses `input`, ending with `flush` (Z_SYNC_FLUSH as a client sends each command).
    func compress(_ input: [UInt8], flush: Int32 = Z_SYNC_FLUSH) -> [UInt8] {
        var input = input
        var output: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        input.withUnsafeMutableBufferPointer { source in
            stream.pointee.next_in = source.baseAddress
            stream.pointee.avail_in = UInt32(source.count)
            repeat {
                let produced = chunk.withUnsafeMutableBufferPointer { out in
                    stream.pointee.next_out = out.baseAddress
                    stream.pointee.avail_out = UInt32(out.count)
                    _ = deflate(stream, flush)
                    return out.count - Int(stream.pointee.avail_out)
                }
                output += chunk[..<produced]
            } while stream.pointee.avail_out == 0
        }
        return output
    }
}

/// A raw inflate stream for test clients.
final class TestInflater {
    private let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)

    init() {
        stream.initialize(to: z_stream())
        precondition(czlib_inflate_init(stream, -15) == Z_OK)
    }

    deinit {
        inflateEnd(stream)
        stream.deallocate()
    }

    /// Everything `input` inflates to (a test client trusts its server).
    func inflate(_ input: [UInt8]) -> [UInt8] {
        var input = input
        var output: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        input.withUnsafeMutableBufferPointer { source in
            stream.pointee.next_in = source.baseAddress
            stream.pointee.avail_in = UInt32(source.count)
            repeat {
                let produced = chunk.withUnsafeMutableBufferPointer { out in
                    stream.pointee.next_out = out.baseAddress
                    stream.pointee.avail_out = UInt32(out.count)
                    _ = CZlib.inflate(stream, Z_SYNC_FLUSH)
                    return out.count - Int(stream.pointee.avail_out)
                }
                output += chunk[..<produced]
            } while stream.pointee.avail_out == 0
        }
        return output
    }
}

/// The client side of COMPRESS=DEFLATE in a NIO test client: every write is deflated
/// and sync-flushed, every read inflated. Counts the compressed bytes it received.
final class TestCompressionCodec: ChannelDuplexHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let deflater = TestDeflater()
    private let inflater = TestInflater()
    let compressedBytesReceived = Atomic<Int>(0)
    /// Writes go out as they are (already compressed by the test).
    let rawWrites = Atomic<Bool>(false)

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let bytes = Array(unwrapInboundIn(data).readableBytesView)
        compressedBytesReceived.add(bytes.count, ordering: .relaxed)
        let plain = inflater.inflate(bytes)
        guard !plain.isEmpty else { return }
        context.fireChannelRead(wrapInboundOut(context.channel.allocator.buffer(bytes: plain)))
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard !rawWrites.load(ordering: .relaxed) else {
            context.write(data, promise: promise)
            return
        }
        let compressed = deflater.compress(Array(unwrapOutboundIn(data).readableBytesView))
        context.write(wrapOutboundOut(context.channel.allocator.buffer(bytes: compressed)), promise: promise)
    }
}

extension TLSTestClient {
    /// After COMPRESS's OK: compression goes in front of the line collector (after TLS).
    @discardableResult
    func startCompression() async throws -> TestCompressionCodec {
        let channel = self.channel
        return try await channel.eventLoop.submit {
            let collector = try channel.pipeline.syncOperations.context(handlerType: LineCollector.self)
            let codec = TestCompressionCodec()
            try channel.pipeline.syncOperations.addHandler(codec, position: .before(collector.handler))
            return codec
        }.get()
    }
}

/// This process's resident set (VmRSS in /proc/self/status), in KiB.
func residentKiB() -> Int {
    guard let file = fopen("/proc/self/status", "r") else { return 0 }
    defer { fclose(file) }
    var line = [CChar](repeating: 0, count: 256)
    while fgets(&line, Int32(line.count), file) != nil {
        let text = String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        if text.hasPrefix("VmRSS:") {
            return Int(text.dropFirst(6).filter { $0.isNumber }) ?? 0
        }
    }
    return 0
}
