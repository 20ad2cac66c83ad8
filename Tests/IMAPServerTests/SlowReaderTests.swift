import Foundation
import XCTest

#if canImport(Glibc)
    import Glibc
#endif

/// End to end (issue 12): clients that ask for large bodies and then read nothing hold
/// only their own memory, never a thread another user needs. Alice opens 8 and then 64
/// connections, each `FETCH 1:3 BODY.PEEK[]` of three 20 MB messages with a tiny receive
/// buffer, and reads nothing more; meanwhile Bob's LOGIN, SELECT, FETCH BODY[] of a
/// small message and LOGOUT must complete within a generous deadline. On the old code
/// each stalled FETCH held a blocking-pool thread while it waited for its write, so 8
/// of them starved Bob's LOGIN (crypt) and SELECT of the whole pool.
final class SlowReaderTests: XCTestCase {
    static let bodySize = 20 * 1024 * 1024
    /// Generous: the victim needs milliseconds when nothing stalls it.
    static let victimDeadline: TimeInterval = 5

    func testVictimIsServedWhileEightThenSixtyFourClientsStallLargeFetches() async throws {
        let server = try await startServer { config in
            config.maxConnectionsPerUser = 100
            config.maxConnectionsPerUserAddress = 100
            config.maxConnectionsPerAddress = 200
        }
        for n in 1...3 { try Self.deliverSparseMessage(server.maildir, user: "alice", number: n) }
        let small = "From: carol@example.org\r\nSubject: small\r\n\r\nhello bob\r\n"
        try server.maildir.deliver("bob", name: "1700000100.M100P1.host:2,", into: "cur", body: small)
        let rssBefore = Self.residentBytes()

        var stalled: [TestClient] = []
        defer { for client in stalled { client.disconnect() } }
        for target in [8, 64] {
            while stalled.count < target { stalled.append(try Self.stallLargeFetch(port: server.port)) }
            let elapsed = try await Self.victimSession(port: server.port, deadline: Self.victimDeadline)
            XCTAssertNotNil(elapsed, "with \(target) stalled readers the victim did not finish in time")
            let rss = Self.residentBytes()
            print(
                "slow readers: \(target), victim \(elapsed.map { String(format: "%.1f ms", $0 * 1000) } ?? "timed out"),"
                    + " server RSS \(rss / 1_048_576) MiB (before \(rssBefore / 1_048_576) MiB)")
            // Each stalled connection holds a bounded buffer, not its 60 MB of bodies.
            XCTAssertLessThan(rss - rssBefore, 256 * 1_048_576, "RSS grew with \(target) stalled readers")
            // A starved server would starve the next logins too: no point going on.
            if elapsed == nil { return }
        }
    }

    /// A message of `bodySize` bytes whose body is a hole in a sparse file (NULs, sent
    /// as 0x80 in a literal): costs no disk and no time to create.
    static func deliverSparseMessage(_ maildir: TemporaryMaildir, user: String, number: Int) throws {
        let header = "From: a@example.org\r\nSubject: large \(number)\r\n\r\n"
        let name = "170000000\(number).M\(number)P1.host,S=\(bodySize),W=\(bodySize):2,S"
        let tmp = maildir.root + "/" + user + "/tmp/" + name
        guard FileManager.default.createFile(atPath: tmp, contents: Data(header.utf8)) else { throw POSIXError(.EIO) }
        guard truncate(tmp, off_t(bodySize)) == 0 else { throw POSIXError(.EIO) }
        guard rename(tmp, maildir.root + "/" + user + "/cur/" + name) == 0 else { throw POSIXError(.EIO) }
    }

    /// Alice's connection that asks for all three bodies and, once the first response
    /// has started, reads nothing more. The 4 KiB receive buffer makes the server's
    /// writes stall after a few hundred KiB.
    static func stallLargeFetch(port: Int) throws -> TestClient {
        let client = try TestClient(port: port, receiveBufferBytes: 4096)
        try client.login("alice", "secret")
        XCTAssertTrue(try client.command("SELECT INBOX").ok)
        client.sendRaw("F FETCH 1:3 BODY.PEEK[]\r\n")
        let first = try client.readLine()
        XCTAssertTrue(first.hasPrefix("* 1 FETCH (BODY[] {\(bodySize)}"), first)
        return client
    }

    /// Bob's whole session on its own thread; the seconds it took, or nil when it did not
    /// finish within `deadline` (or failed).
    static func victimSession(port: Int, deadline: TimeInterval) async throws -> TimeInterval? {
        let done = DispatchSemaphore(value: 0)
        let outcome = VictimOutcome()
        let thread = Thread {
            defer { done.signal() }
            let started = Date()
            do {
                let client = try TestClient(port: port)
                guard try client.command("LOGIN bob hunter2").ok,
                    try client.command("SELECT INBOX").ok
                else { return }
                let fetch = try client.command("FETCH 1 BODY[]")
                guard fetch.ok,
                    fetch.literals.first == Array("From: carol@example.org\r\n".utf8)
                        + Array("Subject: small\r\n\r\nhello bob\r\n".utf8)
                else { return }
                guard try client.command("LOGOUT").ok else { return }
                outcome.set(Date().timeIntervalSince(started))
            } catch {
                return
            }
        }
        thread.start()
        let finished = await Task.detached { done.wait(timeout: .now() + deadline) == .success }.value
        return finished ? outcome.get() : nil
    }

    /// VmRSS of this process (the server runs in it), in bytes.
    static func residentBytes() -> Int {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
        for line in status.split(separator: "\n") where line.hasPrefix("VmRSS:") {
            let kilobytes = line.split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 0
            return kilobytes * 1024
        }
        return 0
    }
}

/// The victim thread's result, read by the test after the thread signalled.
private final class VictimOutcome: @unchecked Sendable {
    private let lock = NSLock()
    private var seconds: TimeInterval?
    func set(_ value: TimeInterval) { lock.withLock { seconds = value } }
    func get() -> TimeInterval? { lock.withLock { seconds } }
}
