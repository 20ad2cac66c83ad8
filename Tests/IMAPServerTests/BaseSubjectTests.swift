import MailMessage
import XCTest

@testable import IMAPServer

/// RFC 5256 §2.1 base subjects (BaseSubject), case-mapped as SORT compares them.
final class BaseSubjectTests: XCTestCase {
    private func check(
        _ subject: String, _ base: String, reply: Bool, file: StaticString = #filePath, line: UInt = #line
    ) {
        let result = BaseSubject.extract(subject)
        XCTAssertEqual(String(decoding: result.base, as: UTF8.self), base, subject, file: file, line: line)
        XCTAssertEqual(result.isReplyOrForward, reply, subject, file: file, line: line)
    }

    func testPlainSubjectsAreCaseMappedAndPacked() {
        check("hello", "HELLO", reply: false)
        check("  Hello \t  world\r\n again ", "HELLO WORLD AGAIN", reply: false)
        check("", "", reply: false)
        check("   ", "", reply: false)
        // Titlecase, then decomposed as Dovecot compares: É is E + U+0301.
        check("Résumé", "RE\u{301}SUME\u{301}", reply: false)
    }

    /// ASCII text is upper-cased byte for byte (its fast path), other text scalar by
    /// scalar, with the same answer for the ASCII part.
    func testCasemappingOfEveryASCIIByte() {
        let bytes = (0..<128).map { UInt8($0) }
        let all = String(decoding: bytes, as: UTF8.self)
        let expected = bytes.map { $0 >= UInt8(ascii: "a") && $0 <= UInt8(ascii: "z") ? $0 - 32 : $0 }
        XCTAssertEqual(SortText.casemapped(all), expected)
        XCTAssertEqual(SortText.casemapped(all + "é"), expected + [UInt8(ascii: "E"), 0xCC, 0x81])
    }

    /// Steps (3) and (5): `subj-refwd` leaders, repeated, any case, with or without
    /// white space and a blob before the colon.
    func testReplyAndForwardLeaders() {
        check("Re: hello", "HELLO", reply: true)
        check("RE: re: Re:hello", "HELLO", reply: true)
        check("Fwd: hello", "HELLO", reply: true)
        check("fw: hello", "HELLO", reply: true)
        check("Re : hello", "HELLO", reply: true)
        check("Re[2]: hello", "HELLO", reply: true)
        check("Re [list]: hello", "HELLO", reply: true)
        check("Re: Fwd: Re: hello", "HELLO", reply: true)
        check("Re:", "", reply: true)
        check("Re: Re:", "", reply: true)
        // Not leaders: no colon, or a word that only starts like one.
        check("Re hello", "RE HELLO", reply: false)
        check("Regarding: hello", "REGARDING: HELLO", reply: false)
        check("Fwdx: hello", "FWDX: HELLO", reply: false)
    }

    /// Step (4): a blob goes when something is left after it; blobs before a refwd go
    /// with it.
    func testBlobs() {
        check("[list] hello", "HELLO", reply: false)
        check("[list] [other] hello", "HELLO", reply: false)
        check("[list] Re: hello", "HELLO", reply: true)
        check("[a][b] Re: [c] Fwd: hello", "HELLO", reply: true)
        check("[list]", "[LIST]", reply: false)
        check("[list] ", "[LIST]", reply: false)
        check("[unclosed hello", "[UNCLOSED HELLO", reply: false)
        check("[a [b] hello", "[A [B] HELLO", reply: false)
    }

    /// Step (2): `(fwd)` and white space trailers, repeatedly.
    func testTrailers() {
        check("hello (fwd)", "HELLO", reply: true)
        check("hello (FWD) (fwd)  ", "HELLO", reply: true)
        check("hello(fwd)", "HELLO", reply: true)
        check("(fwd)", "", reply: true)
        check("hello (fwd) x", "HELLO (FWD) X", reply: false)
    }

    /// Step (6): `[fwd: …]` around the rest, then again from step (2).
    func testForwardWrapper() {
        check("[fwd: hello]", "HELLO", reply: true)
        check("[Fwd: Re: hello (fwd)]", "HELLO", reply: true)
        check("Re: [fwd: [fwd: hello]]", "HELLO", reply: true)
        check("[fwd: hello] x", "X", reply: false)
        check("[fwd:]", "", reply: true)
    }

    /// Step (1): encoded words are decoded before any of it (SortHeaders), so an
    /// encoded "Re:" is a leader too.
    func testEncodedWords() {
        let raw = Array("Subject: =?utf-8?q?Re=3A_caf=C3=A9?= =?iso-8859-1?q?_cr=E8me?= (fwd)\r\n\r\nbody\r\n".utf8)
        let subject = raw.withUnsafeBytes { MessageTree.parse($0).sortHeaders($0).subject }
        XCTAssertEqual(subject, "Re: café crème (fwd)")
        check(subject ?? "", "CAFE\u{301} CRE\u{300}ME", reply: true)
    }

    /// SortText orders these subjects as Dovecot 2.3.19 answered `SORT (SUBJECT)` for
    /// them (recorded with contrib/golden/record-sort-thread.sh): simple titlecase (ß
    /// stays, ǆ becomes ǅ and stays), one level of decomposition (Å → A + ring,
    /// fullwidth Ｆ → F, ℌ → H, ﬁ → lowercase "fi"), then bytes.
    func testUnicodeOrderAsDovecot() {
        let subjects = [
            "Straße b", "Strasse a", "Strasze", "Strat", "ﬁsh", "Fish", "ǅemal", "Dzemal", "ǆx", "İstanbul",
            "istanbul", "Ωmega", "ωmega", "Ｆull", "ℌilbert", "Ångström", "Angstrom",
        ]
        let keys = subjects.map { BaseSubject.extract($0).base }
        let order = subjects.indices.sorted { keys[$0] != keys[$1] ? SortText.less(keys[$0], keys[$1]) : $0 < $1 }
        XCTAssertEqual(order.map { $0 + 1 }, [17, 16, 8, 6, 14, 15, 11, 10, 2, 3, 4, 1, 5, 7, 9, 12, 13])
    }
}
