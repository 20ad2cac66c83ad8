import XCTest

@testable import IMAPProtocol

/// Untagged server data other than FETCH (RFC 9051 §7.2–§7.4 and extensions).
final class EncoderUntaggedTests: XCTestCase {
    private func text(_ response: UntaggedResponse, utf8: Bool = false) -> String {
        EncoderFixture.text(.untagged(response), utf8: utf8)
    }

    func testCapabilityAndEnabled() {
        XCTAssertEqual(
            text(.capability(["IMAP4rev2", "IMAP4rev1", "AUTH=PLAIN", "LITERAL+", "ID"])),
            "* CAPABILITY IMAP4rev2 IMAP4rev1 AUTH=PLAIN LITERAL+ ID\r\n")
        XCTAssertEqual(text(.capability(["IMAP4rev2", "", "a(b"])), "* CAPABILITY IMAP4rev2\r\n")
        XCTAssertEqual(text(.enabled(["CONDSTORE", "UTF8=ACCEPT"])), "* ENABLED CONDSTORE UTF8=ACCEPT\r\n")
        XCTAssertEqual(text(.enabled([])), "* ENABLED\r\n")
    }

    func testID() {
        XCTAssertEqual(
            text(
                .id([(key: "name", value: "imapd-maildir"), (key: "version", value: "0.1"), (key: "os", value: nil)])),
            "* ID (\"name\" \"imapd-maildir\" \"version\" \"0.1\" \"os\" NIL)\r\n")
        XCTAssertEqual(text(.id(nil)), "* ID NIL\r\n")
        XCTAssertEqual(text(.id([])), "* ID NIL\r\n")
        XCTAssertEqual(
            text(.id([(key: "support-url", value: "mailto:\"x\"")])),
            "* ID (\"support-url\" \"mailto:\\\"x\\\"\")\r\n")
    }

    func testFlags() {
        XCTAssertEqual(
            text(.flags(Flag.systemFlags + [.keyword("$Forwarded"), .keyword("NonJunk")])),
            "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Forwarded NonJunk)\r\n")
        XCTAssertEqual(text(.flags([])), "* FLAGS ()\r\n")
        XCTAssertEqual(
            text(.flags([.keyword("bad keyword"), .seen, .keyword("a]b"), .extension("Recent"), .extension("x y")])),
            "* FLAGS (\\Seen \\Recent)\r\n", "flags that are not atoms are left out")
    }

    func testCountsAndExpunge() {
        XCTAssertEqual(text(.exists(23)), "* 23 EXISTS\r\n")
        XCTAssertEqual(text(.exists(0)), "* 0 EXISTS\r\n")
        XCTAssertEqual(text(.exists(-1)), "* 0 EXISTS\r\n")
        XCTAssertEqual(text(.recent(0)), "* 0 RECENT\r\n")
        XCTAssertEqual(text(.expunge(SequenceNumber(44))), "* 44 EXPUNGE\r\n")
    }

    func testVanished() {
        // RFC 7162 §3.2.10 example.
        XCTAssertEqual(
            text(.vanished(earlier: true, [300...310, 405...405, 411...411])),
            "* VANISHED (EARLIER) 300:310,405,411\r\n")
        XCTAssertEqual(text(.vanished(earlier: false, [5...5])), "* VANISHED 5\r\n")
        XCTAssertEqual(EncoderFixture.bytes(.untagged(.vanished(earlier: false, []))), [], "nothing to say")
    }

    func testList() {
        XCTAssertEqual(
            text(.list(MailboxListEntry(attributes: [.hasNoChildren], delimiter: "/", name: .inbox))),
            "* LIST (\\HasNoChildren) \"/\" INBOX\r\n")
        XCTAssertEqual(
            text(
                .list(
                    MailboxListEntry(
                        attributes: [.hasNoChildren, .sent], delimiter: ".", name: MailboxName("Sent Items")))),
            "* LIST (\\HasNoChildren \\Sent) \".\" \"Sent Items\"\r\n")
        XCTAssertEqual(
            text(.list(MailboxListEntry(attributes: [.noselect], delimiter: nil, name: MailboxName("")))),
            "* LIST (\\Noselect) NIL \"\"\r\n")
        XCTAssertEqual(
            text(
                .list(
                    MailboxListEntry(
                        attributes: [MailboxAttribute(rawValue: "bad attr"), .marked], delimiter: "\\",
                        name: MailboxName("a]b")))),
            "* LIST (\\Marked) \"\\\\\" a]b\r\n")
        XCTAssertEqual(
            text(.lsub(MailboxListEntry(attributes: [], delimiter: "/", name: MailboxName("NIL")))),
            "* LSUB () \"/\" \"NIL\"\r\n")
    }

