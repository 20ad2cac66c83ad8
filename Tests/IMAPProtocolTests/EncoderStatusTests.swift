import XCTest

@testable import IMAPProtocol

/// Tagged and untagged status responses, every response code, continuations
/// (RFC 9051 §7.1, §7.6; RFC 4315, RFC 5530, RFC 7162).
final class EncoderStatusTests: XCTestCase {
    private func tagged(_ status: ResponseStatus = .ok, _ code: ResponseCode?, _ text: String = "done") -> String {
        EncoderFixture.text(.tagged(tag: "a1", status: status, code: code, text: text))
    }

    func testTaggedStatuses() {
        XCTAssertEqual(
            EncoderFixture.text(.tagged(tag: "a001", status: .ok, code: nil, text: "LOGIN completed")),
            "a001 OK LOGIN completed\r\n")
        XCTAssertEqual(tagged(.no, nil, "nope"), "a1 NO nope\r\n")
        XCTAssertEqual(tagged(.bad, nil, "Unknown command"), "a1 BAD Unknown command\r\n")
        XCTAssertEqual(tagged(.ok, nil, ""), "a1 OK \r\n")
        XCTAssertEqual(
            EncoderFixture.text(.tagged(tag: "", status: .bad, code: nil, text: "Missing tag")), "* BAD Missing tag\r\n"
        )
    }

    func testUntaggedStatuses() {
        XCTAssertEqual(
            EncoderFixture.text(.untagged(.status(.ok, code: nil, text: "IMAP4rev2 server ready"))),
            "* OK IMAP4rev2 server ready\r\n")
        XCTAssertEqual(
            EncoderFixture.text(.untagged(.status(.bye, code: nil, text: "Logging out"))), "* BYE Logging out\r\n")
        XCTAssertEqual(
            EncoderFixture.text(.untagged(.status(.preauth, code: nil, text: "welcome"))), "* PREAUTH welcome\r\n")
        XCTAssertEqual(
            EncoderFixture.text(
                .untagged(.status(.ok, code: .uidValidity(UIDValidity(3_857_529_045)), text: "UIDs valid"))),
            "* OK [UIDVALIDITY 3857529045] UIDs valid\r\n")
        XCTAssertEqual(
            EncoderFixture.text(.untagged(.status(.no, code: .alert, text: "disk full"))),
            "* NO [ALERT] disk full\r\n")
    }

    func testTextCannotBreakTheLine() {
        XCTAssertEqual(tagged(.no, nil, "bad\r\nA2 OK injected\u{0}"), "a1 NO bad  A2 OK injected \r\n")
        XCTAssertEqual(
            EncoderFixture.text(.tagged(tag: "x\r\ny", status: .ok, code: nil, text: "t")), "x  y OK t\r\n")
        XCTAssertEqual(EncoderFixture.text(.continuation("a\nb")), "+ a b\r\n")
    }

    func testAtomCodes() {
        let cases: [(ResponseCode, String)] = [
            (.alert, "ALERT"), (.alreadyExists, "ALREADYEXISTS"), (.authenticationFailed, "AUTHENTICATIONFAILED"),
            (.authorizationFailed, "AUTHORIZATIONFAILED"), (.cannot, "CANNOT"), (.clientBug, "CLIENTBUG"),
            (.closed, "CLOSED"), (.contactAdmin, "CONTACTADMIN"), (.corruption, "CORRUPTION"),
            (.expired, "EXPIRED"), (.expungeIssued, "EXPUNGEISSUED"), (.hasChildren, "HASCHILDREN"),
            (.inUse, "INUSE"), (.limit, "LIMIT"), (.nonexistent, "NONEXISTENT"), (.noPerm, "NOPERM"),
            (.overQuota, "OVERQUOTA"), (.parse, "PARSE"), (.privacyRequired, "PRIVACYREQUIRED"),
            (.readOnly, "READ-ONLY"), (.readWrite, "READ-WRITE"), (.serverBug, "SERVERBUG"),
            (.tryCreate, "TRYCREATE"), (.uidNotSticky, "UIDNOTSTICKY"), (.unavailable, "UNAVAILABLE"),
            (.unknownCTE, "UNKNOWN-CTE"), (.noModSeq, "NOMODSEQ"),
        ]
        for (code, name) in cases {
            XCTAssertEqual(tagged(.no, code, "x"), "a1 NO [\(name)] x\r\n")
        }
    }

