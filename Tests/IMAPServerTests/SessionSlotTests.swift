import Auth
import Foundation
import XCTest

@testable import IMAPServer

/// Issue 11 item 4: a client that goes away while its LOGIN or AUTHENTICATE is being
/// checked must not leave a logged-in session slot behind. The old code took the slot
/// after the close clean-up had already run, so a few such closes locked a yescrypt
/// user out (`NO [LIMIT]` on every login) until the server restarted.
final class SessionSlotTests: XCTestCase {
    private static let users = [("yuser", "pw-yescrypt", PasswordScheme.yescrypt), ("suser", "pw-sha", .sha512Crypt)]

    func testClosingAtRandomPointsOfLoginAndAuthenticateLeaksNoSlot() async throws {
        var hashes: [String: String] = [:]
        for (user, password, scheme) in Self.users {
            hashes[user] = try makePasswordHash(Array(password.utf8), scheme: scheme)
        }
        let limit = 3
        let server = try await startServer(users: [:], hashes: hashes) {
            $0.maxConnectionsPerUser = limit
            $0.maxConnectionsPerUserAddress = limit
        }
        let limits = server.server.context.limits
        var rng = SystemRandomNumberGenerator()
        for iteration in 0..<45 {
            for (user, password, _) in Self.users {
                let client = try server.connect()
                let response = Data("\0\(user)\0\(password)".utf8).base64EncodedString()
                switch iteration % 3 {
                case 0: client.sendRaw("a LOGIN \(user) \(password)\r\n")
                case 1: client.sendRaw("a AUTHENTICATE PLAIN \(response)\r\n")  // SASL-IR
                default:
                    client.sendRaw("a AUTHENTICATE PLAIN\r\n")
                    XCTAssertTrue(try client.readLine().hasPrefix("+"))
                    client.sendRaw("\(response)\r\n")
                }
                // The client goes away at a random point: before the command is read,
                // while the password is checked (yescrypt takes about 20 ms), or after.
                usleep(UInt32.random(in: 0...30_000, using: &rng))
                client.disconnect()
            }
        }
        // Every closed connection gives back its session slot and its address slot.
        let released = pollUntil {
            Self.users.allSatisfy { limits.sessions(of: $0.0) == 0 }
                && limits.connections(from: "127.0.0.1") == (open: 0, unauthenticated: 0)
        }
        XCTAssertTrue(
            released,
            "slots left: \(Self.users.map { limits.sessions(of: $0.0) }), \(limits.connections(from: "127.0.0.1"))")
        // And each user can log in as often as the limit allows.
        var sessions: [TestClient] = []
        for (user, password, _) in Self.users {
            for _ in 0..<limit {
                let client = try server.connect()
                let reply = try client.command("LOGIN \(user) \(password)")
                XCTAssertTrue(reply.ok, "\(user): \(reply.tagged)")
                sessions.append(client)
            }
        }
        XCTAssertEqual(Self.users.map { limits.sessions(of: $0.0) }, [limit, limit])
    }

    /// A LOGOUT gives the slot back at once (before its OK), and the close that
    /// follows does not give it back a second time.
    func testLogoutReleasesOnce() async throws {
        let server = try await startServer { $0.maxConnectionsPerUser = 1 }
        let limits = server.server.context.limits
        let first = try server.connect()
        try first.login()
        XCTAssertTrue(try first.command("LOGOUT").ok)
        XCTAssertEqual(limits.sessions(of: "alice"), 0)
        first.disconnect()
        let second = try server.connect()
        try second.login()
        XCTAssertTrue(pollUntil { limits.connections(from: "127.0.0.1").open == 1 })
        XCTAssertEqual(limits.sessions(of: "alice"), 1)
        let third = try server.connect()
        XCTAssertTrue(try third.command("LOGIN alice secret").tagged.contains("NO [LIMIT]"))
    }
}
