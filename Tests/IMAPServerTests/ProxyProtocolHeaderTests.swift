import NIOCore
import XCTest

@testable import IMAPServer

/// PROXY protocol v1 and v2 headers (issue 17): valid ones give the real client address
/// and their exact length, partial ones ask for more, and anything else is invalid
/// without looking past the fixed maximum.
final class ProxyProtocolHeaderTests: XCTestCase {
    private func parse(_ bytes: [UInt8]) -> ProxyProtocolHeader.ParseResult {
        ProxyProtocolHeader.parse(ByteBuffer(bytes: bytes))
    }

    private func parse(_ text: String) -> ProxyProtocolHeader.ParseResult { parse(Array(text.utf8)) }

    func testV1TCP4GivesSourceAndLength() throws {
        let line = "PROXY TCP4 127.0.0.7 127.0.0.1 40000 10143\r\n"
        let expected = try SocketAddress(ipAddress: "127.0.0.7", port: 40000)
        XCTAssertEqual(parse(line + "a1 CAPABILITY\r\n"), .header(.init(source: expected), length: line.utf8.count))
    }

    func testV1TCP6AndUnknown() throws {
        let line = "PROXY TCP6 ::1 ::1 5 143\r\n"
        XCTAssertEqual(parse(line), .header(.init(source: try SocketAddress(ipAddress: "::1", port: 5)), length: 26))
        XCTAssertEqual(parse("PROXY UNKNOWN\r\n"), .header(.init(source: nil), length: 15))
    }

    func testV1PartialNeedsMore() {
        XCTAssertEqual(parse("PRO"), .needMoreData)
        XCTAssertEqual(parse("PROXY TCP4 127.0.0.7 127.0.0.1 40000 10143\r"), .needMoreData)
    }

    func testV1Malformed() {
        XCTAssertEqual(parse("a1 LOGIN u p\r\n"), .invalid)
        XCTAssertEqual(parse("PROXY TCP4 127.0.0.7 127.0.0.1 40000 70000\r\n"), .invalid)
        XCTAssertEqual(parse("PROXY TCP4 ::1 127.0.0.1 1 2\r\n"), .invalid)
        XCTAssertEqual(parse("PROXY TCP4 127.0.0.7 127.0.0.1 040 2\r\n"), .invalid)
        XCTAssertEqual(parse("PROXY TCP4 127.0.0.7 127.0.0.1 1 2\n"), .invalid)
        XCTAssertEqual(parse("PROXY TCP4 127.0.0.7\u{1}127.0.0.1 1 2\r\n"), .invalid)
    }

    /// A v1 header that never ends is refused at its maximum, not buffered further.
    func testV1OverlongIsInvalid() {
        XCTAssertEqual(parse("PROXY " + String(repeating: "1", count: 200)), .invalid)
    }

    func testV2TCP4() throws {
        var bytes = ProxyProtocolHeader.v2Signature + [0x21, 0x11, 0x00, 12]
        bytes += [127, 0, 0, 9, 127, 0, 0, 1, 0x9C, 0x40, 0x27, 0x9F]
        let expected = try SocketAddress(ipAddress: "127.0.0.9", port: 40000)
        XCTAssertEqual(parse(bytes + Array("a1 NOOP\r\n".utf8)), .header(.init(source: expected), length: 28))
        XCTAssertEqual(parse(Array(bytes.prefix(20))), .needMoreData)
    }

    func testV2TCP6WithTLVs() throws {
        var bytes = ProxyProtocolHeader.v2Signature + [0x21, 0x21, 0x00, 36 + 4]
        bytes += [UInt8](repeating: 0, count: 15) + [1] + [UInt8](repeating: 0, count: 16) + [0, 7, 0, 143]
        bytes += [0x04, 0x00, 0x01, 0x00]  // a NOOP TLV the reader skips
        XCTAssertEqual(parse(bytes), .header(.init(source: try SocketAddress(ipAddress: "::1", port: 7)), length: 56))
    }

    func testV2LocalKeepsPeerAddress() {
        XCTAssertEqual(
            parse(ProxyProtocolHeader.v2Signature + [0x20, 0x00, 0x00, 0x00]), .header(.init(source: nil), length: 16))
    }

    func testV2Malformed() {
        // Wrong version, unknown command, unknown family, too short for its family, too long.
        XCTAssertEqual(parse(ProxyProtocolHeader.v2Signature + [0x11, 0x11, 0x00, 0x0C]), .invalid)
        XCTAssertEqual(parse(ProxyProtocolHeader.v2Signature + [0x25, 0x11, 0x00, 0x0C]), .invalid)
        XCTAssertEqual(parse(ProxyProtocolHeader.v2Signature + [0x21, 0x31, 0x00, 0x00]), .invalid)
        XCTAssertEqual(parse(ProxyProtocolHeader.v2Signature + [0x21, 0x11, 0x00, 0x04, 1, 2, 3, 4]), .invalid)
        XCTAssertEqual(parse(ProxyProtocolHeader.v2Signature + [0x21, 0x11, 0xFF, 0xFF]), .invalid)
        XCTAssertEqual(parse(Array(ProxyProtocolHeader.v2Signature.prefix(5)) + [0x99]), .invalid)
    }
}
