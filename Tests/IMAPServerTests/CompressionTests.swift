import CZlib
import Foundation
import IMAPServer
import NIOCore
import NIOPosix
import XCTest

/// COMPRESS=DEFLATE (RFC 4978, issue 16 item 1) over real sockets: a client that waits
/// for each tagged response (iOS Mail) never stalls, a second COMPRESS is refused, a
/// deflate bomb ends with BYE without memory growth, and COMPRESS works after STARTTLS.
final class CompressionTests: XCTestCase {
    func makeGroup() -> MultiThreadedEventLoopGroup {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        addTeardownBlock { try? await group.shutdownGracefully() }
        return group
    }

    static func message(_ n: Int, body: String = "body") -> String {
        "From: Sender \(n) <s\(n)@example.org>\r\nTo: alice@example.org\r\nSubject: message \(n)\r\n"
            + "Date: Mon, 7 Feb 1994 21:52:25 -0800\r\nMessage-ID: <\(n)@example.org>\r\n"
            + "Content-Type: text/plain; charset=us-ascii\r\n\r\n\(body)\r\n"
    }

    /// LOGIN, then COMPRESS, then a SELECT, FETCH listing, a 1 MB body, IDLE with a
    /// delivery and LOGOUT, each command sent only once the previous tagged response
    /// has been read (inflated). Output left in the compressor would stall this client
    /// until the 20 s channel deadline (TLSTestClient), failing the test.
    func testClientWaitingForEachTaggedResponseNeverStalls() async throws {
        let server = try await startServer { $0.idlePollSeconds = 3600 }
        for n in 1...200 {
            try server.maildir.deliver(
                "alice", name: "\(1_700_000_000 + n).M\(n)P1.host:2,", into: "cur", body: Self.message(n))
        }
        let big = String(repeating: "line of a large body, still compressible \(0)\r\n", count: 24_000)
        try server.maildir.deliver(
            "alice", name: "1700001000.M1P1.host:2,", into: "cur", body: Self.message(201, body: big))
        let client = try await TLSTestClient(group: makeGroup(), port: server.port)
        let greeting = try await client.readLine()
        XCTAssertFalse(greeting.contains("COMPRESS=DEFLATE"), "not offered before login: \(greeting)")
        let early = try await client.command("e", "COMPRESS DEFLATE")
        XCTAssertTrue(early.last?.hasPrefix("e BAD") ?? false, "not before login: \(early)")
        let login = try await client.command("a", "LOGIN alice secret")
        XCTAssertTrue(login.last?.contains("COMPRESS=DEFLATE") ?? false, "\(login)")

        let compress = try await client.command("z", "COMPRESS DEFLATE")
        XCTAssertEqual(compress.last, "z OK DEFLATE active.")
        let codec = try await client.startCompression()

        let select = try await client.command("b", "SELECT INBOX")
        XCTAssertTrue(select.contains("* 201 EXISTS"), "\(select)")
        XCTAssertEqual(select.last?.hasPrefix("b OK"), true)
        let listing = try await client.command("c", "FETCH 1:* (ENVELOPE BODYSTRUCTURE)")
        XCTAssertEqual(listing.filter { $0.hasPrefix("* ") && $0.contains(" FETCH (") }.count, 201)
        XCTAssertTrue(listing.contains { $0.contains("\"message 200\"") })
        XCTAssertEqual(listing.last?.hasPrefix("c OK"), true)
        let body = try await client.command("d", "FETCH 201 BODY[TEXT]")
        XCTAssertEqual(body.filter { $0.hasPrefix("line of a large body") }.count, 24_000)
        XCTAssertEqual(body.last?.hasPrefix("d OK"), true)

        try await client.send("i IDLE\r\n")
        let idling = try await client.readLine()
        XCTAssertTrue(idling.hasPrefix("+ "), idling)
        try server.maildir.deliver("alice", name: "1700002000.M9P1.host", body: Self.message(202))
        let exists = try await client.readLine()
        XCTAssertEqual(exists, "* 202 EXISTS")
        let recent = try await client.readLine()
        XCTAssertEqual(recent, "* 202 RECENT")
        try await client.send("DONE\r\n")
        let done = try await client.readLine()
        XCTAssertTrue(done.hasPrefix("i OK"), done)

        let second = try await client.command("y", "COMPRESS DEFLATE")
        XCTAssertEqual(second.last, "y NO [COMPRESSIONACTIVE] DEFLATE is already active.")
        let logout = try await client.command("l", "LOGOUT")
        XCTAssertTrue(logout.contains { $0.hasPrefix("* BYE") }, "\(logout)")
        XCTAssertEqual(logout.last?.hasPrefix("l OK"), true)
        // The responses came compressed: the 1 MB body alone is far larger than this.
        let received = codec.compressedBytesReceived.load(ordering: .relaxed)
        XCTAssertGreaterThan(received, 0)
        XCTAssertLessThan(received, big.utf8.count / 4)
        await client.close()
    }

