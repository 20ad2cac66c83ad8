import IMAPProtocol
import XCTest

@testable import MailMessage

/// Broken and random input: every accessor must answer without crashing and keep the
/// tree's invariants.
final class RobustnessTests: XCTestCase {
    /// Deterministic generator (SplitMix64), so a failure reproduces.
    struct Random {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        mutating func below(_ n: Int) -> Int { Int(next() % UInt64(max(1, n))) }
    }

    static let tokens: [String] = [
        "\n", "\r\n", "\r", " ", "\t", ":", ";", "\"", "\\", "(", ")", "<", ">", "@", ",", "=?utf-8?q?", "?=", "=?",
        "--",
        "--b", "--b--", "--c", "Content-Type: multipart/mixed; boundary=b\n", "Content-Type: message/rfc822\n",
        "Content-Type: multipart/digest; boundary=c\n",
        "Content-Type: text/plain; charset*0*=utf-8''%E2; charset*1*=%82\n",
        "Content-Transfer-Encoding: base64\n", "Content-Transfer-Encoding: quoted-printable\n", "=3D", "=\n", "=ZZ",
        "From: ", "To: a:b@c;", "Subject: ", "Date: 31 Feb 99 25:61 +9999\n", "\0", "\u{FF}", "é",
        "MIME-Version: 1.0\n",
    ]

    func randomMessage(_ rng: inout Random) -> [UInt8] {
        var out: [UInt8] = []
        for _ in 0..<rng.below(120) {
            out.append(contentsOf: Array(Self.tokens[rng.below(Self.tokens.count)].utf8))
            if rng.below(4) == 0 { out.append(UInt8(truncatingIfNeeded: rng.next())) }
        }
        return out
    }

    func exercise(_ bytes: [UInt8], limits: MessageLimits = MessageLimits()) {
        withMessage(bytes, limits: limits) { tree, raw in
            XCTAssertEqual(tree.rawSize, raw.count)
            XCTAssertEqual(tree.crlfSize, crlfLength(raw))
            let header = sectionBytes(tree, section([], .header), raw) ?? []
            let text = sectionBytes(tree, section([], .text), raw) ?? []
            XCTAssertEqual(header.count + text.count, tree.crlfSize)
            _ = tree.envelope(raw)
            _ = tree.bodyStructure(raw, extensible: true)
            _ = tree.bodyStructure(raw, extensible: false)
            _ = tree.decodedHeaders(raw)
            _ = tree.decodedBodyTexts(raw)
            _ = tree.attachmentNames(raw)
            _ = tree.sentDate(raw)
            for path in [[1], [1, 1], [2], [1, 2], [2, 1], [1, 1, 1], [3]] {
                for text: SectionText? in [
                    nil, .mime, .header, .text, .headerFields(["From"]), .headerFieldsNot(["To"]),
                ] {
                    if let content = tree.section(section(path, text), raw), case .raw(let range, _) = content {
                        XCTAssertTrue(range.lowerBound >= 0 && range.upperBound <= raw.count)
                    }
                }
            }
        }
    }

    func testRandomTokenSoup() {
        var rng = Random(state: 0x5EED)
        var limits = MessageLimits()
        limits.maxDepth = 8
        limits.maxParts = 40
        for _ in 0..<1_500 {
            let message = randomMessage(&rng)
            exercise(message)
            exercise(message, limits: limits)
        }
    }

    func testMutatedFixtures() throws {
        var rng = Random(state: 42)
        for name in [
            "07-alternative.eml", "09-nested-multipart.eml", "10-attached-message.eml", "24-rfc2231-params.eml",
        ] {
            let original = try fixture(name)
            for _ in 0..<150 {
                var bytes = original
                for _ in 0..<(1 + rng.below(6)) {
                    guard !bytes.isEmpty else { break }
                    let at = rng.below(bytes.count)
                    switch rng.below(3) {
                    case 0: bytes[at] = UInt8(truncatingIfNeeded: rng.next())
                    case 1: bytes.remove(at: at)
                    default: bytes = Array(bytes[..<at])
                    }
                }
                exercise(bytes)
            }
        }
    }

    func testEmptyAndTinyInputs() {
        for text in [
            "", "\n", "\r\n", "\r", ":", "a", "--", "\n--b--\n",
            "Content-Type: multipart/mixed; boundary=\"\"\n\n--\n--",
        ] {
            exercise(Array(text.utf8))
        }
        withMessage("") { tree, raw in
            XCTAssertEqual(tree.rawSize, 0)
            XCTAssertEqual(tree.bodyStructure(raw, extensible: false), textPart("plain", octets: 0, lines: 0))
            XCTAssertEqual(sectionString(tree, section([1]), raw), "")
        }
    }
}
