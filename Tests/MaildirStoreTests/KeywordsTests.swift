import XCTest

@testable import MaildirStore

final class KeywordsTests: XCTestCase {
    func testGoldenRoundTrip() throws {
        let bytes = try fixture("dovecot-keywords")
        let table = KeywordTable(parsing: bytes)
        XCTAssertEqual(table.list, ["$Forwarded", "Junk", "$label1", "NonJunk"])
        XCTAssertEqual(table.index(of: "nonjunk"), 4)
        XCTAssertEqual(table.index(of: "$FORWARDED"), 0)
        XCTAssertNil(table.index(of: "Other"))
        XCTAssertEqual(table.serialized, bytes)
    }

    func testMalformedLinesAreSkipped() {
        let table = KeywordTable(parsing: Array("x Bad\n26 TooHigh\n-1 Neg\n3\n1 Good\n1 Again\n2 good\n5 Fine\n".utf8))
        XCTAssertEqual(table.list, ["Good", "Fine"])
        XCTAssertEqual(table.index(of: "fine"), 5)
    }

    func testNewNamesTakeTheLowestFreeIndex() {
        var table = KeywordTable(parsing: Array("0 A\n2 C\n".utf8))
        XCTAssertEqual(table.add("B"), 1)
        XCTAssertEqual(table.add("b"), 1, "existing names are found case-insensitively")
        XCTAssertEqual(table.add("D", avoiding: [3]), 4)
        XCTAssertEqual(String(decoding: table.serialized, as: UTF8.self), "0 A\n1 B\n2 C\n4 D\n")
    }

    func testOnly26Letters() {
        var table = KeywordTable()
        for i in 0..<26 { XCTAssertEqual(table.add("k\(i)"), i) }
        XCTAssertFalse(table.canCreate)
        XCTAssertNil(table.add("one-more"))
    }

    func testFlagsForLetters() {
        let table = KeywordTable(parsing: Array("0 $Forwarded\n2 Work\n".utf8))
        let flags = table.flags(for: FlagLetters(decoding: Array("Sabc".utf8)))
        XCTAssertEqual(flags, MessageFlags(system: .seen, keywords: ["$Forwarded", "Work"]))
        XCTAssertEqual(table.unnamed(FlagLetters(decoding: Array("abc".utf8))), [1])
    }
}
