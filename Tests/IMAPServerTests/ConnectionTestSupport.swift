import Auth
import Foundation
import IMAPServer
import Logging
import XCTest

extension XCTestCase {
    /// Starts the real server (RunningServer) and stops it when the test ends, passed or
    /// failed: a test that throws or fails half-way leaks no listener, no threads and no
    /// temporary spool into the tests after it. Every server test starts its server here.
    func startServer(
        users: [String: String] = ["alice": "secret", "bob": "hunter2"], hashes: [String: String] = [:],
        throttle: LoginThrottle = LoginThrottle(), logger: Logger? = nil,
        configure: (inout ServerConfiguration) -> Void = { _ in }
    ) async throws -> RunningServer {
        let server = try await RunningServer(
            users: users, hashes: hashes, throttle: throttle, logger: logger, configure: configure)
        let imap = server.server
        addTeardownBlock { await imap.shutdown() }
        return server
    }
}
