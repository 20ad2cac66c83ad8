import IMAPProtocol
import XCTest

@testable import MailMessage

/// MessageLimits and hostile shapes: deep nesting, many parts, huge headers. No
/// timing assertions: the point is that they parse, without crashing, into the
/// structure the limits promise.
final class LimitTests: XCTestCase {
    /// Dovecot's test-message-parser "mime part nested limit" message.
    static let nested = """
        Content-Type: multipart/mixed; boundary="1"

        --1
        Content-Type: multipart/mixed; boundary="2"

        --2
        Content-Type: text/plain

        1
        --2
        Content-Type: text/plain

        22
        --1
        Content-Type: text/plain

        333

        """

    func testNestingLimitMakesTheDeepContainerOpaque() {
        var limits = MessageLimits()
        limits.maxDepth = 2
        withMessage(Self.nested, limits: limits) { tree, raw in
            XCTAssertEqual(tree.partCount, 3)
            // Dovecot: the opaque part's body is 64 bytes in 7 lines; the last part 4 in 1.
            XCTAssertEqual(
                tree.bodyStructure(raw, extensible: false),
                multipart(
                    "mixed",
                    [
                        basicPart("application", "octet-stream", params: [], octets: 64 + 7),
                        textPart("plain", octets: 5, lines: 1),
                    ]))
            XCTAssertEqual(sectionString(tree, section([1]), raw)?.hasPrefix("--2\r\n"), true)
            // The opaque part is a leaf: "1" below it names itself (Dovecot).
            XCTAssertEqual(sectionString(tree, section([1, 1]), raw), sectionString(tree, section([1]), raw))
            XCTAssertNil(tree.section(section([1, 2]), raw))
        }
        // With the default limits the same message opens fully.
        withMessage(Self.nested) { tree, _ in XCTAssertEqual(tree.partCount, 5) }
    }

    func testPartLimitMakesTheLastPartRunToTheEnd() {
        var limits = MessageLimits()
        limits.maxParts = 4
        withMessage(Self.nested, limits: limits) { tree, raw in
            XCTAssertEqual(tree.partCount, 4)
            // Dovecot: the 4th part swallows the rest, the outer boundary included:
            // 37 bytes, 5 lines.
            XCTAssertEqual(
                tree.bodyStructure(raw, extensible: false),
                multipart(
                    "mixed",
                    [
                        multipart(
                            "mixed", [textPart("plain", octets: 1, lines: 0), textPart("plain", octets: 42, lines: 5)])
                    ]))
        }
    }

    func testPartLimitOnAMessagePart() {
        let message = """
            Content-Type: multipart/mixed; boundary="1"

            --1
            Content-Type: multipart/mixed; boundary="2"

            --2
            Content-Type: message/rfc822

            Content-Type: text/plain

            1
            --2
            Content-Type: message/rfc822

            Content-Type: text/plain

            22
            --1
            Content-Type: message/rfc822

            Content-Type: text/plain

            333

            """
        var limits = MessageLimits()
        limits.maxParts = 3
        withMessage(message, limits: limits) { tree, raw in
            XCTAssertEqual(tree.partCount, 3)
            // Dovecot: 155 bytes in 15 lines, shown as an opaque part.
            XCTAssertEqual(
                tree.bodyStructure(raw, extensible: false),
                multipart("mixed", [multipart("mixed", [basicPart("application", "octet-stream", octets: 155 + 15)])]))
        }
    }

    func testNestedMessageRFC822Limit() {
        let message = """
            Content-Type: message/rfc822

            Content-Type: message/rfc822

            Content-Type: text/plain

            1

            """
        var limits = MessageLimits()
        limits.maxDepth = 2
        withMessage(message, limits: limits) { tree, raw in
            XCTAssertEqual(tree.partCount, 2)
            guard case .singlepart(let outer) = tree.bodyStructure(raw, extensible: false),
                case .message(_, _, let inner, let lines) = outer.kind
            else { return XCTFail("message/rfc822 expected") }
            XCTAssertEqual(lines, 5)
            XCTAssertEqual(outer.fields.octets, 58 + 5)
            // Dovecot: the inner message/rfc822 is not opened (28 bytes, 3 lines of body).
            XCTAssertEqual(inner, basicPart("application", "octet-stream", octets: 28 + 3))
        }
    }

