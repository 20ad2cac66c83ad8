import Auth
import Foundation
import LogCapture
import NIOPosix
import Synchronization
import XCTest

@testable import IMAPServer

/// The auth_http endpoint for nginx's mail proxy (issue 17 item 1) on a real loopback
/// socket: raw HTTP requests as nginx sends them, answers read to the close.
final class AuthHTTPTests: XCTestCase {
    /// Throttle penalties are computed as usual but never slept, so a test waits for
    /// nothing; what it checks is the Auth-Wait the penalty becomes.
    private func instantThrottle() -> LoginThrottle { LoginThrottle(sleep: { _ in }) }

    /// alice and bob in the passwd file the endpoint checks; carol's entry names her
    /// backend itself; dave's password needs percent-encoding.
    private static let passwd = """
        alice:{PLAIN}secret::::::
        bob:{PLAIN}hunter2::::::
        carol:{PLAIN}carol-pw:::::: backend=10.0.0.13:1143
        dave:{PLAIN}p w%::::::
        erin:{PLAIN}erin-pw:::::: backend=mail.example.org:143

        """
    private static let shards = """
        # exact names first, then the first matching pattern
        alice   10.0.0.11:143
        carol   10.0.0.11:143
        *       10.0.0.12:143

        """

    private func startEndpoint(
        shards: String? = AuthHTTPTests.shards, logger: LogCapture? = nil, throttle: LoginThrottle? = nil,
        configure: @escaping (inout ServerConfiguration) -> Void = { _ in }
    ) async throws -> RunningServer {
        try await startServer(throttle: throttle ?? instantThrottle(), logger: logger?.logger()) { config in
            let passwd = config.root + "/auth-passwd"
            _ = FileManager.default.createFile(atPath: passwd, contents: Data(Self.passwd.utf8))
            config.passwdFile = passwd
            if let shards {
                let map = config.root + "/shards"
                _ = FileManager.default.createFile(atPath: map, contents: Data(shards.utf8))
                config.shardMapFile = map
            }
            config.authHTTPListen = ListenAddress(host: "127.0.0.1", port: 0)
            configure(&config)
        }
    }

    func testRightPasswordAnswersTheUsersBackend() async throws {
        let capture = LogCapture()
        let server = try await startEndpoint(logger: capture)
        let alice = try server.authRequest(user: "alice", password: "secret")
        XCTAssertEqual(alice.statusLine, "HTTP/1.0 200 OK", "answered in nginx's HTTP/1.0")
        XCTAssertEqual(alice.status, "OK")
        XCTAssertEqual(alice.headers["Auth-Server"], "10.0.0.11")
        XCTAssertEqual(alice.headers["Auth-Port"], "143")
        XCTAssertNil(alice.wait)
        // bob: only the `*` pattern matches.
        XCTAssertEqual(try server.authRequest(user: "bob", password: "hunter2").headers["Auth-Server"], "10.0.0.12")
        // carol: her passwd field wins over her line in the map.
        let carol = try server.authRequest(user: "carol", password: "carol-pw")
        XCTAssertEqual([carol.headers["Auth-Server"], carol.headers["Auth-Port"]], ["10.0.0.13", "1143"])
        // nginx percent-encodes space and % in Auth-Pass.
        XCTAssertEqual(try server.authRequest(user: "dave", password: "p%20w%25").status, "OK")
        for secret in ["secret", "hunter2", "carol-pw", "p w%"] {
            XCTAssertFalse(capture.all.contains { $0.contains(secret) }, "a password reached the log")
        }
        XCTAssertEqual(capture.count("auth_http: routed", level: .info), 4)
    }

    /// Wrong passwords wait (Auth-Wait, nginx holds the answer), doubling per Client-IP
    /// under the IMAP login throttle; another client address has its own count.
    func testWrongPasswordAnswersAuthWaitThrottledPerClientIP() async throws {
        let server = try await startEndpoint()
        var waits: [Int?] = []
        for _ in 0..<4 {
            let reply = try server.authRequest(user: "alice", password: "wrong", clientIP: "192.0.2.7")
            XCTAssertEqual(reply.status, "Invalid login or password")
            XCTAssertNil(reply.headers["Auth-Server"])
            waits.append(reply.wait)
        }
        // 0.5 s, 1 s, 2 s, 4 s: nginx takes whole seconds, at least 1.
        XCTAssertEqual(waits, [1, 1, 2, 4])
        XCTAssertEqual(server.server.context.throttle.failureCounts(address: "192.0.2.7", user: "alice").address, 4)
        // Another address guessing another user: its own first failure.
        XCTAssertEqual(try server.authRequest(user: "bob", password: "wrong", clientIP: "198.51.100.2").wait, 1)
        // The first address guessing another user: still its own count (5th failure).
        XCTAssertEqual(try server.authRequest(user: "bob", password: "x", clientIP: "192.0.2.7").wait, 8)
        // nginx's 10th attempt in one session gets no Auth-Wait: nginx closes the session.
        let last = try server.authRequest(user: "bob", password: "x", clientIP: "203.0.113.1", attempt: 10)
        XCTAssertEqual(last.status, "Invalid login or password")
        XCTAssertNil(last.headers["Auth-Wait"])
    }

