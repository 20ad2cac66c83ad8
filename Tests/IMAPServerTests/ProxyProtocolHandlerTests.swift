import NIOCore
import NIOEmbedded
import XCTest

@testable import IMAPServer

/// The PROXY protocol handler in a pipeline (issue 17): it hands the real client address
/// and any pipelined bytes to the next handler, and closes on bad, overlong or late
/// headers without ever adding the IMAP handler. EmbeddedChannel's clock makes the
/// deadline test exact, with no waiting.
final class ProxyProtocolHandlerTests: XCTestCase {
    /// Stands for the IMAP handler: records what it is given.
    final class Recorder: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = ByteBuffer
        var active = false
        var received = ""
        func channelActive(context: ChannelHandlerContext) { active = true }
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            received += String(buffer: unwrapInboundIn(data))
        }
    }

    final class Box: @unchecked Sendable {
        var source: SocketAddress?
        var recorder: Recorder?
    }

    private func makeChannel(_ box: Box) throws -> EmbeddedChannel {
        let handler = ProxyProtocolHandler(deadline: .seconds(5)) { client, pipeline in
            box.source = client.address
            let recorder = Recorder()
            box.recorder = recorder
            try pipeline.addHandler(recorder)
        }
        let channel = EmbeddedChannel(handler: handler)
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        return channel
    }

    func testHandsAddressAndPipelinedBytesOn() throws {
        let box = Box()
        let channel = try makeChannel(box)
        defer { _ = try? channel.finish() }
        try channel.writeInbound(ByteBuffer(string: "PROXY TCP4 127.0.0.5 127.0.0.1 4000"))
        XCTAssertNil(box.recorder)
        try channel.writeInbound(ByteBuffer(string: "0 143\r\na1 NOOP\r\n"))
        XCTAssertEqual(box.source, try SocketAddress(ipAddress: "127.0.0.5", port: 40000))
        XCTAssertEqual(box.recorder?.active, true)
        XCTAssertEqual(box.recorder?.received, "a1 NOOP\r\n")
        XCTAssertNil(try? channel.pipeline.syncOperations.handler(type: ProxyProtocolHandler.self))
        XCTAssertTrue(channel.isActive)
    }

    func testMalformedClosesWithoutNextHandler() throws {
        let box = Box()
        let channel = try makeChannel(box)
        defer { _ = try? channel.finish() }
        try channel.writeInbound(ByteBuffer(string: "a1 LOGIN user pass\r\n"))
        XCTAssertFalse(channel.isActive)
        XCTAssertNil(box.recorder)
    }

    func testOverlongHeaderCloses() throws {
        let box = Box()
        let channel = try makeChannel(box)
        defer { _ = try? channel.finish() }
        for _ in 0..<4 {
            _ = try? channel.writeInbound(ByteBuffer(string: "PROXY " + String(repeating: "1", count: 50)))
        }
        XCTAssertFalse(channel.isActive)
        XCTAssertNil(box.recorder)
    }

    func testDeadlineClosesAPartialHeader() throws {
        let box = Box()
        let channel = try makeChannel(box)
        defer { _ = try? channel.finish() }
        try channel.writeInbound(ByteBuffer(string: "PROXY TCP4"))
        channel.embeddedEventLoop.advanceTime(by: .seconds(4))
        XCTAssertTrue(channel.isActive)
        channel.embeddedEventLoop.advanceTime(by: .seconds(1))
        XCTAssertFalse(channel.isActive)
        XCTAssertNil(box.recorder)
    }
}
