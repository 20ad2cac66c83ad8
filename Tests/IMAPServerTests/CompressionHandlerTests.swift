import NIOCore
import NIOEmbedded
import XCTest

@testable import IMAPServer

/// CompressionHandler on an EmbeddedChannel: input is inflated one bounded piece per
/// read the handler behind it lets through (its back-pressure holds the rest, and no
/// socket read is asked for while inflatable input waits); every flush leaves nothing
/// in the compressor.
final class CompressionHandlerTests: XCTestCase {
    /// Counts the reads that reach the socket side.
    final class SocketReads: ChannelOutboundHandler {
        typealias OutboundIn = ByteBuffer
        var count = 0
        func read(context: ChannelHandlerContext) {
            count += 1
            context.read()
        }
    }

    /// Stands for the IMAP handler: records input and passes reads on only when told.
    final class Reader: ChannelDuplexHandler {
        typealias InboundIn = ByteBuffer
        typealias OutboundIn = ByteBuffer
        var pieces: [Int] = []
        var received: [UInt8] = []
        var passesReads = false
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let bytes = unwrapInboundIn(data)
            pieces.append(bytes.readableBytes)
            received += bytes.readableBytesView
        }
        func read(context: ChannelHandlerContext) {
            if passesReads { context.read() }
        }
    }

    func makeChannel() throws -> (EmbeddedChannel, SocketReads, Reader) {
        let socket = SocketReads()
        let reader = Reader()
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(socket)
        try channel.pipeline.syncOperations.addHandler(CompressionHandler(leftover: ByteBuffer()))
        try channel.pipeline.syncOperations.addHandler(reader)
        // Active, as a connected socket is (nothing is inflated for a closed channel).
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        return (channel, socket, reader)
    }

    func testInputIsInflatedOnePiecePerReadAndHeldWhileReadsAre() throws {
        let (channel, socket, reader) = try makeChannel()
        defer { _ = try? channel.finish() }
        let line = [UInt8](repeating: 65, count: 1 << 20) + Array("\r\n".utf8)
        let compressed = TestDeflater().compress(line)
        XCTAssertLessThan(compressed.count, 4096)
        try channel.writeInbound(channel.allocator.buffer(bytes: compressed))
        channel.embeddedEventLoop.run()
        XCTAssertEqual(reader.pieces, [CompressionHandler.inflateStep], "one piece, then the reader holds reads")
        XCTAssertEqual(socket.count, 0, "no socket read while inflatable input waits")

        reader.passesReads = true
        channel.read()
        channel.embeddedEventLoop.run()
        XCTAssertEqual(reader.received.count, line.count)
        XCTAssertTrue(reader.received == line, "the inflated bytes are the line")
        XCTAssertTrue(reader.pieces.allSatisfy { $0 <= CompressionHandler.inflateStep }, "\(reader.pieces.max() ?? 0)")
        XCTAssertEqual(socket.count, 1, "the input used up, the next read goes to the socket")
    }

    func testEveryFlushLeavesNothingInTheCompressor() throws {
        let (channel, _, _) = try makeChannel()
        defer { _ = try? channel.finish() }
        let inflater = TestInflater()
        for response in ["* 1 EXISTS\r\n", "a OK done\r\n", "+ idling\r\n"] {
            try channel.writeOutbound(channel.allocator.buffer(string: response))
            var wire: [UInt8] = []
            while let out = try channel.readOutbound(as: ByteBuffer.self) { wire += out.readableBytesView }
            XCTAssertEqual(String(decoding: inflater.inflate(wire), as: UTF8.self), response)
        }
    }
}
