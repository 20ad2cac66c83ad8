import XCTest

@testable import IMAPServer

/// The capability list as a function of the connection (RFC 9051 §6.2.1, §6.2.3). The
/// non-loopback end-to-end case is TLSTests.testNonLoopbackNeedsTLS, which needs a
/// non-loopback address on the machine; this covers the same rules everywhere.
final class CapabilityListTests: XCTestCase {
    func testPlaintextNonLoopbackBeforeLogin() {
        let caps = Capability.list(authenticated: false, plaintextAuthAllowed: false, startTLSAvailable: true)
        XCTAssertTrue(caps.contains("LOGINDISABLED"))
        XCTAssertTrue(caps.contains("STARTTLS"))
        XCTAssertFalse(caps.contains("AUTH=PLAIN"))
    }

    func testAfterTLSBeforeLogin() {
        let caps = Capability.list(authenticated: false, plaintextAuthAllowed: true, startTLSAvailable: false)
        XCTAssertTrue(caps.contains("AUTH=PLAIN"))
        XCTAssertFalse(caps.contains("LOGINDISABLED"))
        XCTAssertFalse(caps.contains("STARTTLS"))
    }

    func testNoStartTLSAfterLogin() {
        let caps = Capability.list(authenticated: true, plaintextAuthAllowed: true, startTLSAvailable: true)
        XCTAssertFalse(caps.contains("STARTTLS"))
        XCTAssertFalse(caps.contains("AUTH=PLAIN"))
    }
}
