import Foundation
import XCTest

@testable import Auth

final class Base64Tests: XCTestCase {
    /// RFC 4648 §10 test vectors.
    private let vectors: [(String, String)] = [
        ("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foob", "Zm9vYg=="), ("fooba", "Zm9vYmE="),
        ("foobar", "Zm9vYmFy"),
    ]

    func testRFC4648Vectors() {
        for (plain, encoded) in vectors {
            XCTAssertEqual(Base64.encode(plain.bytes), encoded.bytes, plain)
            XCTAssertEqual(Base64.decode(encoded.bytes), plain.bytes, encoded)
        }
    }

    func testMissingPaddingIsTolerated() {
        XCTAssertEqual(Base64.decode("Zg".bytes), "f".bytes)
        XCTAssertEqual(Base64.decode("Zm8".bytes), "fo".bytes)
        XCTAssertEqual(Base64.decode("Zm9vYmE".bytes), "fooba".bytes)
    }

    func testInvalidInputsAreRejected() {
        let invalid = [
            "Z", "Zm9vY", "Zg=", "Zg===", "Zm8==", "Zm9v=", "=", "==", "====", "Zg==Zg==", "Zm=9", "Zm9v\r\n",
            " Zm9v", "Zm 9v", "Zm9v\0", "Zm9v-_", "Zm9v.", "Zm9vä",
        ]
        for text in invalid {
            XCTAssertNil(Base64.decode(text.bytes), text.debugDescription)
        }
    }

    func testAllByteValuesRoundTripAndMatchFoundation() {
        let all = (0...255).map { UInt8($0) }
        for length in [0, 1, 2, 3, 4, 254, 255, 256] {
            let bytes = Array(all.prefix(length))
            let encoded = Base64.encode(bytes)
            XCTAssertEqual(encoded, Array(Data(bytes).base64EncodedString().utf8))
            XCTAssertEqual(Base64.decode(encoded), bytes)
        }
    }
}
