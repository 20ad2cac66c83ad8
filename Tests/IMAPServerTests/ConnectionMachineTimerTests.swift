import IMAPProtocol
import NIOCore
import XCTest

@testable import IMAPServer

/// The connection's timers with a fake clock (issue 12): RFC 9051 §5.4 autologout,
/// the IDLE floor, the login deadline (issue 11 item 9), the TLS handshake deadline.
/// Nothing here sleeps; the end-to-end tests keep one real timer each.
final class ConnectionMachineTimerTests: XCTestCase {
    func testConnectArmsAutologoutAndLoginDeadlineThenGreets() {
        var driver = MachineDriver { $0.idleTimeoutSeconds = 60 }
        XCTAssertEqual(
            driver.send(.connected), ["arm inactivity +60s", "arm loginDeadline +180s", "run greeting"])
        XCTAssertEqual(driver.send(.finished(.done)), ["arm inactivity +60s", "decode"])
    }

    func testSilenceEndsInAutologout() {
        var driver = MachineDriver.greeted { $0.idleTimeoutSeconds = 60 }
        XCTAssertEqual(driver.advance(seconds: 59), [])
        XCTAssertEqual(driver.advance(seconds: 1), ["write * BYE Disconnected for inactivity.", "close inactivity"])
        XCTAssertTrue(driver.machine.isClosed)
    }

    /// Bytes of a half-sent line are not progress (slowloris): only decoder events are.
    func testTrickledBytesDoNotRestartTheAutologout() {
        var driver = MachineDriver.greeted { $0.idleTimeoutSeconds = 60 }
        for _ in 0..<5 {
            XCTAssertEqual(driver.advance(seconds: 10), [])
            XCTAssertEqual(driver.send(.received(ByteBuffer(string: "a"))), ["buffer 1", "decode"])
        }
        XCTAssertEqual(driver.advance(seconds: 10), ["write * BYE Disconnected for inactivity.", "close inactivity"])
    }

    /// A whole command restarts the timer when decoded and again when it ends; the
    /// timer armed before is stale and does nothing if it still fires.
    func testWholeCommandsRestartTheAutologout() {
        var driver = MachineDriver.greeted { $0.idleTimeoutSeconds = 60 }
        XCTAssertEqual(driver.advance(seconds: 50), [])
        XCTAssertEqual(driver.decoded("a NOOP\r\n"), ["arm inactivity +60s", "run command a"])
        XCTAssertEqual(driver.advance(seconds: 5), [])
        XCTAssertEqual(driver.send(.finished(.done)), ["arm inactivity +60s", "decode"])
        XCTAssertEqual(driver.send(.timerFired(.inactivity)), [], "a stale firing is ignored")
        XCTAssertEqual(driver.advance(seconds: 59), [])
        XCTAssertEqual(driver.advance(seconds: 1), ["write * BYE Disconnected for inactivity.", "close inactivity"])
    }

    /// RFC 9051 §5.4 / RFC 2177: a session in IDLE is not logged out before 29 minutes,
    /// however short the configured timeout; after DONE the short timeout is back.
    func testIdleHasTheTwentyNineMinuteFloor() {
        var driver = MachineDriver.greeted { $0.idleTimeoutSeconds = 2 }
        driver.logIn()
        driver.decoded("i IDLE\r\n")
        XCTAssertEqual(driver.send(.finished(.idling)), ["expectContinuationLine", "arm inactivity +1740s", "decode"])
        XCTAssertEqual(driver.advance(seconds: 1000), [])
        XCTAssertEqual(
            driver.send(.decoded(.continuationLine(Secret([UInt8]("DONE".utf8))))),
            [
                "arm inactivity +1740s", "run continuationLine",
            ])
        XCTAssertEqual(driver.send(.finished(.done)), ["arm inactivity +2s", "decode"])
        XCTAssertEqual(driver.advance(seconds: 2), ["write * BYE Disconnected for inactivity.", "close inactivity"])
    }

    func testIdleIsLoggedOutAtTheFloor() {
        var driver = MachineDriver.greeted { $0.idleTimeoutSeconds = 2 }
        driver.logIn()
        driver.decoded("i IDLE\r\n")
        driver.send(.finished(.idling))
        XCTAssertEqual(driver.advance(seconds: 1739), [])
        XCTAssertEqual(driver.advance(seconds: 1), ["write * BYE Disconnected for inactivity.", "close inactivity"])
    }