    func testListExtendedItems() {
        // RFC 5258 §5 example and RFC 9051 OLDNAME.
        XCTAssertEqual(
            text(
                .list(
                    MailboxListEntry(
                        attributes: [.subscribed], delimiter: "/", name: MailboxName("Foo"),
                        childInfoSubscribed: true))),
            "* LIST (\\Subscribed) \"/\" Foo (\"CHILDINFO\" (\"SUBSCRIBED\"))\r\n")
        XCTAssertEqual(
            text(
                .list(
                    MailboxListEntry(
                        attributes: [], delimiter: "/", name: MailboxName("NewMailbox"),
                        oldName: MailboxName("OldMailbox")))),
            "* LIST () \"/\" NewMailbox (\"OLDNAME\" (OldMailbox))\r\n")
        XCTAssertEqual(
            text(
                .list(
                    MailboxListEntry(
                        attributes: [.nonExistent], delimiter: "/", name: MailboxName("A"),
                        childInfoSubscribed: true, oldName: MailboxName("Old Name")))),
            "* LIST (\\NonExistent) \"/\" A (\"CHILDINFO\" (\"SUBSCRIBED\") \"OLDNAME\" (\"Old Name\"))\r\n")
    }

    func testSpecialUseAttributesAreFoundInAnyCase() {
        XCTAssertEqual(MailboxAttribute(specialUse: "\\sent"), .sent)
        XCTAssertEqual(MailboxAttribute(specialUse: "\\JUNK"), .junk)
        XCTAssertNil(MailboxAttribute(specialUse: "\\Spam"))
        XCTAssertNil(MailboxAttribute(specialUse: "\\Noselect"))
        XCTAssertEqual(MailboxAttribute.specialUse.count, 7)
    }

    func testMailboxNamesWithEightBit() {
        let entry = MailboxListEntry(attributes: [], delimiter: "/", name: MailboxName("Entwürfe"))
        XCTAssertEqual(text(.list(entry), utf8: true), "* LIST () \"/\" \"Entwürfe\"\r\n")
        XCTAssertEqual(text(.list(entry), utf8: false), "* LIST () \"/\" {9}\r\nEntwürfe\r\n")
    }

    func testNamespace() {
        XCTAssertEqual(
            text(.namespace(NamespaceResponse(personal: [.init(prefix: "", delimiter: "/")]))),
            "* NAMESPACE ((\"\" \"/\")) NIL NIL\r\n")
        XCTAssertEqual(
            text(
                .namespace(
                    NamespaceResponse(
                        personal: [.init(prefix: "", delimiter: ".")],
                        otherUsers: [.init(prefix: "~", delimiter: "/")],
                        shared: [.init(prefix: "#shared/", delimiter: "/"), .init(prefix: "#public", delimiter: nil)]))),
            "* NAMESPACE ((\"\" \".\")) ((\"~\" \"/\")) ((\"#shared/\" \"/\")(\"#public\" NIL))\r\n")
        XCTAssertEqual(text(.namespace(NamespaceResponse(personal: []))), "* NAMESPACE NIL NIL NIL\r\n")
    }

    func testStatus() {
        // RFC 9051 §7.3.3 example.
        XCTAssertEqual(
            text(.status(mailbox: MailboxName("blurdybloop"), [(.messages, 231), (.uidNext, 44292)])),
            "* STATUS blurdybloop (MESSAGES 231 UIDNEXT 44292)\r\n")
        XCTAssertEqual(
            text(
                .status(
                    mailbox: MailboxName("Sent Items"),
                    [
                        (.messages, 3), (.uidNext, 9), (.uidValidity, 1_700_000_000), (.unseen, 1), (.deleted, 0),
                        (.size, 12345), (.recent, 0), (.highestModSeq, 77), (.appendLimit, 10_485_760),
                    ])),
            "* STATUS \"Sent Items\" (MESSAGES 3 UIDNEXT 9 UIDVALIDITY 1700000000 UNSEEN 1 DELETED 0 SIZE 12345 RECENT 0 HIGHESTMODSEQ 77 APPENDLIMIT 10485760)\r\n"
        )
        XCTAssertEqual(text(.status(mailbox: .inbox, [])), "* STATUS INBOX ()\r\n")
    }

