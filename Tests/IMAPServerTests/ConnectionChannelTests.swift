import Foundation
import IMAPProtocol
import Logging
import NIOCore
import NIOEmbedded
import XCTest

@testable import IMAPServer

/// IMAPConnectionHandler in a NIOAsyncTestingChannel (issue 12): protocol rules of the
/// connection without TCP, and its timers on the test event loop's clock (no sleeps).
final class ConnectionChannelTests: XCTestCase {
    /// An unstarted server (its context, pools and passwd) and a connected channel
    /// whose handler has greeted.
    private func connect(
        configure: (inout ServerConfiguration) -> Void = { _ in }
    ) async throws -> NIOAsyncTestingChannel {
        let maildir = try TemporaryMaildir()
        try maildir.makeUser("alice")
        let passwd = maildir.root + "/passwd"
        _ = FileManager.default.createFile(atPath: passwd, contents: Data("alice:{PLAIN}secret::::::\n".utf8))
        var config = ServerConfiguration(root: maildir.root, passwdFile: passwd)
        configure(&config)
        var logger = Logger(label: "test")
        logger.logLevel = .error
        let server = try IMAPServer(configuration: config, logger: logger)
        let context = server.context
        let channel = NIOAsyncTestingChannel()
        addTeardownBlock {
            _ = try? await channel.finish(acceptAlreadyClosed: true)
            await server.shutdown()
            maildir.remove()
        }
        try await channel.testingEventLoop.executeInContext {
            try channel.pipeline.syncOperations.addHandler(IMAPConnectionHandler(server: context))
        }
        try await channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 40000)).get()
        let greeting = try await nextLine(channel)
        XCTAssertTrue(greeting.hasPrefix("* OK [CAPABILITY IMAP4rev1 IMAP4rev2 "), greeting)
        return channel
    }

    /// The next write, waiting for it (the session writes from its own task); fails
    /// after a generous 10 s instead of hanging.
    private func nextLine(_ channel: NIOAsyncTestingChannel) async throws -> String {
        try await withThrowingTaskGroup(of: String?.self) { group in
            group.addTask {
                let buffer = try await channel.waitForOutboundWrite(as: ByteBuffer.self)
                return String(buffer: buffer)
            }
            group.addTask {
                try? await Task.sleep(for: .seconds(10))
                return nil
            }
            let first = try await group.next() ?? nil
            group.cancelAll()
            guard let line = first else {
                try? await channel.close()  // ends the waiting write
                throw ChannelError.ioOnClosedChannel
            }
            return line
        }
    }

    private func send(_ channel: NIOAsyncTestingChannel, _ text: String) async throws {
        try await channel.writeInbound(ByteBuffer(string: text))
    }

    /// What the connection answers itself is written in the same turn as the input.
    private func immediateWrites(_ channel: NIOAsyncTestingChannel) async throws -> [String] {
        var lines: [String] = []
        while let buffer = try await channel.readOutbound(as: ByteBuffer.self) { lines.append(String(buffer: buffer)) }
        return lines
    }

    func testGarbageGetsBADWithItsTag() async throws {
        let channel = try await connect()
        try await send(channel, "a1 FROBNICATE now\r\n")
        let bad = try await nextLine(channel)
        XCTAssertTrue(bad.hasPrefix("a1 BAD "), bad)
        try await send(channel, "b1 NOOP\r\n")
        let noop = try await nextLine(channel)
        XCTAssertTrue(noop.hasPrefix("b1 OK"))
    }

    /// RFC 7888 §4: before login a literal over 8 KiB is refused before the `+`, so
    /// the client never sends it; a small one gets `+ OK`.
    func testLiteralLimitsBeforeLogin() async throws {
        let channel = try await connect()
        try await send(channel, "a LOGIN {9000}\r\n")
        // The greeting's end may still be on its way: wait for the answer.
        let tooBig = try await nextLine(channel)
        XCTAssertEqual(tooBig, "a NO [TOOBIG] Literal too large (limit 8192 bytes).\r\n")
        try await send(channel, "b LOGIN {5}\r\n")
        // No command runs now: the continuation is written in the same turn.
        let continuation = try await immediateWrites(channel)
        XCTAssertEqual(continuation, ["+ OK\r\n"])
        try await send(channel, "alice secret\r\n")
        let login = try await nextLine(channel)
        XCTAssertTrue(login.hasPrefix("b OK"))
        // Logged in: the configured literal limit applies to the next command.
        try await send(channel, "c APPEND INBOX {9000}\r\n")
        let afterLogin = try await nextLine(channel)
        XCTAssertEqual(afterLogin, "+ OK\r\n")
    }

    /// RFC 9051 §5.4 on the event loop's clock: bytes of a half-sent line do not keep
    /// the connection; at the timeout it gets BYE and is closed.
    func testHalfSentLineIsLoggedOutOnTheLoopClock() async throws {
        let channel = try await connect { $0.idleTimeoutSeconds = 60 }
        // The greeting's end restarts the timer: wait until the handler decodes again.
        try await send(channel, "n NOOP\r\n")
        let noop = try await nextLine(channel)
        XCTAssertTrue(noop.hasPrefix("n OK"))
        let loop = channel.testingEventLoop
        for byte in "a LOGIN ali" {  // 55 s of trickling, 60 s timeout
            await loop.advanceTime(by: .seconds(5))
            try await send(channel, String(byte))
        }
        let whileTrickling = try await immediateWrites(channel)
        XCTAssertEqual(whileTrickling, [])
        await loop.advanceTime(by: .seconds(10))
        let atTimeout = try await immediateWrites(channel)
        XCTAssertEqual(atTimeout, ["* BYE Disconnected for inactivity.\r\n"])
        let active = try await loop.executeInContext { channel.isActive }
        XCTAssertFalse(active)
    }
}