    /// Issue 11 item 9: the login deadline runs from connect; commands do not move it.
    func testLoginDeadlineIsNotExtendedByActivity() {
        var driver = MachineDriver.greeted {
            $0.loginTimeoutSeconds = 10
            $0.idleTimeoutSeconds = 60
        }
        for n in 0..<4 {
            XCTAssertEqual(driver.advance(seconds: 2), [])
            driver.decoded("n\(n) NOOP\r\n")
            XCTAssertEqual(driver.send(.finished(.done)), ["arm inactivity +60s", "decode"])
        }
        XCTAssertEqual(driver.advance(seconds: 1), [])
        XCTAssertEqual(driver.advance(seconds: 1), ["write * BYE Login timeout.", "close loginTimeout"])
    }

    func testLoggingInEndsTheLoginDeadlineAndThePreLoginLimits() {
        var driver = MachineDriver.greeted {
            $0.loginTimeoutSeconds = 10
            $0.idleTimeoutSeconds = 60
        }
        driver.decoded("a LOGIN alice secret\r\n")
        XCTAssertEqual(
            driver.send(.finished(.loggedIn)),
            ["cancel loginDeadline", "limits literal \(64 << 20)", "arm inactivity +60s", "decode"])
        XCTAssertEqual(driver.advance(seconds: 59), [], "past the login deadline")
        XCTAssertEqual(driver.send(.timerFired(.loginDeadline)), [], "a late login firing is ignored")
    }

    func testImplicitTLSHandshakeHasItsOwnDeadline() {
        var driver = MachineDriver(implicitTLS: true) { $0.tlsHandshakeTimeoutSeconds = 5 }
        XCTAssertEqual(
            driver.send(.connected),
            [
                "arm inactivity +1800s", "arm loginDeadline +180s", "arm handshake +5s", "run greeting",
            ])
        driver.send(.finished(.done))
        // Nothing is written: there is no TLS to write in.
        XCTAssertEqual(driver.advance(seconds: 5), ["close handshakeTimeout"])
    }

    func testCompletedHandshakeCancelsItsDeadline() {
        var driver = MachineDriver.greeted(implicitTLS: true) { $0.tlsHandshakeTimeoutSeconds = 5 }
        XCTAssertEqual(driver.send(.handshakeCompleted), ["cancel handshake", "arm inactivity +1800s"])
        XCTAssertEqual(driver.advance(seconds: 100), [])
    }

    /// RFC 9051 §6.2.1 and CVE-2011-0411: buffered input dropped, OK in clear, then TLS;
    /// until the handshake completes arriving bytes are dropped; a client that never
    /// completes it is cut off at the handshake deadline.
    func testStartTLSDropsInputAndTimesOutWithoutHandshake() {
        var driver = MachineDriver.greeted { $0.tlsHandshakeTimeoutSeconds = 5 }
        driver.decoded("s STARTTLS\r\n")
        XCTAssertEqual(
            driver.send(.finished(.startTLS(tag: "s"))),
            [
                "discardBufferedInput", "write s OK Begin TLS negotiation now.", "arm handshake +5s",
                "arm inactivity +1800s", "startTLS",
            ])
        XCTAssertEqual(driver.send(.received(ByteBuffer(string: "b LOGIN alice secret\r\n"))), [])
        XCTAssertFalse(driver.machine.isWaitingForCommand)
        XCTAssertEqual(driver.advance(seconds: 5), ["close handshakeTimeout"])
    }

    func testStartTLSHandshakeThenCommandsAgain() {
        var driver = MachineDriver.greeted()
        driver.decoded("s STARTTLS\r\n")
        driver.send(.finished(.startTLS(tag: "s")))
        XCTAssertEqual(driver.send(.handshakeCompleted), ["cancel handshake", "arm inactivity +1800s"])
        XCTAssertEqual(driver.send(.received(ByteBuffer(string: "c"))), ["buffer 1", "decode"])
    }

    func testChannelInactiveCancelsEveryArmedTimer() {
        var driver = MachineDriver.greeted(implicitTLS: true)
        XCTAssertEqual(
            driver.send(.channelInactive), ["cancel inactivity", "cancel loginDeadline", "cancel handshake"])
        XCTAssertEqual(driver.advance(seconds: 3600), [])
    }
}
