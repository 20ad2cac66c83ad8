import IMAPServer
import XCTest

/// RFC 9051 §5.4: the autologout timer is `--idle-timeout`, but a session in IDLE is
/// never logged out before 29 minutes (RFC 2177: clients re-issue IDLE every 29).
final class InactivityTimeoutTests: XCTestCase {
    func testIdleNeverTimesOutBefore29Minutes() {
        var config = ServerConfiguration(root: "/nonexistent", passwdFile: nil)
        XCTAssertEqual(ServerConfiguration.idleCommandMinimumTimeoutSeconds, 1740)
        config.idleTimeoutSeconds = 1800
        XCTAssertEqual(config.inactivityTimeoutSeconds(idling: false), 1800)
        XCTAssertEqual(config.inactivityTimeoutSeconds(idling: true), 1800)
        // A short timeout (as tests and impatient administrators set) applies outside
        // IDLE only.
        config.idleTimeoutSeconds = 2
        XCTAssertEqual(config.inactivityTimeoutSeconds(idling: false), 2)
        XCTAssertEqual(config.inactivityTimeoutSeconds(idling: true), 1740)
        config.idleTimeoutSeconds = 7200
        XCTAssertEqual(config.inactivityTimeoutSeconds(idling: true), 7200)
    }
}