    func testUnknownUserIsAnInvalidLoginAndAMissingBackendATemporaryFailure() async throws {
        let capture = LogCapture()
        let server = try await startEndpoint(shards: "alice 10.0.0.11:143\n", logger: capture)
        let unknown = try server.authRequest(user: "mallory", password: "secret")
        XCTAssertEqual(unknown.status, "Invalid login or password", "no hint that the user does not exist")
        XCTAssertEqual(unknown.wait, 1)
        let unrouted = try server.authRequest(user: "bob", password: "hunter2")
        XCTAssertEqual(unrouted.status, "Temporary server problem, try again later")
        XCTAssertNil(unrouted.headers["Auth-Server"])
        let badField = try server.authRequest(user: "erin", password: "erin-pw")
        XCTAssertEqual(badField.status, "Temporary server problem, try again later", "host names are not routed")
        XCTAssertEqual(try server.authRequest(user: "alice", password: "secret").status, "OK")
        XCTAssertEqual(capture.count("no backend for this user", level: .error), 1)
    }

    func testMalformedRequestsGetHTTPErrors() async throws {
        let server = try await startEndpoint()
        // No Auth-Pass.
        let missing = try server.rawAuthRequest(
            "GET /auth HTTP/1.0\r\nAuth-Method: plain\r\nAuth-User: alice\r\nAuth-Protocol: imap\r\n"
                + "Client-IP: 192.0.2.1\r\n\r\n")
        XCTAssertEqual(missing.statusLine, "HTTP/1.0 400 Bad Request")
        XCTAssertNil(missing.status)
        let post = try server.rawAuthRequest("POST /auth HTTP/1.1\r\nContent-Length: 0\r\n\r\n")
        XCTAssertEqual(post.statusLine, "HTTP/1.1 405 Method Not Allowed")
        let garbage = try server.rawAuthRequest("\u{1}\u{2} not http\r\n\r\n")
        XCTAssertEqual(garbage.statusLine, "HTTP/1.1 400 Bad Request")
        // A method without a password: an Auth-Status, no Auth-Wait (nginx closes).
        let cram = try server.authRequest(user: "alice", password: "", method: "cram-md5")
        XCTAssertEqual(cram.status, "Unsupported authentication method")
        XCTAssertNil(cram.headers["Auth-Wait"])
        let pop = try server.rawAuthRequest(
            "GET /auth HTTP/1.0\r\nAuth-Method: plain\r\nAuth-User: alice\r\nAuth-Pass: secret\r\n"
                + "Auth-Protocol: pop3\r\nClient-IP: 192.0.2.1\r\n\r\n")
        XCTAssertEqual(pop.status, "Unsupported protocol")
        // The endpoint still answers.
        XCTAssertEqual(try server.authRequest(user: "alice", password: "secret").status, "OK")
    }

    func testHugeHeaderIsRefusedAndTheConnectionClosed() async throws {
        let server = try await startEndpoint()
        let huge = String(repeating: "x", count: AuthHTTPEndpoint.maximumHeaderBytes * 2)
        let connection = try RawHTTPConnection(port: server.authHTTPPort)
        connection.send("GET /auth HTTP/1.0\r\nAuth-User: \(huge)\r\n")
        // readUntilClosed returns only once the server has closed.
        let reply = AuthHTTPReply(try connection.readUntilClosed())
        XCTAssertEqual(reply.statusLine, "HTTP/1.1 400 Bad Request")
        XCTAssertEqual(try server.authRequest(user: "alice", password: "secret").status, "OK")
    }

    func testConnectionsBeyondTheLimitGet503() async throws {
        let server = try await startEndpoint { $0.maxAuthHTTPConnections = 1 }
        let idle = try RawHTTPConnection(port: server.authHTTPPort)
        let endpoint = try XCTUnwrap(server.server.authHTTP)
        XCTAssertTrue(waitUntil { endpoint.openConnections == 1 })
        let refused = try server.authRequest(user: "alice", password: "secret")
        XCTAssertEqual(refused.statusLine, "HTTP/1.0 503 Service Unavailable")
        withExtendedLifetime(idle) {}
    }

    private func waitUntil(_ condition: () -> Bool) -> Bool {
        let deadline = ContinuousClock.now + .seconds(10)
        while ContinuousClock.now < deadline {
            if condition() { return true }
            usleep(1000)
        }
        return condition()
    }

