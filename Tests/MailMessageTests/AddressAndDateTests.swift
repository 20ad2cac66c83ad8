import IMAPProtocol
import XCTest

@testable import MailMessage

/// Address lists (RFC 5322 §3.4, §4.4) as ENVELOPE shows them, and Date parsing.
final class AddressAndDateTests: XCTestCase {
    func parse(_ s: String) -> [Address] { MessageTree.addresses(Array(s.utf8)) }

    func testAddressForms() {
        XCTAssertEqual(parse("user@example.org"), [addr(nil, "user", "example.org")])
        XCTAssertEqual(parse("  <user@example.org>  "), [addr(nil, "user", "example.org")])
        XCTAssertEqual(parse("John Q. Public <jqp@example.org>"), [addr("John Q. Public", "jqp", "example.org")])
        XCTAssertEqual(parse("\"Joe \\\\ Q\" <a@b>"), [addr("Joe \\ Q", "a", "b")])
        XCTAssertEqual(parse("a@b (Comment (nested))"), [addr("Comment (nested)", "a", "b")])
        XCTAssertEqual(parse("Name (c) <a (c) @ b . c>"), [addr("Name", "a", "b.c")])
        XCTAssertEqual(parse("\"quoted local\"@example.org"), [addr(nil, "quoted local", "example.org")])
        XCTAssertEqual(parse("a@[192.0.2.1]"), [addr(nil, "a", "[192.0.2.1]")])
        XCTAssertEqual(
            parse("x <@a.example,@b.example:u@c.example>"), [addr("x", "u", "c.example", adl: "@a.example,@b.example")])
        XCTAssertEqual(parse("a@b, c@d"), [addr(nil, "a", "b"), addr(nil, "c", "d")])
        XCTAssertEqual(parse("  Name   With\tSpaces <a@b>"), [addr("Name With Spaces", "a", "b")])
        XCTAssertEqual(parse(""), [])
        XCTAssertEqual(parse("   "), [])
        XCTAssertEqual(parse("(only a comment)"), [])
    }

    func testBrokenAddressesFollowDovecot() {
        XCTAssertEqual(parse("localonly"), [addr(nil, "localonly", "MISSING_DOMAIN")])
        XCTAssertEqual(parse("Name <localonly>"), [addr("Name", "localonly", "MISSING_DOMAIN")])
        XCTAssertEqual(parse("<>"), [addr(nil, "MISSING_MAILBOX", "SYNTAX_ERROR")])
        XCTAssertEqual(parse("x <@bad route>"), [addr("x", "MISSING_MAILBOX", "SYNTAX_ERROR", adl: "INVALID_ROUTE")])
        XCTAssertEqual(parse("a@b,"), [addr(nil, "a", "b")])
        XCTAssertEqual(parse("\"unterminated <a@b>"), [addr(nil, "MISSING_MAILBOX", "MISSING_DOMAIN")])
        XCTAssertEqual(parse("Group: a@b"), [addr(nil, "Group", nil), addr(nil, "a", "b"), addr(nil, nil, nil)])
    }

    func testEnvelopeFieldRules() {
        let text = """
            From: first@example.org
            Sender:
            Reply-To: (nobody)
            Subject:   spaced\t\tout   subject
            Subject: second subject wins
            Date: Fri, 21 Nov 1997 09:55:06 -0600
            Message-ID: <id@x>

            x

            """
        withMessage(text) { tree, raw in
            let envelope = tree.envelope(raw)
            XCTAssertEqual(envelope.subject, b("second subject wins"))
            XCTAssertEqual(envelope.sender, [addr(nil, "first", "example.org")])
            XCTAssertEqual(envelope.replyTo, [addr(nil, "first", "example.org")])
            XCTAssertEqual(envelope.messageID, b("<id@x>"))
        }
        withMessage("Subject:\n\n") { tree, raw in XCTAssertEqual(tree.envelope(raw).subject, []) }
        withMessage("Subject:   spaced\t\tout  \n\n") { tree, raw in
            XCTAssertEqual(tree.envelope(raw).subject, b("spaced out"))
        }
    }

