import IMAPProtocol
import NIOCore
import XCTest

@testable import IMAPServer

/// COMPRESS (RFC 4978) in the connection's rules: the OK is written before the
/// compression handler goes in, and refused compressed input ends with BYE, after the
/// running command when one runs (ordering invariant).
final class ConnectionMachineCompressionTests: XCTestCase {
    func testCompressWritesTheOKThenStartsCompressionAndDecodesOn() {
        var driver = MachineDriver.greeted()
        driver.logIn()
        driver.decoded("z COMPRESS DEFLATE\r\n")
        XCTAssertEqual(
            driver.send(.finished(.startCompression(tag: "z"))),
            ["write z OK DEFLATE active.", "startCompression", "arm inactivity +1800s", "decode"])
        XCTAssertTrue(driver.machine.isWaitingForCommand)
    }

    func testRefusedInputBetweenCommandsSaysByeAtOnce() {
        var driver = MachineDriver.greeted()
        XCTAssertEqual(
            driver.send(.inputFailed("Invalid compressed data.")),
            ["write * BYE Invalid compressed data.", "close decoderFatal"])
        XCTAssertEqual(driver.send(.received(ByteBuffer(string: "a NOOP\r\n"))), [])
    }

    func testRefusedInputWhileBusyWaitsForTheCommand() {
        var driver = MachineDriver.greeted()
        driver.decoded("a NOOP\r\n")
        XCTAssertEqual(driver.send(.inputFailed("Compressed input expands too far.")), [])
        XCTAssertEqual(
            driver.send(.finished(.done)),
            ["write * BYE Compressed input expands too far.", "close decoderFatal"])
    }
}