    /// RFC 4978 §3: BAD for an unknown mechanism (nothing changes), NO
    /// [COMPRESSIONACTIVE] for a second COMPRESS.
    func testUnknownMechanismAndSecondCompress() async throws {
        let server = try await startServer()
        let client = try await TLSTestClient(group: makeGroup(), port: server.port)
        _ = try await client.readLine()
        _ = try await client.command("a", "LOGIN alice secret")
        let unknown = try await client.command("b", "COMPRESS GZIP")
        XCTAssertEqual(unknown.last, "b BAD Unknown compression mechanism.")
        let noop = try await client.command("c", "NOOP")
        XCTAssertEqual(noop.last?.hasPrefix("c OK"), true, "still uncompressed: \(noop)")
        let compress = try await client.command("d", "compress deflate")
        XCTAssertEqual(compress.last, "d OK DEFLATE active.")
        try await client.startCompression()
        let again = try await client.command("e", "COMPRESS DEFLATE")
        XCTAssertEqual(again.last, "e NO [COMPRESSIONACTIVE] DEFLATE is already active.")
        let unknownAgain = try await client.command("f", "COMPRESS FOO")
        XCTAssertEqual(unknownAgain.last, "f BAD Unknown compression mechanism.")
        let last = try await client.command("g", "NOOP")
        XCTAssertEqual(last.last?.hasPrefix("g OK"), true)
        await client.close()
    }

    /// The inflated input goes through the decoder's limits as plain input does: a
    /// line over the limit is refused with BAD, and the session goes on.
    func testInflatedInputHasTheLineLimit() async throws {
        let server = try await startServer()
        let client = try await TLSTestClient(group: makeGroup(), port: server.port)
        _ = try await client.readLine()
        _ = try await client.command("a", "LOGIN alice secret")
        _ = try await client.command("z", "COMPRESS DEFLATE")
        try await client.startCompression()
        let long = try await client.command("b", "NOOP " + String(repeating: "x", count: 200_000))
        XCTAssertEqual(long.last, "b BAD Line too long")
        let after = try await client.command("c", "NOOP")
        XCTAssertEqual(after.last?.hasPrefix("c OK"), true)
        await client.close()
    }

    /// About 1 MB of deflate (deflate cannot expand more than ~1032:1) inflating to
    /// 1.1 GiB of one endless line: the server inflates a few MB, ends the connection
    /// with BYE, and its memory (this process's RSS) does not grow with the bomb.
    func testDeflateBombEndsWithByeWithoutMemoryGrowth() async throws {
        let server = try await startServer()
        let client = try await TLSTestClient(group: makeGroup(), port: server.port)
        _ = try await client.readLine()
        _ = try await client.command("a", "LOGIN alice secret")
        _ = try await client.command("z", "COMPRESS DEFLATE")
        let codec = try await client.startCompression()
        // The bomb is compressed here once, not by the codec per write; the codec has
        // written nothing yet, so the bomb's stream is the client's whole stream.
        codec.rawWrites.store(true, ordering: .relaxed)
        let deflater = TestDeflater()
        var bomb = deflater.compress(Array("b NOOP ".utf8), flush: Z_FULL_FLUSH)
        // After a full flush the compressor's state is the same each time, so one
        // block of 1 MiB of "A" (about 1 KB compressed) is sent 1,100 times.
        let block = deflater.compress([UInt8](repeating: 65, count: 1 << 20), flush: Z_FULL_FLUSH)
        let repeated = 1_100
        for _ in 0..<repeated { bomb += block }
        XCTAssertLessThan(bomb.count, 1_300_000, "~1,000 times smaller than the 1.1 GiB it inflates to")
        let before = residentKiB()
        // Sent in pieces; the server closes before all of it is written.
        for start in stride(from: 0, to: bomb.count, by: 64 * 1024) {
            let piece = client.channel.allocator.buffer(bytes: bomb[start..<min(bomb.count, start + 64 * 1024)])
            do { try await client.channel.writeAndFlush(piece).get() } catch { break }
        }
        var lines: [String] = []
        do {
            while true { lines.append(try await client.readLine()) }
        } catch {}
        let grownKiB = residentKiB() - before
        XCTAssertEqual(lines, ["* BYE Compressed input expands too far."])
        // Generous: the bomb inflates to 1,126,400 KiB; the server holds a 16 KiB piece.
        XCTAssertLessThan(grownKiB, 128 * 1024, "RSS grew by \(grownKiB) KiB")
        print("deflate bomb: \(bomb.count) compressed bytes for \(repeated) MiB; RSS grew by \(grownKiB) KiB")
        await client.close()
    }