    func testSearch() {
        XCTAssertEqual(text(.search([2, 84, 882], modSeq: nil)), "* SEARCH 2 84 882\r\n")
        XCTAssertEqual(text(.search([], modSeq: nil)), "* SEARCH\r\n")
        // RFC 7162 §3.1.5 example.
        XCTAssertEqual(
            text(.search([2, 5, 6, 7, 11, 12, 18, 19, 20, 23], modSeq: 917_162_500)),
            "* SEARCH 2 5 6 7 11 12 18 19 20 23 (MODSEQ 917162500)\r\n")
        XCTAssertEqual(text(.search([], modSeq: 5)), "* SEARCH\r\n")
    }

    func testESearch() {
        XCTAssertEqual(
            text(.esearch(ESearchResponse(tag: "a1", uid: true, min: 1, max: 9, all: [1...3, 9...9], count: 3))),
            "* ESEARCH (TAG \"a1\") UID MIN 1 MAX 9 COUNT 3 ALL 1:3,9\r\n")
        // RFC 4731 §3.1 examples.
        XCTAssertEqual(
            text(.esearch(ESearchResponse(tag: "A285", uid: true, min: 7, max: 3800))),
            "* ESEARCH (TAG \"A285\") UID MIN 7 MAX 3800\r\n")
        XCTAssertEqual(
            text(.esearch(ESearchResponse(tag: "A284", uid: false, count: 0))), "* ESEARCH (TAG \"A284\") COUNT 0\r\n")
        XCTAssertEqual(
            text(.esearch(ESearchResponse(tag: "A283", uid: false, all: []))), "* ESEARCH (TAG \"A283\")\r\n",
            "ALL is left out when nothing matched")
        XCTAssertEqual(text(.esearch(ESearchResponse(tag: nil, uid: false))), "* ESEARCH\r\n")
        XCTAssertEqual(
            text(.esearch(ESearchResponse(tag: "t", uid: true, all: [5...5], modSeq: 1234))),
            "* ESEARCH (TAG \"t\") UID ALL 5 MODSEQ 1234\r\n")
    }
}

/// RFC 5256 `* SORT` and `* THREAD`.
final class EncoderSortThreadTests: XCTestCase {
    private func text(_ response: UntaggedResponse) -> String { EncoderFixture.text(.untagged(response)) }

    func testSort() {
        XCTAssertEqual(text(.sort([2, 84, 882])), "* SORT 2 84 882\r\n")
        XCTAssertEqual(text(.sort([])), "* SORT\r\n")
    }

    /// RFC 5256 §4's example: `(2)(3 6 (4 23)(44 7 96))`, from the flat preorder.
    func testThreadFromTheRFC() {
        let nodes = [
            ThreadNode(2), ThreadNode(3, childCount: 1), ThreadNode(6, childCount: 2), ThreadNode(4, childCount: 1),
            ThreadNode(23), ThreadNode(44, childCount: 1), ThreadNode(7, childCount: 1), ThreadNode(96),
        ]
        XCTAssertEqual(text(.thread(nodes)), "* THREAD (2)(3 6 (4 23)(44 7 96))\r\n")
        XCTAssertEqual(text(.thread([])), "* THREAD\r\n")
    }

    /// A dummy root shows only its children; one without children, nothing.
    func testDummies() {
        let nodes = [
            ThreadNode(0, childCount: 2), ThreadNode(3), ThreadNode(5, childCount: 1), ThreadNode(6),
            ThreadNode(0), ThreadNode(7),
        ]
        XCTAssertEqual(ThreadNode.format(nodes), "((3)(5 6))(7)")
    }

    /// A reply chain 200,000 deep is written without recursion.
    func testADeepChain() {
        let depth = 200_000
        let nodes = (1...depth).map { ThreadNode(UInt32($0), childCount: $0 == depth ? 0 : 1) }
        let written = ThreadNode.format(nodes)
        XCTAssertTrue(written.hasPrefix("(1 2 3 "))
        XCTAssertTrue(written.hasSuffix(" 199999 200000)"))
    }
}