    func date(_ s: String) -> (String, Int64)? {
        RFC5322Date.parse(Array(s.utf8)).map { ($0.date.description, $0.seconds) }
    }

    func testDates() {
        // 1994-02-07 21:52:25 -0800 = 1994-02-08 05:52:25 UTC.
        XCTAssertEqual(date("Mon, 7 Feb 1994 21:52:25 -0800")?.0, "7-Feb-1994")
        XCTAssertEqual(date("Mon, 7 Feb 1994 21:52:25 -0800")?.1, 760_686_745)
        XCTAssertEqual(date("7 Feb 1994 21:52:25 -0800")?.1, 760_686_745)
        XCTAssertEqual(date("Mon, 07 Feb 94 21:52:25 PST")?.1, 760_686_745)
        XCTAssertEqual(date("Mon,7 Feb 1994 21:52 -0800")?.1, 760_686_720)
        XCTAssertEqual(date("Mon (day), 7 (x) Feb 1994 21:52:25 -0800 (PST)")?.1, 760_686_745)
        XCTAssertEqual(date("Tuesday, 08-Feb-1994 05:52:25 GMT")?.1, 760_686_745)
        XCTAssertEqual(date("8 Feb 1994 05:52:25 Z")?.1, 760_686_745)
        XCTAssertEqual(date("8 Feb 1994 05:52:25 UT")?.1, 760_686_745)
        XCTAssertEqual(date("8 Feb 1994 05:52:25 A")?.1, 760_686_745, "military zones are -0000")
        XCTAssertEqual(date("8 Feb 1994 05:52:25")?.1, 760_686_745, "missing zone: UTC")
        XCTAssertEqual(date("8 Feb 1994 05:52:25 EDT")?.1, 760_686_745 + 4 * 3600)
        XCTAssertEqual(date("1 Jan 49 00:00:00 +0000")?.0, "1-Jan-2049")
        XCTAssertEqual(date("1 Jan 50 00:00:00 +0000")?.0, "1-Jan-1950")
        XCTAssertEqual(date("1 Jan 104 00:00:00 +0000")?.0, "1-Jan-2004")
        XCTAssertEqual(date("1 Jan 1970 00:00:00 +0000")?.1, 0)
        XCTAssertEqual(date("29 Feb 2024 23:59:60 +1400")?.0, "29-Feb-2024")
        // The date as written, in its own zone (SENTON), not the UTC date.
        XCTAssertEqual(date("Sat, 1 Jan 2000 01:00:00 +0200")?.0, "1-Jan-2000")
        XCTAssertEqual(date("Sat, 1 Jan 2000 01:00:00 +0200")?.1, 946_681_200)
        for bad in [
            "", "garbage", "31 Feb 2001 00:00:00 +0000", "29 Feb 2023 00:00:00 +0000", "1 Foo 2000 00:00:00 +0000",
            "1 Jan 2000 24:00:00 +0000", "1 Jan 2000 10:60:00 +0000", "1 Jan 2000 10:00:00 +01", "0 Jan 2000",
            "1 Jan 2000 10:00:00 +0160", "123 Jan 2000", "1 Jan 123456 10:00",
        ] {
            XCTAssertNil(date(bad), bad)
        }
    }

    func testSentDateUsesTheDateField() {
        withMessage("Subject: x\nDate: Thu, 13 Feb 1997 13:25:00 EST\n\n") { tree, raw in
            XCTAssertEqual(tree.sentDate(raw)?.date, IMAPDate(year: 1997, month: 2, day: 13))
            XCTAssertEqual(tree.sentDate(raw)?.seconds, 855_858_300)
        }
        withMessage("Date: not a date\n\n") { tree, raw in XCTAssertNil(tree.sentDate(raw)) }
    }
}
