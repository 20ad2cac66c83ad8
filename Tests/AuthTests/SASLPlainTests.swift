import XCTest

@testable import Auth

final class SASLPlainTests: XCTestCase {
    private func decode(_ message: [UInt8]) -> SASLPlainCredentials? {
        decodeSASLPlain(base64: Base64.encode(message))
    }

    func testRFC4616Examples() throws {
        // RFC 4616 §4: "\0tim\0tanstaaftanstaaf" and "Ursel\0Kurt\0xipj3plmq".
        let tim = try XCTUnwrap(decodeSASLPlain(base64: "AHRpbQB0YW5zdGFhZnRhbnN0YWFm".bytes))
        XCTAssertEqual(tim.username, "tim")
        XCTAssertEqual(tim.password, "tanstaaftanstaaf".bytes)
        // No authzid: derived from the authcid (RFC 4616 §2).
        XCTAssertEqual(tim.authorizationID, "tim")

        let kurt = try XCTUnwrap(decodeSASLPlain(base64: "VXJzZWwAS3VydAB4aXBqM3BsbXE=".bytes))
        XCTAssertEqual(kurt.authorizationID, "Ursel")
        XCTAssertEqual(kurt.username, "Kurt")
        XCTAssertEqual(kurt.password, "xipj3plmq".bytes)
    }

    func testUnpaddedBase64IsAccepted() throws {
        let credentials = try XCTUnwrap(decodeSASLPlain(base64: "VXJzZWwAS3VydAB4aXBqM3BsbXE".bytes))
        XCTAssertEqual(credentials.username, "Kurt")
    }

    func testInvalidBase64() {
        XCTAssertNil(decodeSASLPlain(base64: "AHRpbQB0YW5zdGFhZnRhbnN0YWFm!".bytes))
        XCTAssertNil(decodeSASLPlain(base64: "AHRpbQB0YW5z dGFhZnRhbnN0YWFm".bytes))
        XCTAssertNil(decodeSASLPlain(base64: "=".bytes))
        XCTAssertNil(decodeSASLPlain(base64: "*".bytes))
    }

    func testInvalidStructure() {
        XCTAssertNil(decodeSASLPlain(base64: []))
        XCTAssertNil(decode("timpassword".bytes), "no NUL")
        XCTAssertNil(decode("\0timpassword".bytes), "one NUL")
        XCTAssertNil(decode("\0tim\0pass\0word".bytes), "three NULs")
        XCTAssertNil(decode("\0\0password".bytes), "empty authcid")
        XCTAssertNil(decode("\0tim\0".bytes), "empty password")
        XCTAssertNil(decode([0, 0xFF, 0xFE, 0] + "pw".bytes), "authcid not UTF-8")
        XCTAssertNil(decode([0xC3, 0] + "tim\0pw".bytes), "authzid not UTF-8")
    }

    func testPasswordBytesAreKeptAsSent() throws {
        let credentials = try XCTUnwrap(decode("\0jörg\0".bytes + [0xFF, 0x20, 0xC3]))
        XCTAssertEqual(credentials.username, "jörg")
        XCTAssertEqual(credentials.password, [0xFF, 0x20, 0xC3])
    }

    func testEncodeRoundTrip() throws {
        let original = SASLPlainCredentials(authorizationID: "admin", username: "tim", password: "p w".bytes)
        let decoded = try XCTUnwrap(decodeSASLPlain(base64: encodeSASLPlain(original)))
        XCTAssertEqual(decoded.authorizationID, "admin")
        XCTAssertEqual(decoded.username, "tim")
        XCTAssertEqual(decoded.password, "p w".bytes)

        let plain = SASLPlainCredentials(authorizationID: "tim", username: "tim", password: "x".bytes)
        XCTAssertEqual(encodeSASLPlain(plain), Base64.encode("\0tim\0x".bytes))
    }
}
