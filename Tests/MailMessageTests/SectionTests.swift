import IMAPProtocol
import XCTest

@testable import MailMessage

/// BODY[section] resolution (RFC 9051 §6.4.5) and the bytes each section selects.
final class SectionTests: XCTestCase {
    func testNestedMultipartPaths() throws {
        try withMessage(fixture("09-nested-multipart.eml")) { tree, raw in
            XCTAssertEqual(sectionString(tree, section([1, 1]), raw), "plain version")
            XCTAssertEqual(sectionString(tree, section([1, 2, 1]), raw), "<img src=\"cid:logo\">")
            XCTAssertEqual(sectionString(tree, section([1, 2, 2]), raw), "R0lGODlhAQABAAAAACw=")
            XCTAssertEqual(
                sectionString(tree, section([1, 2, 2], .mime), raw),
                "Content-Type: image/gif\r\nContent-ID: <logo>\r\nContent-Transfer-Encoding: base64\r\n\r\n")
            XCTAssertEqual(sectionString(tree, section([2]), raw), "a,b\r\n1,2")
            // A multipart's [n] is its whole body between its own header and the delimiter.
            XCTAssertEqual(
                sectionString(tree, section([1, 2]), raw),
                "--innermost\r\nContent-Type: text/html\r\n\r\n<img src=\"cid:logo\">\r\n--innermost\r\nContent-Type: image/gif\r\nContent-ID: <logo>\r\nContent-Transfer-Encoding: base64\r\n\r\nR0lGODlhAQABAAAAACw=\r\n--innermost--\r\n"
            )
            for missing in [[3], [0], [1, 3], [2, 2], [1, 1, 2], [1, 2, 3], [2, 1, 1]] {
                XCTAssertNil(tree.section(section(missing), raw), "\(missing)")
            }
            // Dovecot: below a leaf, "1" names the leaf itself.
            XCTAssertEqual(sectionString(tree, section([2, 1]), raw), "a,b\r\n1,2")
            XCTAssertEqual(sectionString(tree, section([1, 1, 1]), raw), "plain version")
            XCTAssertNil(tree.section(section([2], .header), raw), "HEADER of a non-message part")
            XCTAssertNil(tree.section(section([2], .text), raw))
        }
    }

    func testAttachedMessagePaths() throws {
        try withMessage(fixture("10-attached-message.eml")) { tree, raw in
            XCTAssertEqual(sectionString(tree, section([1]), raw), "See below.")
            let whole = sectionString(tree, section([2]), raw) ?? ""
            XCTAssertTrue(whole.hasPrefix("From: orig@example.org\r\n"))
            XCTAssertTrue(whole.hasSuffix("--orig--\r\n"))
            XCTAssertEqual(
                sectionString(tree, section([2], .mime), raw),
                "Content-Type: message/rfc822\r\nContent-Disposition: inline\r\n\r\n")
            let header = sectionString(tree, section([2], .header), raw) ?? ""
            XCTAssertTrue(header.hasPrefix("From: orig@example.org\r\n"))
            XCTAssertTrue(header.hasSuffix("boundary=\"orig\"\r\n\r\n"))
            let text = sectionString(tree, section([2], .text), raw) ?? ""
            XCTAssertEqual(header + text, whole)
            XCTAssertEqual(
                sectionString(tree, section([2], .headerFields(["subject", "FROM"])), raw),
                "From: orig@example.org\r\nSubject: original\r\n\r\n")
            XCTAssertEqual(sectionString(tree, section([2, 1]), raw), "original text")
            XCTAssertEqual(sectionString(tree, section([2, 2]), raw), "<b>original</b>")
            XCTAssertEqual(sectionString(tree, section([2, 1], .mime), raw), "Content-Type: text/plain\r\n\r\n")
            XCTAssertNil(tree.section(section([2, 3]), raw))
        }
    }

    func testNonMultipartMessage() throws {
        try withMessage(fixture("01-plain-lf.eml")) { tree, raw in
            let body = "Hello Bob,\r\nthis is a plain message.\r\n"
            XCTAssertEqual(sectionString(tree, section([1]), raw), body)
            XCTAssertEqual(sectionString(tree, section([], .text), raw), body)
            // [1.MIME] of a non-multipart message is its header (Dovecot).
            XCTAssertEqual(
                sectionString(tree, section([1], .mime), raw), sectionString(tree, section([], .header), raw))
            XCTAssertNil(tree.section(section([2]), raw))
            XCTAssertNil(tree.section(section([1, 1]), raw))
            XCTAssertNil(tree.section(section([1], .header), raw))
            guard case .raw(let range, let length)? = tree.section(section([]), raw) else {
                return XCTFail("whole message is raw")
            }
            XCTAssertEqual(range, 0..<228)
            XCTAssertEqual(length, 237)
        }
    }

    func testTopLevelMessageRFC822Paths() throws {
        try withMessage(fixture("27-top-level-rfc822.eml")) { tree, raw in
            XCTAssertEqual(
                sectionString(tree, section([1]), raw),
                "From: inner@example.org\r\nSubject: inner\r\n\r\ninner body\r\n")
            XCTAssertEqual(sectionString(tree, section([1, 1]), raw), "inner body\r\n")
            XCTAssertEqual(
                sectionString(tree, section([1], .header), raw), "From: inner@example.org\r\nSubject: inner\r\n\r\n")
            XCTAssertEqual(sectionString(tree, section([1], .text), raw), "inner body\r\n")
            XCTAssertNil(tree.section(section([1, 2]), raw))
        }
    }

    func testHeaderFieldsKeepFoldingAndOrder() throws {
        try withMessage(fixture("04-folded-headers.eml")) { tree, raw in
            XCTAssertEqual(
                sectionString(tree, section([], .headerFields(["SUBJECT"])), raw),
                "Subject: This is a long\r\n subject line that was\r\n\tfolded\r\n\r\n")
            XCTAssertEqual(
                sectionString(tree, section([], .headerFields(["Message-ID", "From"])), raw),
                "From: \"Folded, Name\"\r\n <folded@example.org>\r\nMessage-ID:\r\n <folded@example.org>\r\n\r\n")
            XCTAssertEqual(sectionString(tree, section([], .headerFields(["X-Absent"])), raw), "\r\n")
        }
    }

    func testHeaderFieldsNotKeepsLinesWithoutColon() throws {
        try withMessage(fixture("26-no-colon-lines.eml")) { tree, raw in
            XCTAssertEqual(
                sectionString(tree, section([], .headerFieldsNot(["from", "To"])), raw),
                "this line has no colon\r\nSubject: still parsed\r\n>From junk line\r\n\r\n")
            XCTAssertEqual(
                sectionString(tree, section([], .headerFields(["Subject"])), raw), "Subject: still parsed\r\n\r\n")
        }
    }

    func testCRLFFileSectionsAreUnchanged() throws {
        try withMessage(fixture("02-plain-crlf.eml")) { tree, raw in
            guard case .raw(let range, let length)? = tree.section(section([], .header), raw) else {
                return XCTFail("header is raw")
            }
            XCTAssertEqual(range.count, length)
            XCTAssertEqual(
                sectionString(tree, section([], .headerFields(["To"])), raw), "To: bob@example.com\r\n\r\n")
        }
    }

    func testWireLength() {
        XCTAssertEqual(SectionContent.raw(range: 3..<10, crlfLength: 9).wireLength, 9)
        XCTAssertEqual(SectionContent.bytes([1, 2, 3]).wireLength, 3)
    }
}