    func testUIDPlusCodes() {
        // RFC 4315 §3 examples.
        XCTAssertEqual(
            EncoderFixture.text(
                .tagged(
                    tag: "A003", status: .ok, code: .appendUID(UIDValidity(38505), [3955...3955]),
                    text: "APPEND completed")),
            "A003 OK [APPENDUID 38505 3955] APPEND completed\r\n")
        XCTAssertEqual(
            EncoderFixture.text(
                .tagged(
                    tag: "A004", status: .ok,
                    code: .copyUID(UIDValidity(38505), source: [304...304, 319...320], destination: [3956...3958]),
                    text: "Done")),
            "A004 OK [COPYUID 38505 304,319:320 3956:3958] Done\r\n")
        XCTAssertEqual(
            tagged(.ok, .appendUID(UIDValidity(1), [5...7])), "a1 OK [APPENDUID 1 5:7] done\r\n", "MULTIAPPEND")
    }

    func testCodesWithoutAValidFormAreDropped() {
        XCTAssertEqual(tagged(.ok, .appendUID(UIDValidity(1), [])), "a1 OK done\r\n")
        XCTAssertEqual(tagged(.ok, .copyUID(UIDValidity(1), source: [1...1], destination: [])), "a1 OK done\r\n")
        XCTAssertEqual(tagged(.ok, .modified([])), "a1 OK done\r\n")
        XCTAssertEqual(tagged(.no, .other("NOT AN ATOM", "x")), "a1 NO done\r\n")
        XCTAssertEqual(tagged(.no, .other("", nil)), "a1 NO done\r\n")
    }

    func testSelectCodes() {
        XCTAssertEqual(
            EncoderFixture.text(
                .untagged(
                    .status(
                        .ok, code: .permanentFlags([.flag(.deleted), .flag(.seen), .wildcard]), text: "Limited"))),
            "* OK [PERMANENTFLAGS (\\Deleted \\Seen \\*)] Limited\r\n")
        XCTAssertEqual(
            tagged(.ok, .permanentFlags([.flag(.keyword("$Junk")), .flag(.keyword("bad keyword")), .wildcard])),
            "a1 OK [PERMANENTFLAGS ($Junk \\*)] done\r\n")
        XCTAssertEqual(tagged(.ok, .permanentFlags([])), "a1 OK [PERMANENTFLAGS ()] done\r\n")
        XCTAssertEqual(tagged(.ok, .uidNext(UID(4392))), "a1 OK [UIDNEXT 4392] done\r\n")
        XCTAssertEqual(tagged(.ok, .unseen(SequenceNumber(12))), "a1 OK [UNSEEN 12] done\r\n")
        XCTAssertEqual(
            tagged(.ok, .highestModSeq(715_194_045_007)), "a1 OK [HIGHESTMODSEQ 715194045007] done\r\n")
        XCTAssertEqual(tagged(.ok, .modified([7...7, 9...9])), "a1 OK [MODIFIED 7,9] done\r\n")
    }

    func testBadCharset() {
        XCTAssertEqual(tagged(.no, .badCharset([])), "a1 NO [BADCHARSET] done\r\n")
        XCTAssertEqual(
            tagged(.no, .badCharset(["UTF-8", "US-ASCII"])), "a1 NO [BADCHARSET (UTF-8 US-ASCII)] done\r\n")
        XCTAssertEqual(tagged(.no, .badCharset(["x y", "a\r\nb"])), "a1 NO [BADCHARSET (\"x y\")] done\r\n")
        XCTAssertEqual(tagged(.no, .badCharset(["a\r\nb"])), "a1 NO [BADCHARSET] done\r\n")
    }

    func testCapabilityCode() {
        XCTAssertEqual(
            EncoderFixture.text(
                .untagged(
                    .status(
                        .ok, code: .capability(["IMAP4rev2", "IMAP4rev1", "AUTH=PLAIN", "bad cap", "SASL-IR"]),
                        text: "ready"))),
            "* OK [CAPABILITY IMAP4rev2 IMAP4rev1 AUTH=PLAIN SASL-IR] ready\r\n")
    }

    func testOtherCode() {
        XCTAssertEqual(tagged(.no, .other("TOOBIG", nil)), "a1 NO [TOOBIG] done\r\n")
        XCTAssertEqual(tagged(.no, .other("TOOBIG", "")), "a1 NO [TOOBIG] done\r\n")
        XCTAssertEqual(tagged(.no, .other("X-FOO", "bar]baz\r\n")), "a1 NO [X-FOO barbaz  ] done\r\n")
    }

    func testContinuation() {
        XCTAssertEqual(EncoderFixture.text(.continuation("")), "+ \r\n")
        XCTAssertEqual(EncoderFixture.text(.continuation("OK")), "+ OK\r\n")
        XCTAssertEqual(EncoderFixture.text(.continuation("dGVzdA==")), "+ dGVzdA==\r\n")
    }
}
