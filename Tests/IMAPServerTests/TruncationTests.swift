import Foundation
import IMAPServer
import XCTest

#if canImport(Glibc)
    import Glibc
#endif

/// Issue 11 item 2: a message file truncated while the server reads it through its
/// memory mapping used to kill the whole server with SIGBUS (FETCH BODY.PEEK[TEXT] of a
/// message over 1 MiB). The server runs in this test process: on the old code the
/// signal ends the test run, which is the failure.
///
/// Each section kind is fetched from a message whose parts are each larger than what
/// the sockets can hold (the client's receive buffer is kept small), so the server is
/// still streaming that very section when the test truncates the file to nothing. The
/// session whose literal cannot be completed is closed; the server goes on serving.
final class TruncationTests: XCTestCase {
    /// Bytes of each region (main header, part 1's MIME header, part 1's body): more
    /// than the server's socket send buffer (4 MiB at most) and the client's small
    /// receive buffer together, so no section is written out before the truncation.
    static let regionBytes = 8 << 20
    static let clientReceiveBuffer: Int32 = 32 * 1024
    static let big = "1700000001.M1P1.host:2,"
    static let small = "1700000002.M2P1.host:2,"

    /// Header, part 1's MIME header and part 1's body of `regionBytes` each; part 2 is
    /// short and base64.
    static func bigMessage(regionBytes: Int = regionBytes) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(3 * regionBytes + 4096)
        func filler(_ name: String, _ total: Int) {
            let line = Array("\(name): \(String(repeating: "x", count: 90))\n".utf8)
            for _ in 0..<(total / line.count) { bytes += line }
        }
        bytes += Array("From: a@example.org\nSubject: big\nMIME-Version: 1.0\n".utf8)
        filler("X-Filler", regionBytes)
        bytes += Array("Content-Type: multipart/mixed; boundary=cut\n\n--cut\n".utf8)
        filler("X-Part-Filler", regionBytes)
        bytes += Array("Content-Type: text/plain\nContent-Transfer-Encoding: 8bit\n\n".utf8)
        let text = Array((String(repeating: "body text ", count: 9) + "\n").utf8)
        for _ in 0..<(regionBytes / text.count) { bytes += text }
        bytes += Array("--cut\nContent-Type: application/octet-stream\nContent-Transfer-Encoding: base64\n\n".utf8)
        bytes += Array("aGVsbG8=\n--cut--\n".utf8)
        return String(decoding: bytes, as: UTF8.self)
    }

    static let message = bigMessage()

    /// A server with the big message (UID 1) and a small one (UID 2), and a session that
    /// watches: it must still be served after the truncation.
    func start() async throws -> (RunningServer, TestClient) {
        let server = try await startServer()
        try server.maildir.deliver("alice", name: Self.big, into: "cur", body: Self.message)
        try server.maildir.deliver("alice", name: Self.small, into: "cur", body: "Subject: small\n\nsmall body\n")
        let watcher = try server.connect()
        try watcher.login()
        XCTAssertTrue(try watcher.command("SELECT INBOX").ok)
        return (server, watcher)
    }

    /// The server still answers: the watching session, and a new session that reads
    /// the other message.
    func assertStillServing(_ server: RunningServer, _ watcher: TestClient, _ item: String) throws {
        XCTAssertTrue(try watcher.command("NOOP").ok, item)
        let fresh = try server.connect()
        try fresh.login()
        XCTAssertTrue(try fresh.command("SELECT INBOX").ok, item)
        let small = try fresh.command("FETCH 2 BODY.PEEK[TEXT]")
        XCTAssertTrue(small.ok, "\(item): \(small.tagged)")
        XCTAssertEqual(small.literals, [Array("small body\r\n".utf8)], item)
    }

    func testTruncationWhileEverySectionKindIsStreamed() async throws {
        let items = [
            "BODY.PEEK[TEXT]", "BODY.PEEK[HEADER]", "BODY.PEEK[1]", "BODY.PEEK[1.MIME]", "BINARY.PEEK[1]",
            "BODY.PEEK[]<0.20000000>", "RFC822.TEXT", "RFC822",
        ]
        for item in items {
            let (server, watcher) = try await start()
            let client = try TestClient(port: server.port, receiveBufferBytes: Self.clientReceiveBuffer)
            try client.login()
            XCTAssertTrue(try client.command("SELECT INBOX").ok)
            client.sendRaw("F FETCH 1 (\(item))\r\n")
            let first = try client.readLine()
            let announced = try XCTUnwrap(TestClient.trailingLiteral(first), "\(item): \(first)")
            XCTAssertGreaterThan(announced, 2 * Self.regionBytes / 3, item)
            // The server is writing this section now; it cannot have read all of it.
            XCTAssertEqual(try client.readBytes(4096).count, 4096)
            // RFC822 and RFC822.TEXT set \Seen: the file has been renamed to `…:2,S`.
            let current = try XCTUnwrap(
                server.maildir.files("alice", "cur").first { $0.hasPrefix(Self.big.dropLast(3)) }, item)
            XCTAssertEqual(truncate(server.maildir.root + "/alice/cur/" + current, 0), 0, item)
            let rest = client.readUntilClosed()
            // Zeros are never sent as the message, and the literal cannot be completed:
            // the session is closed before its end.
            XCTAssertLessThan(4096 + rest.utf8.count, announced, item)
            XCTAssertFalse(rest.contains("F OK"), item)
            XCTAssertFalse(rest.utf8.contains(0), item)
            try assertStillServing(server, watcher, item)
            await server.stop()  // one server per item: not all of them until teardown
        }
    }

    /// ENVELOPE and BODYSTRUCTURE of an uncached message come from the MIME parse, which
    /// reads the whole mapping before anything is written. The server runs in this
    /// process, so the test sees its mapping appear in /proc/self/maps and truncates the
    /// file then, while the parse of the 24 MiB message is under way (if the parse won
    /// the race the answer is simply complete). The answer may be the structure, NO, or
    /// a closed session; the server lives.
    func testTruncationDuringTheParseOfAnUncachedMessage() async throws {
        let (server, watcher) = try await start()
        let rounds = 3
        var names: [String] = []
        for round in 0..<rounds {
            let name = "17000001\(round).M1P1.host"
            try server.maildir.deliver("alice", name: name + ":2,", into: "cur", body: Self.message)
            names.append(name)
        }
        for (round, name) in names.enumerated() {
            let client = try server.connect()
            try client.login()
            XCTAssertTrue(try client.command("SELECT INBOX").ok)
            // UIDs 1 and 2 are the messages `start` delivered.
            client.sendRaw("F UID FETCH \(round + 3) (BODYSTRUCTURE ENVELOPE)\r\n")
            let path = server.maildir.root + "/alice/cur/" + name + ":2,"
            let deadline = ContinuousClock.now + .seconds(10)
            while ContinuousClock.now < deadline {
                let maps = (try? String(contentsOfFile: "/proc/self/maps", encoding: .utf8)) ?? ""
                if maps.contains(name) { break }
            }
            XCTAssertEqual(truncate(path, 0), 0)
            let reply = (try? client.collect(tag: "F"))?.tagged ?? "(closed)"
            XCTAssertTrue(
                reply == "(closed)" || reply.hasPrefix("F OK") || reply.hasPrefix("F NO"), "\(round): \(reply)")
            try assertStillServing(server, watcher, "round \(round)")
        }
    }
}
