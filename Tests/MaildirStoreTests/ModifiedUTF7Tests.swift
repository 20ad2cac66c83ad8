import XCTest

@testable import MaildirStore

final class ModifiedUTF7Tests: XCTestCase {
    func testRFC3501Example() {
        let decoded = "~peter/mail/\u{53F0}\u{5317}/\u{65E5}\u{672C}\u{8A9E}"
        XCTAssertEqual(ModifiedUTF7.encode(decoded), "~peter/mail/&U,BTFw-/&ZeVnLIqe-")
        XCTAssertEqual(ModifiedUTF7.decode("~peter/mail/&U,BTFw-/&ZeVnLIqe-"), decoded)
    }

    func testVectors() {
        let vectors: [(String, String)] = [
            ("INBOX", "INBOX"),
            ("A&B", "A&-B"),
            ("&", "&-"),
            ("Entw\u{00FC}rfe", "Entw&APw-rfe"),
            ("Gel\u{00F6}schte Elemente", "Gel&APY-schte Elemente"),
            ("\u{1F600}", "&2D3eAA-"),
            ("tab\there", "tab&AAk-here"),
            ("", ""),
        ]
        for (plain, encoded) in vectors {
            XCTAssertEqual(ModifiedUTF7.encode(plain), encoded, plain)
            XCTAssertEqual(ModifiedUTF7.decode(encoded), plain, encoded)
        }
    }

    func testMalformedIsRejected() {
        for bad in ["&", "&U,BTFw", "&Jjo!-", "caf\u{00E9}", "&AGE-", "&2D0-", "&AAk", "&A-", "&AP-"] {
            XCTAssertNil(ModifiedUTF7.decode(bad), bad)
        }
    }
}
