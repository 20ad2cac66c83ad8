import Foundation
import IMAPServer
import XCTest

extension XCTestCase {
    /// Stops `server` when the test ends, passed or failed.
    func stopAtTeardown(_ server: RunningServer) {
        let imap = server.server
        addTeardownBlock { await imap.shutdown() }
    }
}
