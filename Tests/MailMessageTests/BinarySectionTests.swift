import XCTest

@testable import MailMessage

/// BINARY[part] (RFC 3516): transfer encodings undone.
final class BinarySectionTests: XCTestCase {
    func testDecodedParts() throws {
        try withMessage(fixture("08-mixed-attachment.eml")) { tree, raw in
            guard case .decoded(let pdf)? = tree.binaryContent([2], raw) else { return XCTFail("base64 decoded") }
            XCTAssertEqual(
                String(decoding: pdf, as: UTF8.self), String(repeating: "%PDF-1.4 fake pdf content ", count: 10))
            XCTAssertEqual(tree.binaryContent([2], raw)?.size, 260)
            guard case .raw(let range, let length)? = tree.binaryContent([1], raw) else { return XCTFail("7bit raw") }
            XCTAssertEqual(length, 21)
            XCTAssertEqual(range.count, 20)
            XCTAssertNil(tree.binaryContent([3], raw))
        }
        try withMessage(fixture("19-qp-latin1.eml")) { tree, raw in
            guard case .decoded(let text)? = tree.binaryContent([1], raw) else { return XCTFail("qp decoded") }
            XCTAssertEqual(Charset.latin1(text), "Déjà vu à Genève, façade.\r\n")
            // BINARY[] is the header followed by the decoded body.
            guard case .decoded(let whole)? = tree.binaryContent([], raw) else { return XCTFail("whole decoded") }
            XCTAssertTrue(String(decoding: whole, as: UTF8.self).hasPrefix("From: a@example.org\r\n"))
            XCTAssertEqual(Array(whole.suffix(text.count)), text)
        }
    }

    func testContainersAndUnknownEncodings() throws {
        try withMessage(fixture("10-attached-message.eml")) { tree, raw in
            guard case .raw(_, let length)? = tree.binaryContent([2], raw) else { return XCTFail("message is raw") }
            XCTAssertEqual(length, 322)
            guard case .raw? = tree.binaryContent([], raw) else { return XCTFail("multipart message is raw") }
        }
        withMessage("MIME-Version: 1.0\nContent-Transfer-Encoding: x-uuencode\n\nbegin 644 x\n") { tree, raw in
            guard case .unknownEncoding? = tree.binaryContent([1], raw) else { return XCTFail("unknown CTE") }
            XCTAssertNil(tree.binaryContent([1], raw)?.size)
        }
        withMessage("MIME-Version: 1.0\nContent-Transfer-Encoding: 8BIT\n\nbody\n") { tree, raw in
            XCTAssertEqual(tree.binaryContent([1], raw)?.size, 6)
        }
    }
}
