import Foundation
import LogCapture
import XCTest

@testable import IMAPServer

/// Issue 18 item 5: limits that suit real sites. Logged-in sessions are limited per
/// user and address (Dovecot's mail_max_userip_connections, 10), refused with
/// `NO [LIMIT]` to the login; only connections that have not logged in yet count
/// against their address, so many users behind one NAT address are never refused.
final class ConnectionLimitsTests: XCTestCase {
    func testManyUsersBehindOneAddressAreNeverRefused() async throws {
        let users = Dictionary(uniqueKeysWithValues: (1...30).map { ("user\($0)", "pw\($0)") })
        let server = try await startServer(users: users)
        let defaults = server.server.configuration
        XCTAssertEqual(defaults.maxConnectionsPerUserAddress, 10)
        XCTAssertEqual(defaults.maxConnectionsPerAddress, 50)
        // 120 logged-in sessions from 127.0.0.1, 4 per user (an office behind NAT).
        var sessions: [TestClient] = []
        for round in 0..<4 {
            for n in 1...30 {
                let client = try server.connect()
                XCTAssertTrue(client.greetingLine.hasPrefix("* OK"), "round \(round): \(client.greetingLine)")
                let reply = try client.command("LOGIN user\(n) pw\(n)")
                XCTAssertTrue(reply.ok, "user\(n), round \(round): \(reply.tagged)")
                sessions.append(client)
            }
        }
        // One user from one address: 10 sessions, the 11th gets NO [LIMIT].
        for _ in 0..<6 {
            let client = try server.connect()
            XCTAssertTrue(try client.command("LOGIN user1 pw1").ok)
            sessions.append(client)
        }
        let eleventh = try server.connect()
        let refused = try eleventh.command("LOGIN user1 pw1")
        XCTAssertTrue(refused.tagged.contains("NO [LIMIT]"), refused.tagged)
        // The connection stays, not logged in; another user logs in on it.
        XCTAssertTrue(try eleventh.command("LOGIN user2 pw2").ok)
        let limits = server.server.context.limits
        XCTAssertEqual(limits.connections(from: "127.0.0.1").unauthenticated, 0)
        XCTAssertEqual(limits.sessions(of: "user1"), 10)

        // Connections not logged in are capped per address, however many are logged in.
        var waiting: [TestClient] = []
        for _ in 0..<defaults.maxConnectionsPerAddress {
            let client = try server.connect()
            XCTAssertTrue(client.greetingLine.hasPrefix("* OK"), client.greetingLine)
            waiting.append(client)
        }
        let over = try server.connect()
        XCTAssertEqual(over.greetingLine, "* BYE Too many connections from your address.")
        // One of them logs in: its place is free for a new connection.
        XCTAssertTrue(try waiting[0].command("LOGIN user3 pw3").ok)
        let next = try server.connect()
        XCTAssertTrue(next.greetingLine.hasPrefix("* OK"), next.greetingLine)
        withExtendedLifetime((sessions, waiting)) {}
    }

    /// Issue 11 item 9: a connection that does not log in is closed at the login
    /// deadline. The timing rules (activity does not extend it, a login ends it, half
    /// lines do not restart the autologout, whole commands do) are ConnectionMachine
    /// tests with a fake clock; this checks the real timer and the BYE on the wire.
    func testLoginDeadlineClosesAConnectionThatNeverLogsIn() async throws {
        let server = try await startServer {
            $0.loginTimeoutSeconds = 1
            $0.idleTimeoutSeconds = 60
        }
        let client = try server.connect()
        XCTAssertTrue(try client.command("NOOP").ok)
        XCTAssertTrue(client.closes(within: 10), "still open 10 s after a 1 s login deadline")
        XCTAssertEqual(client.readUntilClosed(), "* BYE Login timeout.\r\n")
    }

    /// The server-wide cap: past it new connections get BYE at once, and the log says
    /// so once per burst (not once per refused connection), then how many were refused.
    func testServerWideConnectionCapIsLoggedOncePerBurst() async throws {
        let log = LogCapture()
        let server = try await startServer(logger: log.logger()) { $0.maxConnections = 3 }
        let open = try (0..<3).map { _ in try server.connect() }
        for _ in 0..<5 {
            let refused = try server.connect()
            XCTAssertEqual(refused.greetingLine, "* BYE Too many connections, try again later.")
        }
        XCTAssertEqual(log.count("connection limit reached", level: .notice), 1, "\(log.all)")
        open[0].disconnect()
        let limits = server.server.context.limits
        XCTAssertTrue(pollUntil { limits.connections(from: "127.0.0.1").open == 2 })
        let admitted = try server.connect()
        XCTAssertTrue(admitted.greetingLine.hasPrefix("* OK"), admitted.greetingLine)
        XCTAssertEqual(log.count("accepting connections again refused=5", level: .notice), 1, "\(log.all)")
        // The next burst is logged again.
        XCTAssertTrue(try server.connect().greetingLine.hasPrefix("* BYE"))
        XCTAssertEqual(log.count("connection limit reached", level: .notice), 2, "\(log.all)")
    }
}