    /// COMPRESS after STARTTLS: the compression handler goes after TLS (RFC 4978 §3:
    /// TLS, then compression inside it), so commands and a FETCH work compressed.
    func testCompressAfterStartTLS() async throws {
        let directory = NSTemporaryDirectory() + "imapd-compress-tls-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: directory) }
        let certificate = try TestCertificate.make(in: directory)
        let server = try await startServer { $0.tlsCertificate = certificate.source }
        try server.maildir.deliver("alice", name: "1700000001.M1P1.host:2,", into: "cur", body: Self.message(1))
        let client = try await TLSTestClient(group: makeGroup(), port: server.port)
        _ = try await client.readLine()
        let startTLS = try await client.command("t", "STARTTLS")
        XCTAssertEqual(startTLS.last?.hasPrefix("t OK"), true, "\(startTLS)")
        try await client.startTLS(trusting: certificate.certFile)
        let login = try await client.command("a", "LOGIN alice secret")
        XCTAssertTrue(login.last?.contains("COMPRESS=DEFLATE") ?? false, "\(login)")
        let compress = try await client.command("z", "COMPRESS DEFLATE")
        XCTAssertEqual(compress.last, "z OK DEFLATE active.")
        let codec = try await client.startCompression()
        let select = try await client.command("b", "SELECT INBOX")
        XCTAssertTrue(select.contains("* 1 EXISTS"), "\(select)")
        let fetch = try await client.command("c", "FETCH 1 (ENVELOPE BODY[TEXT])")
        XCTAssertTrue(fetch.contains { $0.contains("\"message 1\"") }, "\(fetch)")
        XCTAssertEqual(fetch.last?.hasPrefix("c OK"), true)
        XCTAssertGreaterThan(codec.compressedBytesReceived.load(ordering: .relaxed), 0)
        await client.close()
    }

    /// COMPRESS on the implicit-TLS port (993): compression inside TLS from the start.
    func testCompressOnImplicitTLS() async throws {
        let directory = NSTemporaryDirectory() + "imapd-compress-tls-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: directory) }
        let certificate = try TestCertificate.make(in: directory)
        // Only the TLS listener: the server's first (and only) port is the TLS one.
        let server = try await startServer {
            $0.tlsCertificate = certificate.source
            $0.tlsListen = $0.listen
            $0.listen = []
        }
        try server.maildir.deliver("alice", name: "1700000001.M1P1.host:2,", into: "cur", body: Self.message(1))
        let client = try await TLSTestClient(
            group: makeGroup(), port: server.port, implicitTLSTrusting: certificate.certFile)
        _ = try await client.readLine()
        _ = try await client.command("a", "LOGIN alice secret")
        let compress = try await client.command("z", "COMPRESS DEFLATE")
        XCTAssertEqual(compress.last, "z OK DEFLATE active.")
        try await client.startCompression()
        let fetch = try await client.command("b", "EXAMINE INBOX")
        XCTAssertTrue(fetch.contains("* 1 EXISTS"), "\(fetch)")
        let logout = try await client.command("c", "LOGOUT")
        XCTAssertEqual(logout.last?.hasPrefix("c OK"), true, "\(logout)")
        await client.close()
    }
}
