import Auth
import Foundation
import IMAPServer
import Logging
import XCTest

extension XCTestCase {
    /// Starts the real server for this test; it is stopped when the test ends, passed
    /// or failed (a failing test used to leak its server). Stopping twice is harmless
    /// (`IMAPServer.shutdown` is idempotent), so a test may still stop it itself.
    func startServer(
        users: [String: String] = ["alice": "secret", "bob": "hunter2"], hashes: [String: String] = [:],
        throttle: LoginThrottle = LoginThrottle(), logger: Logger? = nil,
        configure: (inout ServerConfiguration) -> Void = { _ in }
    ) async throws -> RunningServer {
        let server = try await RunningServer(
            users: users, hashes: hashes, throttle: throttle, logger: logger, configure: configure)
        stopAtTeardown(server)
        return server
    }

    /// Stops `server` when the test ends, passed or failed, and removes its Maildir.
    /// The block holds the RunningServer, so its Maildir lives as long as the test,
    /// used or not.
    func stopAtTeardown(_ server: RunningServer) {
        addTeardownBlock {
            await server.stop()
            server.maildir.remove()
        }
    }

    /// Stops a server the test started itself (a restart) when the test ends.
    func stopAtTeardown(_ imap: IMAPServer) {
        addTeardownBlock { await imap.shutdown() }
    }
}
