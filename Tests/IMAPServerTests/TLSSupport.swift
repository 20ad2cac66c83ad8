import Foundation
import IMAPServer
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import Synchronization
import XCTest

/// A self-signed certificate made by the `openssl` CLI at test time (STACK-NOTES).
struct TestCertificate {
    let certFile: String
    let keyFile: String

    static func make(in directory: String, name: String = "server") throws -> TestCertificate {
        let cert = directory + "/\(name)-cert.pem"
        let key = directory + "/\(name)-key.pem"
        try runOpenSSL([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "2",
            "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
        ])
        return TestCertificate(certFile: cert, keyFile: key)
    }

    static func runOpenSSL(_ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["openssl"] + arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw POSIXError(.EIO) }
    }

    var source: TLSCertificateSource { .pem(certificateFile: certFile, keyFile: keyFile) }
}

/// Collects received bytes as CRLF lines into an AsyncStream; the stream ends when
/// the channel closes.
final class LineCollector: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer
    let lines: AsyncStream<String>
    private let continuation: AsyncStream<String>.Continuation
    private let pending = Mutex<[UInt8]>([])

    init() {
        (lines, continuation) = AsyncStream.makeStream(of: String.self)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        let complete: [String] = pending.withLock { pending in
            pending += buffer.readableBytesView
            var out: [String] = []
            while let lf = pending.firstIndex(of: 10) {
                var line = Array(pending[..<lf])
                if line.last == 13 { line.removeLast() }
                out.append(String(decoding: line, as: UTF8.self))
                pending.removeSubrange(...lf)
            }
            return out
        }
        for line in complete { continuation.yield(line) }
    }

    func channelInactive(context: ChannelHandlerContext) {
        continuation.finish()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }
}

enum TLSClientError: Error { case closed }

/// An IMAP client on NIO that can start TLS at any point (implicit TLS, STARTTLS, or
/// raw plaintext pipelining before it). The channel is closed after 20 s, so a server
/// that never answers ends the test instead of hanging it.
final class TLSTestClient {
    let channel: Channel
    private var iterator: AsyncStream<String>.Iterator

    init(group: EventLoopGroup, host: String = "127.0.0.1", port: Int, implicitTLSTrusting cert: String? = nil)
        async throws
    {
        let collector = LineCollector()
        let tls = try cert.map { try Self.clientContext(trusting: $0) }
        channel = try await ClientBootstrap(group: group)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tls {
                        try channel.pipeline.syncOperations.addHandler(
                            NIOSSLClientHandler(context: tls, serverHostname: "localhost"))
                    }
                    try channel.pipeline.syncOperations.addHandler(collector)
                }
            }
            .connect(host: host, port: port).get()
        iterator = collector.lines.makeAsyncIterator()
        let channel = self.channel
        channel.eventLoop.scheduleTask(in: .seconds(20)) { channel.close(promise: nil) }
    }

    static func clientContext(trusting cert: String) throws -> NIOSSLContext {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(cert))
        return try NIOSSLContext(configuration: configuration)
    }

    func send(_ text: String) async throws {
        var buffer = channel.allocator.buffer(capacity: text.utf8.count)
        buffer.writeString(text)
        try await channel.writeAndFlush(buffer).get()
    }

    func readLine() async throws -> String {
        guard let line = await iterator.next() else { throw TLSClientError.closed }
        return line
    }

    /// Sends `tag command` and returns every line up to and including the tagged one.
    func command(_ tag: String, _ text: String) async throws -> [String] {
        try await send("\(tag) \(text)\r\n")
        var lines: [String] = []
        while true {
            let line = try await readLine()
            lines.append(line)
            if line.hasPrefix(tag + " ") { return lines }
        }
    }

    /// Puts a TLS client handler in front: everything from now on is encrypted.
    func startTLS(trusting cert: String) async throws {
        let tls = try Self.clientContext(trusting: cert)
        let channel = self.channel
        try await channel.eventLoop.submit {
            try channel.pipeline.syncOperations.addHandler(
                NIOSSLClientHandler(context: tls, serverHostname: "localhost"), position: .first)
        }.get()
    }

    func close() async { try? await channel.close() }
}
