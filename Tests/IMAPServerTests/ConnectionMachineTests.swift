import IMAPProtocol
import NIOCore
import XCTest

@testable import IMAPServer

/// The connection's ordering rules without a socket (issue 12): nothing decoded or
/// written by the connection while session work runs, reads paused past the queue
/// limit, graceful shutdown, the decoder's own answers.
final class ConnectionMachineTests: XCTestCase {
    /// While a command runs, input queues and nothing is decoded; when it ends the
    /// machine asks to decode again.
    func testNothingIsDecodedWhileACommandRuns() {
        var driver = MachineDriver.greeted()
        driver.decoded("a NOOP\r\n")
        XCTAssertFalse(driver.machine.isWaitingForCommand)
        XCTAssertEqual(driver.send(.received(ByteBuffer(string: "b NOOP\r\n"))), ["buffer 8"])
        XCTAssertEqual(driver.decoded("b NOOP\r\n"), [], "a decoder event while running is ignored")
        XCTAssertEqual(driver.send(.finished(.done)), ["arm inactivity +1800s", "decode"])
        XCTAssertTrue(driver.machine.isWaitingForCommand)
    }

    /// Before login at most one pre-login command (8 KiB) queues while work runs;
    /// the held-back read is passed on when the work ends. Waiting, reads always pass.
    func testReadsPauseOnceTheQueueExceedsTheLimitWhileBusy() {
        var driver = MachineDriver.greeted()
        XCTAssertEqual(driver.send(.readRequested(bufferedBytes: 1 << 20)), ["read"], "waiting: never paused")
        driver.decoded("a NOOP\r\n")
        XCTAssertEqual(driver.send(.readRequested(bufferedBytes: 8192)), ["read"])
        XCTAssertEqual(driver.send(.readRequested(bufferedBytes: 8193)), [])
        XCTAssertEqual(driver.send(.finished(.done)), ["arm inactivity +1800s", "read", "decode"])
    }

    func testTheQueueLimitAfterLoginIsTheConfiguredOne() {
        var driver = MachineDriver.greeted { $0.maxQueuedInputBytes = 100_000 }
        driver.logIn()
        driver.decoded("b NOOP\r\n")
        XCTAssertEqual(driver.send(.readRequested(bufferedBytes: 100_000)), ["read"])
        XCTAssertEqual(driver.send(.readRequested(bufferedBytes: 100_001)), [])
    }

    func testShutdownWhileWaitingSaysByeAtOnce() {
        var driver = MachineDriver.greeted()
        XCTAssertEqual(driver.send(.shutdownRequested), ["write * BYE Server shutting down.", "close shutdown"])
        XCTAssertEqual(driver.send(.received(ByteBuffer(string: "a NOOP\r\n"))), [])
    }

    /// A running command finishes (its response is complete) before the BYE.
    func testShutdownWhileBusyWaitsForTheCommand() {
        var driver = MachineDriver.greeted()
        driver.decoded("a NOOP\r\n")
        XCTAssertEqual(driver.send(.shutdownRequested), [])
        XCTAssertEqual(driver.send(.finished(.done)), ["write * BYE Server shutting down.", "close shutdown"])
    }

    func testShutdownDuringIdleSaysByeAtOnce() {
        var driver = MachineDriver.greeted()
        driver.decoded("i IDLE\r\n")
        driver.send(.finished(.idling))
        XCTAssertEqual(driver.send(.shutdownRequested), ["write * BYE Server shutting down.", "close shutdown"])
    }

    /// STARTTLS answered while the server stops: the OK, then BYE, and no TLS.
    func testShutdownDuringStartTLSStartsNoTLS() {
        var driver = MachineDriver.greeted()
        driver.decoded("s STARTTLS\r\n")
        driver.send(.shutdownRequested)
        XCTAssertEqual(
            driver.send(.finished(.startTLS(tag: "s"))),
            [
                "discardBufferedInput", "write s OK Begin TLS negotiation now.", "write * BYE Server shutting down.",
                "close shutdown",
            ])
    }

    func testLogoutClosesWithoutWritingMore() {
        var driver = MachineDriver.greeted()
        driver.decoded("z LOGOUT\r\n")
        XCTAssertEqual(driver.send(.finished(.close)), ["close sessionEnded"])
        XCTAssertEqual(driver.advance(seconds: 3600), [], "no timer acts after close")
    }

    /// The decoder's own events are answered by the connection, with the same bytes as
    /// before the machine (ConnectionResponse).
    func testDecoderEventsAnsweredByTheConnection() {
        var driver = MachineDriver.greeted()
        XCTAssertEqual(driver.send(.decoded(.needsContinuation)), ["arm inactivity +1800s", "write + OK"])
        XCTAssertEqual(
            driver.send(.decoded(.bad(tag: "a1", message: "Unknown command."))),
            ["arm inactivity +1800s", "write a1 BAD Unknown command."])
        XCTAssertEqual(
            driver.send(.decoded(.literalTooLarge(tag: "a2", size: 9000))),
            ["arm inactivity +1800s", "write a2 NO [TOOBIG] Literal too large (limit 8192 bytes)."])
        XCTAssertEqual(
            driver.send(.literalRefused(tag: "a3")),
            ["write a3 NO [LIMIT] Too much literal data buffered on this server, try again later."])
        XCTAssertTrue(driver.machine.isWaitingForCommand)
        XCTAssertEqual(
            driver.send(.decoded(.fatal(message: "Literal too large."))),
            ["write * BYE Literal too large.", "close decoderFatal"])
    }

    func testLiteralBudgetExhaustedEndsTheConnection() {
        var driver = MachineDriver.greeted()
        XCTAssertEqual(
            driver.send(.literalBudgetExhausted),
            ["write * BYE Too much literal data buffered on this server, try again later.", "close literalBudget"])
    }

    func testRefusedConnectionGetsItsByeAndNoSession() {
        var driver = MachineDriver()
        XCTAssertEqual(
            driver.send(.refused(bye: ConnectionResponse.serverFull)),
            ["write * BYE Too many connections, try again later.", "close refused"])
        XCTAssertEqual(driver.send(.connected), [])
    }

    func testStreamedAppendSkipAndContinuation() {
        var driver = MachineDriver.greeted()
        driver.logIn()
        driver.send(.decoded(.appendBegin(tag: "b", mailbox: MailboxName("INBOX"))))
        XCTAssertEqual(driver.send(.finished(.skipAppend)), ["abandonAppend", "arm inactivity +1800s", "decode"])
        driver.decoded("c AUTHENTICATE PLAIN\r\n")
        XCTAssertEqual(
            driver.send(.finished(.awaitContinuationLine)),
            ["expectContinuationLine", "arm inactivity +1800s", "decode"])
    }
}
