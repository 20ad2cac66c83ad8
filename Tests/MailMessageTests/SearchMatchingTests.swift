import XCTest

@testable import MailMessage

/// The text SEARCH matches: address fields as ENVELOPE parses them (issue 18, imaptest
/// search-addresses), and the multi-pattern matcher that finds many strings in one
/// pass (issue 11 item 6).
final class SearchMatchingTests: XCTestCase {
    func addressTexts(_ header: String) -> [String] {
        withMessage("From: \(header)\n\nbody\n") { tree, raw in tree.decodedAddressValues("from", raw) }
    }

    func testAddressFieldsAreMatchedAsEnvelopeParsesThem() {
        // Comments inside the address: only the parsed form holds user@domain.
        let commented = addressTexts("<user-from (comment)@ (comment) domain.org>")
        XCTAssertEqual(commented, ["<user-from (comment)@ (comment) domain.org>", "user-from@domain.org"])
        XCTAssertEqual(addressTexts("user@example.org (Real Name)").last, "Real Name <user@example.org>")
        XCTAssertEqual(addressTexts("=?UTF-8?Q?J=C3=B6rg?= <j@example.org>").last, "Jörg <j@example.org>")
        XCTAssertEqual(addressTexts("a@b, c@d").last, "a@b, c@d")
        XCTAssertEqual(
            addressTexts("groupname: g1@domain.org, g2@domain.org;, other: g3@domain.org;").last,
            "groupname: g1@domain.org, g2@domain.org;, other: g3@domain.org;")
        XCTAssertEqual(addressTexts("empty:;").last, "empty: ;")
        XCTAssertEqual(addressTexts("x <@a.example:u@c.example>").last, "x <@a.example:u@c.example>")
        // The parser's placeholders for missing parts are not text to match.
        XCTAssertEqual(addressTexts("localonly").last, "localonly")
        XCTAssertEqual(withMessage("To: a@b\n\nbody\n") { tree, raw in tree.decodedAddressValues("from", raw) }, [])
    }

    func testEveryPatternIsFoundExactlyWhereANaiveSearchFindsIt() {
        var generator = SplitMix(seed: 0x5EA2C4)
        for _ in 0..<300 {
            // A small alphabet makes overlaps, shared prefixes and suffix chains common.
            let patterns = (0..<Int(generator.next() % 12 + 1)).map { _ in
                (0..<Int(generator.next() % 5)).map { _ in UInt8(97 + generator.next() % 3) }
            }
            let texts = (0..<Int(generator.next() % 3 + 1)).map { _ in
                (0..<Int(generator.next() % 40)).map { _ in UInt8(97 + generator.next() % 3) }
            }
            let found = MultiPatternMatcher(patterns).occurrences(in: texts)
            let expected = patterns.map { pattern in texts.contains { Self.naiveContains($0, pattern) } }
            XCTAssertEqual(found, expected, "patterns \(patterns) texts \(texts)")
        }
    }

    func testMatchesNeverSpanTwoTexts() {
        let matcher = MultiPatternMatcher([Array("ab".utf8), Array("b".utf8)])
        XCTAssertEqual(matcher.occurrences(in: [Array("xa".utf8), Array("bx".utf8)]), [false, true])
        // An empty pattern occurs in any text, even an empty one; a repeated pattern is
        // reported under both its indexes.
        let repeated = MultiPatternMatcher([[], Array("b".utf8), Array("b".utf8), Array("c".utf8)])
        XCTAssertEqual(repeated.occurrences(in: [[]]), [true, false, false, false])
        XCTAssertEqual(repeated.occurrences(in: [Array("abc".utf8)]), [true, true, true, true])
    }

    static func naiveContains(_ text: [UInt8], _ pattern: [UInt8]) -> Bool {
        if pattern.isEmpty { return true }
        guard text.count >= pattern.count else { return false }
        return (0...(text.count - pattern.count)).contains { Array(text[$0..<($0 + pattern.count)]) == pattern }
    }
}

/// A small deterministic random generator (SplitMix64), so a failure repeats.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
