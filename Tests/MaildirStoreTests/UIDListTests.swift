import XCTest

@testable import MaildirStore

final class UIDListTests: XCTestCase {
    func testGoldenV3RoundTripsByteForByte() throws {
        let bytes = try fixture("dovecot-uidlist.v3")
        let parse = UIDListParser.parse(bytes)
        let header = try XCTUnwrap(parse.header)
        XCTAssertEqual(header.uidValidity, 1_712_345_678)
        XCTAssertEqual(header.nextUID, 57)
        XCTAssertEqual(header.value(UIDListSyntax.guidKey), "0a1b2c3d4e5f60718293a4b5c6d7e8f9")
        XCTAssertEqual(parse.records.map(\.uid), [1, 2, 5, 7, 12, 13, 56])
        XCTAssertEqual(parse.records[1].virtualSize, 2101)
        XCTAssertEqual(parse.records[3].physicalSize, 512)
        XCTAssertEqual(parse.records[3].virtualSize, 530)
        XCTAssertEqual(parse.records[0].baseName, "1712345600.M100P1000.mx1,S=1234,W=1260")
        XCTAssertTrue(parse.damagedLines.isEmpty)
        XCTAssertEqual(parse.consumed, bytes.count)
        XCTAssertEqual(UIDListParser.serialize(header: header, records: parse.records), bytes)
    }

    func testUnknownHeaderFieldsArePreservedInOrder() throws {
        let bytes = Array("3 X9 V5 N3 Zabc G00112233445566778899aabbccddeeff\n1 :a\n".utf8)
        let parse = UIDListParser.parse(bytes)
        var header = try XCTUnwrap(parse.header)
        header.nextUID = 10
        XCTAssertEqual(
            String(decoding: UIDListParser.serialize(header: header, records: parse.records), as: UTF8.self),
            "3 X9 V5 N10 Zabc G00112233445566778899aabbccddeeff\n1 :a\n")
    }

    func testV1IsReadAndFullNamesMatchOnBaseName() throws {
        let parse = UIDListParser.parse(try fixture("courierimapuiddb.v1"))
        let header = try XCTUnwrap(parse.header)
        XCTAssertEqual(header.version, 1)
        XCTAssertEqual(header.uidValidity, 1_712_345_678)
        XCTAssertEqual(header.nextUID, 12)
        XCTAssertEqual(parse.records.map(\.uid), [1, 3, 11])
        XCTAssertEqual(parse.records[0].baseName, "1712345600.M100P1000.mx1")
        XCTAssertEqual(parse.records[2].fileName, "1712345700.M300P1002.mx1:2,RS")
        // Written back as version 3.
        XCTAssertTrue(String(decoding: header.serialized, as: UTF8.self).hasPrefix("3 V1712345678 N12"))
    }

    func testSalvageKeepsVAndNAndEveryReadableRecord() throws {
        let damaged = Array(
            """
            3 V1712345678 N57 G0a1b2c3d4e5f60718293a4b5c6d7e8f9
            1 :one
            garbage line
            2 W10 :two
            2 :duplicate-uid
            1 :backwards
            3 W5
            4 :four
            5 :partial-without-newline
            """.utf8)
        let parse = UIDListParser.parse(damaged)
        let header = try XCTUnwrap(parse.header)
        XCTAssertEqual(header.uidValidity, 1_712_345_678)
        XCTAssertEqual(header.nextUID, 57)
        XCTAssertEqual(parse.records.map(\.fileName), ["one", "two", "four"])
        XCTAssertEqual(parse.damagedLines, [3, 5, 6, 7])
        XCTAssertLessThan(parse.consumed, damaged.count, "the partial last line is left unread")
    }

    func testDamagedHeaderStillYieldsUIDValidity() throws {
        let parse = UIDListParser.parse(Array("3x V1712345678 N9 junk\n1 :a\n".utf8))
        XCTAssertTrue(parse.headerDamaged)
        XCTAssertEqual(parse.header?.uidValidity, 1_712_345_678)
        XCTAssertEqual(parse.header?.nextUID, 9)
        XCTAssertEqual(parse.records.map(\.uid), [1])
    }

    func testIncrementalParseContinuesAfterLastUID() {
        let parse = UIDListParser.parse(Array("58 :new\n57 :old\n".utf8), continuing: (version: 3, lastUID: 56))
        XCTAssertNil(parse.header)
        XCTAssertEqual(parse.records.map(\.uid), [58])
        XCTAssertEqual(parse.damagedLines, [2])
    }

    func testGUIDIs32HexDigits() {
        let guid = UIDListParser.makeGUID()
        XCTAssertEqual(guid.count, 32)
        XCTAssertTrue(guid.allSatisfy(\.isHexDigit))
        XCTAssertNotEqual(guid, UIDListParser.makeGUID())
    }
}
