import Auth
import Foundation
import IMAPProtocol
import Logging
import NIOCore
import NIOEmbedded
import XCTest

@testable import IMAPServer

/// An `IMAPSession` without a socket (issue 12): its output goes to a
/// `NIOAsyncTestingChannel`, its input comes from a `CommandDecoder` fed by the test,
/// and each decoder event goes through `IMAPSession.handle` as the connection handler
/// sends it, with the outcome applied to the decoder the same way (continuation lines,
/// abandoned APPENDs). Nothing listens on a port; the thread pools are shut down in
/// the test's teardown even when it fails.
final class SessionHarness {
    let maildir: TemporaryMaildir
    let context: ServerContext
    let channel: NIOAsyncTestingChannel
    let session: IMAPSession
    private(set) var decoder = CommandDecoder()
    /// The outcome of the last input the session handled.
    private(set) var outcomes: [CommandOutcome] = []

    init(testCase: XCTestCase) async throws {
        maildir = try TemporaryMaildir()
        let passwdPath = maildir.root + "/passwd"
        _ = FileManager.default.createFile(atPath: passwdPath, contents: Data("alice:{PLAIN}secret::::::\n".utf8))
        try maildir.makeUser("alice", folders: ["Work"])
        var config = ServerConfiguration(root: maildir.root, passwdFile: passwdPath)
        config.serverName = "test"
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let pools = WorkPools(generalThreads: 1)
        context = ServerContext(
            config: config, passwd: try PasswdDatabase(path: passwdPath, logger: logger), pools: pools,
            logger: logger)
        channel = NIOAsyncTestingChannel()
        let channel = self.channel
        let maildir = self.maildir
        testCase.addTeardownBlock {
            _ = try? await channel.finish()
            await pools.shutdown()
            maildir.remove()
        }
        try await channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 143))
        guard case .admitted(let slot, _) = context.limits.admitConnection(address: "127.0.0.1") else {
            throw XCTSkip("no connection slot")  // never: the limits are the defaults
        }
        let info = ConnectionInfo(sessionID: 1, peerAddress: "127.0.0.1", isLoopback: true, isTLS: false, slot: slot)
        // ChannelOutput's waiters live on the event loop: made there, as in channelActive.
        let output = try await channel.eventLoop.submit { ChannelOutput(channel: channel) }.get()
        session = IMAPSession(context: context, output: output, connection: info)
        decoder.streamsAppend = true
        decoder.limits = config.decoderLimits
    }

    /// Feeds `text` to the decoder and hands the session every event it yields, as the
    /// connection handler does; returns what the session wrote meanwhile.
    @discardableResult
    func send(_ text: String) async throws -> String {
        decoder.append(ByteBuffer(string: text))
        while let event = decoder.next() {
            guard let input = SessionInput(event) else { continue }  // the connection's own answers
            let outcome = await session.handle(input)
            outcomes.append(outcome)
            switch outcome {
            case .awaitContinuationLine, .idling: decoder.expectContinuationLine()
            case .skipAppend: decoder.abandonAppend()
            case .done, .close, .startTLS, .startCompression, .loggedIn: break
            }
        }
        return try await written()
    }

    /// Hands the session one input directly (bypassing the decoder).
    func handle(_ input: SessionInput) async throws -> (CommandOutcome, String) {
        let outcome = await session.handle(input)
        return (outcome, try await written())
    }

    /// Everything written to the channel since the last call.
    func written() async throws -> String {
        var text = ""
        while let buffer = try await channel.readOutbound(as: ByteBuffer.self) {
            text += String(buffer: buffer)
        }
        return text
    }

    var lastOutcome: CommandOutcome? { outcomes.last }

    func logIn() async throws {
        let reply = try await send("l1 LOGIN alice secret\r\n")
        XCTAssertTrue(reply.hasPrefix("l1 OK [CAPABILITY IMAP4rev1 IMAP4rev2 "), reply)
        XCTAssertTrue(reply.hasSuffix("] Logged in.\r\n"), reply)
    }
}