    func testConfigurationsThatMustNotStart() throws {
        let maildir = try TemporaryMaildir()
        let passwd = maildir.root + "/passwd"
        _ = FileManager.default.createFile(atPath: passwd, contents: Data(Self.passwd.utf8))
        var config = ServerConfiguration(root: maildir.root, passwdFile: passwd)
        config.listen = [ListenAddress(host: "127.0.0.1", port: 0)]
        config.authHTTPListen = ListenAddress(host: "0.0.0.0", port: 0)
        XCTAssertThrowsError(try IMAPServer(configuration: config, logger: .init(label: "test"))) { error in
            guard case IMAPServerError.authHTTPWithoutTLSOffLoopback = error else { return XCTFail("\(error)") }
            XCTAssertTrue("\(error)".contains("--auth-http-tls"))
        }
        config.authHTTPTLS = true
        XCTAssertThrowsError(try IMAPServer(configuration: config, logger: .init(label: "test"))) { error in
            guard case IMAPServerError.tlsListenWithoutCertificate = error else { return XCTFail("\(error)") }
        }
        config.authHTTPListen = nil
        config.authHTTPTLS = false
        config.shardMapFile = passwd
        XCTAssertThrowsError(try IMAPServer(configuration: config, logger: .init(label: "test"))) { error in
            guard case IMAPServerError.shardMapWithoutAuthHTTP = error else { return XCTFail("\(error)") }
        }
    }

    /// `--auth-http-tls`: the endpoint speaks TLS with the server certificate (what a
    /// non-loopback address requires), and plaintext HTTP gets no answer there.
    func testTLSEndpoint() async throws {
        let directory = try TemporaryMaildir()
        let certificate = try TestCertificate.make(in: directory.root)
        let server = try await startEndpoint { config in
            config.tlsCertificate = certificate.source
            config.authHTTPTLS = true
        }
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        addTeardownBlock { try? await group.shutdownGracefully() }
        let client = try await TLSTestClient(
            group: group, port: server.authHTTPPort, implicitTLSTrusting: certificate.certFile)
        try await client.send(
            "GET /auth HTTP/1.0\r\nAuth-Method: login\r\nAuth-User: alice\r\nAuth-Pass: secret\r\n"
                + "Auth-Protocol: imap\r\nClient-IP: 192.0.2.1\r\n\r\n")
        var lines: [String] = []
        while let line = try? await client.readLine() { lines.append(line) }
        XCTAssertEqual(lines.first, "HTTP/1.0 200 OK")
        XCTAssertTrue(lines.contains("Auth-Status: OK"), "\(lines)")
        XCTAssertTrue(lines.contains("Auth-Server: 10.0.0.11"), "\(lines)")
        await client.close()
        let plain = try RawHTTPConnection(port: server.authHTTPPort)
        plain.send("GET /auth HTTP/1.0\r\nAuth-Method: plain\r\n\r\n")
        XCTAssertFalse(try plain.readUntilClosed().hasPrefix("HTTP/"))
        // Off loopback it may start, with TLS.
        var config = server.server.configuration
        config.listen = [ListenAddress(host: "127.0.0.1", port: 0)]
        config.authHTTPListen = ListenAddress(host: "0.0.0.0", port: 0)
        let offLoopback = try IMAPServer(configuration: config, logger: .init(label: "test"))
        await offLoopback.shutdown()
    }

    /// The request deadline is for sending the request: an answer the login throttle
    /// holds longer (a guessed user's penalty) must still reach nginx.
    func testAnswerHeldByTheThrottleOutlivesTheRequestDeadline() async throws {
        let gate = SleepGate()
        let throttle = LoginThrottle(base: .seconds(60), maximum: .seconds(60), sleep: gate.sleep)
        let server = try await startEndpoint(throttle: throttle) { $0.authHTTPRequestTimeout = .milliseconds(200) }
        addTeardownBlock { gate.open() }
        // A wrong guess for alice: her next attempt waits for her penalty (gated).
        XCTAssertEqual(try server.authRequest(user: "alice", password: "wrong", clientIP: "192.0.2.1").wait, 60)
        let held = try RawHTTPConnection(port: server.authHTTPPort)
        held.send(
            "GET /auth HTTP/1.0\r\nAuth-Method: plain\r\nAuth-User: alice\r\nAuth-Pass: secret\r\n"
                + "Auth-Protocol: imap\r\nClient-IP: 198.51.100.7\r\n\r\n")
        XCTAssertTrue(waitUntil { gate.waiting >= 2 }, "the answer waits for alice's penalty")
        // A connection opened later that sends nothing is closed by its deadline: by
        // then the held connection's deadline has passed too.
        let silent = try RawHTTPConnection(port: server.authHTTPPort)
        XCTAssertEqual(try silent.readUntilClosed(), "")
        gate.open()
        let reply = AuthHTTPReply(try held.readUntilClosed())
        XCTAssertEqual(reply.status, "OK")
        XCTAssertEqual(reply.headers["Auth-Server"], "10.0.0.11")
    }
}

/// Sleeping the test releases: every sleep waits until `open()`, after which none does.
final class SleepGate: Sendable {
    private let state = Mutex<(isOpen: Bool, sleepers: [CheckedContinuation<Void, Never>])>((false, []))

    var sleep: @Sendable (Duration) async -> Void {
        { [self] _ in
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let open = state.withLock { state -> Bool in
                    if !state.isOpen { state.sleepers.append(continuation) }
                    return state.isOpen
                }
                if open { continuation.resume() }
            }
        }
    }

    var waiting: Int { state.withLock { $0.sleepers.count } }

    func open() {
        let sleepers = state.withLock { state in
            state.isOpen = true
            defer { state.sleepers = [] }
            return state.sleepers
        }
        for sleeper in sleepers { sleeper.resume() }
    }
}