    func testTenThousandNestedMultiparts() {
        let depth = 10_000
        var text = ""
        // "b10." is no prefix of "b100." (RFC 2046 §5.1.1 forbids boundaries that are).
        for i in 0..<depth { text += "Content-Type: multipart/mixed; boundary=\"b\(i).\"\n\n--b\(i).\n" }
        text += "Content-Type: text/plain\n\ninnermost\n"
        for i in (0..<depth).reversed() { text += "--b\(i).--\n" }
        withMessage(text) { tree, raw in
            // Containers open down to depth 99; the one there is an opaque leaf.
            XCTAssertEqual(tree.partCount, 100)
            var structure = tree.bodyStructure(raw, extensible: true)
            var levels = 0
            while case .multipart(let m) = structure {
                XCTAssertEqual(m.parts.count, 1)
                structure = m.parts[0]
                levels += 1
            }
            XCTAssertEqual(levels, 99)
            guard case .singlepart(let leaf) = structure else { return XCTFail("leaf expected") }
            XCTAssertEqual(leaf.kind, .basic(type: b("application"), subtype: b("octet-stream")))
            // The opaque leaf's body ends where its parent's close delimiter starts.
            let leafBody = sectionString(tree, section(Array(repeating: 1, count: 99)), raw) ?? ""
            XCTAssertTrue(leafBody.hasPrefix("--b99.\r\nContent-Type: multipart/mixed"))
            XCTAssertTrue(leafBody.hasSuffix("--b100.--\r\n--b99.--"))
            XCTAssertEqual(tree.crlfSize, raw.count + text.utf8.filter { $0 == 0x0A }.count)
        }
    }

    func testDeepMessageRFC822Nesting() {
        var text = ""
        for _ in 0..<5_000 { text += "Content-Type: message/rfc822\n\n" }
        text += "Subject: bottom\n\nbody\n"
        withMessage(text) { tree, raw in
            XCTAssertEqual(tree.partCount, 100)
            _ = tree.bodyStructure(raw, extensible: true)
            XCTAssertNotNil(tree.section(section(Array(repeating: 1, count: 99)), raw))
            // SEARCH finds what FETCH returns: the unopened container's content is
            // searched as it is written (issue 11 item 10).
            let texts = tree.decodedBodyTexts(raw)
            XCTAssertEqual(texts.count, 1)
            XCTAssertTrue(texts.first?.hasSuffix("Subject: bottom\n\nbody\n") ?? false)
        }
    }

    func testManyPartsAreCapped() {
        var text = "Content-Type: multipart/mixed; boundary=x\n\n"
        for i in 0..<12_000 { text += "--x\nContent-Type: text/plain\n\npart \(i)\n" }
        text += "--x--\n"
        withMessage(text) { tree, raw in
            XCTAssertEqual(tree.partCount, 10_000)
            guard case .multipart(let m) = tree.bodyStructure(raw, extensible: false) else { return XCTFail() }
            XCTAssertEqual(m.parts.count, 9_999)
            XCTAssertEqual(sectionString(tree, section([1]), raw), "part 0")
            // The last part takes everything after its header.
            let last = sectionString(tree, section([9_999]), raw) ?? ""
            XCTAssertTrue(last.hasPrefix("part 9998\r\n--x\r\n"))
            XCTAssertTrue(last.hasSuffix("part 11999\r\n--x--\r\n"))
        }
    }

    func testTenMegabyteHeader() {
        var bytes: [UInt8] = Array("Subject: first subject\nContent-Type: text/plain; charset=utf-8\n".utf8)
        bytes.reserveCapacity(10_700_000)
        let filler = String(repeating: "v", count: 90)
        for i in 0..<100_000 { bytes.append(contentsOf: Array("X-Filler-\(i): \(filler)\n".utf8)) }
        bytes.append(contentsOf: Array("Subject: beyond the cap\n\nbody\n".utf8))
        XCTAssertGreaterThan(bytes.count, 10_000_000)
        withMessage(bytes) { tree, raw in
            XCTAssertEqual(tree.partCount, 1)
            XCTAssertEqual(tree.bodyRange, (bytes.count - 5)..<bytes.count)
            XCTAssertEqual(tree.crlfSize, bytes.count + 100_005)
            // Fields past maxHeaderFields are ignored: the later Subject is not seen.
            XCTAssertEqual(tree.envelope(raw).subject, b("first subject"))
            // Interpretation stops at the 1 MiB byte cap (before the 10,000 field cap).
            let interpreted = tree.decodedHeaders(raw).count
            XCTAssertTrue((9_000...10_000).contains(interpreted), "\(interpreted)")
            XCTAssertEqual(tree.decodedBodyTexts(raw), ["body\n"])
            guard case .raw(let range, let length)? = tree.section(section([], .header), raw) else {
                return XCTFail("header is raw")
            }
            XCTAssertEqual(range, 0..<(bytes.count - 5))
            XCTAssertEqual(length, bytes.count - 5 + 100_004)
        }
    }

    func testHeaderByteCap() {
        var limits = MessageLimits()
        limits.maxHeaderBytes = 30
        let text =
            "Subject: kept\nX-Long: " + String(repeating: "y", count: 40) + "\nFrom: dropped@example.org\n\nbody\n"
        withMessage(text, limits: limits) { tree, raw in
            XCTAssertEqual(tree.envelope(raw).subject, b("kept"))
            XCTAssertEqual(tree.envelope(raw).from, [])
            XCTAssertEqual(sectionString(tree, section([], .text), raw), "body\r\n")
        }
    }
}
