import XCTest

@testable import MaildirStore

final class FileNameTests: XCTestCase {
    func testParseTable() {
        // (name, base, letters, suffix, hasInfo)
        let table: [(String, String, String, String, Bool)] = [
            ("1700000000.M123456P4242.mx1,S=2048,W=2101", "1700000000.M123456P4242.mx1,S=2048,W=2101", "", "", false),
            ("1700000000.M1P2.mx1:2,", "1700000000.M1P2.mx1", "", "", true),
            ("1700000000.M1P2.mx1:2,FS", "1700000000.M1P2.mx1", "FS", "", true),
            ("1700000000.M1P2.mx1:2,PS", "1700000000.M1P2.mx1", "PS", "", true),
            ("a:b:2,RSab", "a:b", "RSab", "", true),
            ("x:2,S,foo=bar", "x", "S", ",foo=bar", true),
            ("x:2,DXZ", "x", "DXZ", "", true),
        ]
        for (name, base, letters, suffix, hasInfo) in table {
            let parsed = MaildirFileName(parsing: name)
            XCTAssertEqual(parsed.baseName, base, name)
            XCTAssertEqual(String(decoding: parsed.letters, as: UTF8.self), letters, name)
            XCTAssertEqual(parsed.infoSuffix, suffix, name)
            XCTAssertEqual(parsed.hasInfo, hasInfo, name)
            XCTAssertEqual(parsed.fileName, name, "formatting an unchanged name gives it back")
        }
    }

    func testForeignInfoIsKeptUntilFlagsChange() {
        let parsed = MaildirFileName(parsing: "x:1,experimental")
        XCTAssertEqual(parsed.baseName, "x")
        XCTAssertEqual(parsed.letters, [])
        XCTAssertEqual(parsed.fileName, "x:1,experimental")
        XCTAssertEqual(parsed.withLetters(Array("S".utf8)).fileName, "x:2,S")
    }

    func testFlagLettersDecodeAndEncodeInASCIIOrder() {
        let letters = FlagLetters(decoding: Array("TcSaRPFDXz".utf8))
        XCTAssertEqual(letters.system, [.deleted, .seen, .answered, .flagged, .draft])
        XCTAssertEqual(letters.keywordIndexes, [0, 2, 25])
        XCTAssertEqual(Set(letters.preserved), Set(Array("PX".utf8)))
        XCTAssertEqual(String(decoding: letters.encoded, as: UTF8.self), "DFPRSTXacz")
    }

    func testWithLettersKeepsSuffixAndPassedFlag() {
        let name = MaildirFileName(parsing: "1.2.host,S=10:2,PS,extra")
        var letters = FlagLetters(decoding: name.letters)
        letters.system.insert(.flagged)
        letters.keywordIndexes = [1]
        letters.system.remove(.seen)
        XCTAssertEqual(name.withLetters(letters.encoded).fileName, "1.2.host,S=10:2,FPb,extra")
    }

    func testSizeFields() {
        let name = MaildirFileName(parsing: "1700000000.M1P2.mx1,S=2048,W=2101:2,S")
        XCTAssertEqual(name.physicalSize, 2048)
        XCTAssertEqual(name.virtualSize, 2101)
        XCTAssertNil(MaildirFileName(parsing: "1.2.host,U=12,FMD5=abc").physicalSize)
        XCTAssertNil(MaildirFileName(parsing: "1.2.host,S=12abc").physicalSize)
        XCTAssertNil(MaildirFileName(parsing: "1.2.host,S=").physicalSize)
        XCTAssertEqual(MaildirFileName(parsing: "1.2.host,S=5,U=3").physicalSize, 5)
        XCTAssertNil(MaildirFileName(parsing: "1.2.host,S=99999999999999999999999").physicalSize)
    }

    func testDeliveryOrder() {
        let names = [
            "1700000001.M5P1.host", "1700000000.M900P1.host", "1700000000.M20P1.host", "999999999.x",
            "1700000000.M20P0.host", "noseconds",
        ]
        let sorted = names.sorted { DeliveryOrder(baseName: $0) < DeliveryOrder(baseName: $1) }
        XCTAssertEqual(
            sorted,
            [
                "noseconds", "999999999.x", "1700000000.M20P0.host", "1700000000.M20P1.host",
                "1700000000.M900P1.host", "1700000001.M5P1.host",
            ])
    }

    func testVirtualSizeCountsBareLineFeeds() {
        XCTAssertEqual(VirtualSize.compute(bytes: Array("a\nb\r\nc\n".utf8)), 9)
        XCTAssertEqual(VirtualSize.compute(bytes: []), 0)
        XCTAssertEqual(VirtualSize.compute(bytes: Array("\n\n".utf8)), 4)
    }
}
