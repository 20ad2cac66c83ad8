import IMAPProtocol
import XCTest

/// Vectors for the commands of RFC 9051 §6.1–§6.3 and the extensions of Command.swift,
/// each decoded whole and byte by byte.
final class DecoderCommandTests: XCTestCase {
    /// The comparison every test relies on must tell different values apart,
    /// passwords included.
    func testCanonicalRenderingDistinguishesValues() {
        XCTAssertNotEqual(
            canonical(Command.login(username: "u", password: Secret(bytes("a")))),
            canonical(Command.login(username: "u", password: Secret(bytes("b")))))
        var condstore = SelectParameters()
        condstore.condstore = true
        XCTAssertNotEqual(
            canonical(Command.select(.inbox, condstore)), canonical(Command.select(.inbox, SelectParameters())))
        XCTAssertNotEqual(
            canonical(Command.fetch(.uids(uid(1)), [.flags], FetchModifiers())),
            canonical(Command.fetch(.sequenceNumbers(seq(1)), [.flags], FetchModifiers())))
        XCTAssertNotEqual(
            canonical(Command.id([(key: "a", value: nil)])), canonical(Command.id([(key: "a", value: "")])))
        XCTAssertNotEqual(
            canonical(DecoderEvent.bad(tag: "a", message: "x")), canonical(DecoderEvent.bad(tag: nil, message: "x")))
    }

    /// RFC 9051 §8 sample session, client side.
    func testRFC9051SampleSession() {
        let session = """
            a001 login mrc secret\r
            a002 select inbox\r
            a003 fetch 12 full\r
            a004 fetch 12 body[header]\r
            a005 store 12 +flags \\deleted\r
            a006 logout\r

            """
        let events = decodeBothWays(bytes(session))
        let expected: [DecoderEvent] = [
            .command(TaggedCommand(tag: "a001", command: .login(username: "mrc", password: Secret(bytes("secret"))))),
            .command(TaggedCommand(tag: "a002", command: .select(MailboxName("inbox"), SelectParameters()))),
            .command(
                TaggedCommand(
                    tag: "a003",
                    command: .fetch(
                        .sequenceNumbers(seq(12)), [.flags, .internalDate, .rfc822Size, .envelope, .body],
                        FetchModifiers()))),
            .command(
                TaggedCommand(
                    tag: "a004",
                    command: .fetch(
                        .sequenceNumbers(seq(12)),
                        [.bodySection(SectionSpec(text: .header), partial: nil, peek: false)],
                        FetchModifiers()))),
            .command(
                TaggedCommand(
                    tag: "a005",
                    command: .store(
                        .sequenceNumbers(seq(12)), StoreModifiers(),
                        StoreAction(operation: .add, silent: false, flags: [.deleted])))),
            .command(TaggedCommand(tag: "a006", command: .logout)),
        ]
        XCTAssertEqual(events.map(canonical), expected.map(canonical))
    }

    func testCommandsWithoutArguments() {
        assertCommand("a CAPABILITY", .capability)
        assertCommand("a noop", .noop)
        assertCommand("a LoGoUt", .logout)
        assertCommand("a STARTTLS", .starttls)
        assertCommand("a NAMESPACE", .namespace)
        assertCommand("a IDLE", .idle)
        assertCommand("a CHECK", .check)
        assertCommand("a CLOSE", .close)
        assertCommand("a UNSELECT", .unselect)
        assertCommand("a EXPUNGE", .expunge)
        assertCommand("A023 LOGOUT", .logout, tag: "A023")
    }

    func testTags() {
        assertCommand("tag.1]x NOOP", .noop, tag: "tag.1]x")
        // `*` is a list-wildcard and `+` is excluded: neither can be in a tag.
        assertBad("* NOOP", tag: nil, message: "Invalid tag")
        assertBad("a+b NOOP", tag: nil, message: "Invalid tag")
    }

    func testID() {
        assertCommand("a ID NIL", .id(nil))
        assertCommand(
            #"a ID ("name" "sodr" "version" NIL)"#, .id([(key: "name", value: "sodr"), (key: "version", value: nil)]))
        assertCommand("a ID ()", .id([]))
        assertCommand("a ID (\"k\" {3+}\r\nabc)", .id([(key: "k", value: "abc")]))
    }

    func testEnable() {
        assertCommand("a ENABLE IMAP4rev2", .enable(["IMAP4rev2"]))
        assertCommand("a ENABLE CONDSTORE QRESYNC UTF8=ACCEPT", .enable(["CONDSTORE", "QRESYNC", "UTF8=ACCEPT"]))
    }

    func testAuthenticate() {
        assertCommand("A001 AUTHENTICATE GSSAPI", .authenticate(mechanism: "GSSAPI", initialResponse: nil), tag: "A001")
        assertCommand(
            "a AUTHENTICATE PLAIN AGJvYgBzZWNyZXQ=",
            .authenticate(mechanism: "PLAIN", initialResponse: Secret(bytes("AGJvYgBzZWNyZXQ="))))
        assertCommand("a AUTHENTICATE PLAIN =", .authenticate(mechanism: "PLAIN", initialResponse: Secret(bytes("="))))
    }

    func testLogin() {
        assertCommand(
            "a001 LOGIN SMITH SESAME", .login(username: "SMITH", password: Secret(bytes("SESAME"))), tag: "a001")
        assertCommand(
            #"a LOGIN "fred foo" "pa\"ss\\word""#, .login(username: "fred foo", password: Secret(bytes(#"pa"ss\word"#)))
        )
        assertCommand(
            "a LOGIN {4+}\r\nfred {5+}\r\np\u{0}a\r\n\r\n",
            .login(username: "fred", password: Secret([0x70, 0, 0x61, 0x0D, 0x0A])))
        assertCommand("a LOGIN \"jürgen\" x", .login(username: "jürgen", password: Secret(bytes("x"))))
        assertCommand("a LOGIN a]b x", .login(username: "a]b", password: Secret(bytes("x"))))
    }

    func testSelectAndExamine() {
        assertCommand("A142 SELECT INBOX", .select(.inbox, SelectParameters()), tag: "A142")
        assertCommand("A932 EXAMINE blurdybloop", .examine(MailboxName("blurdybloop"), SelectParameters()), tag: "A932")
        var condstore = SelectParameters()
        condstore.condstore = true
        assertCommand("a SELECT INBOX (CONDSTORE)", .select(.inbox, condstore))
        var qresync = SelectParameters()
        qresync.qresync = QResyncParameter(uidValidity: UIDValidity(67890007), modSeq: 90060115194045000)
        assertCommand("a SELECT INBOX (QRESYNC (67890007 90060115194045000))", .select(.inbox, qresync))
        var full = QResyncParameter(uidValidity: UIDValidity(67890007), modSeq: 90060115194045000)
        full.knownUIDs = uids([(41, 211), (214, 541)])
        full.knownSequenceNumbers = seqs([(1, 1), (3, 3), (5, 5)])
        full.knownSequenceUIDs = uids([(41, 41), (43, 43), (45, 45)])
        var fullParameters = SelectParameters()
        fullParameters.qresync = full
        assertCommand(
            "A03 SELECT INBOX (QRESYNC (67890007 90060115194045000 41:211,214:541 (1,3,5 41,43,45)))",
            .select(.inbox, fullParameters), tag: "A03")
        var onlyMatch = QResyncParameter(uidValidity: UIDValidity(1), modSeq: 2)
        onlyMatch.knownSequenceNumbers = seq(1)
        onlyMatch.knownSequenceUIDs = uid(7)
        var onlyMatchParameters = SelectParameters()
        onlyMatchParameters.qresync = onlyMatch
        assertCommand("a EXAMINE x (QRESYNC (1 2 (1 7)))", .examine(MailboxName("x"), onlyMatchParameters))
        var both = SelectParameters()
        both.condstore = true
        both.qresync = QResyncParameter(uidValidity: UIDValidity(5), modSeq: 6)
        assertCommand("a select INBOX (condstore qresync (5 6))", .select(.inbox, both))
    }

    func testMailboxNames() {
        assertCommand(#"a DELETE "Sent Items""#, .delete(MailboxName("Sent Items")))
        assertCommand("a DELETE \"Entw&APw-rfe\"", .delete(MailboxName("Entw&APw-rfe")))
        assertCommand("a DELETE \"Entwürfe\"", .delete(MailboxName("Entwürfe")))
        assertCommand("a DELETE {8+}\r\nEntwürf", .delete(MailboxName("Entwürf")))
        assertCommand("a SUBSCRIBE #news.comp.mail.mime", .subscribe(MailboxName("#news.comp.mail.mime")))
        assertCommand("a UNSUBSCRIBE \"\"", .unsubscribe(MailboxName("")))
        assertCommand(
            "A004 RENAME blurdybloop sarasoop", .rename(from: MailboxName("blurdybloop"), to: MailboxName("sarasoop")),
            tag: "A004")
        assertCommand("a RENAME inbox \"Old Inbox\"", .rename(from: MailboxName("inbox"), to: MailboxName("Old Inbox")))
    }

    func testCreate() {
        assertCommand("A003 CREATE owatagusiam/", .create(MailboxName("owatagusiam/"), specialUse: []), tag: "A003")
        assertCommand(
            #"t1 CREATE "Important Messages" (USE (\Important))"#,
            .create(MailboxName("Important Messages"), specialUse: ["\\Important"]), tag: "t1")
        assertCommand(
            #"a CREATE Sent (USE (\Sent \Archive))"#, .create(MailboxName("Sent"), specialUse: ["\\Sent", "\\Archive"]))
        assertCommand("a CREATE x (USE ())", .create(MailboxName("x"), specialUse: []))
    }

    func testList() {
        assertCommand(#"A682 LIST "" *"#, .list(ListCommand(reference: MailboxName(""), patterns: ["*"])), tag: "A682")
        assertCommand(#"A101 LIST "" """#, .list(ListCommand(reference: MailboxName(""), patterns: [""])), tag: "A101")
        assertCommand(
            #"A102 LIST #news.comp.mail.misc """#,
            .list(ListCommand(reference: MailboxName("#news.comp.mail.misc"), patterns: [""])), tag: "A102")
        assertCommand(
            "A202 LIST ~/Mail/ %", .list(ListCommand(reference: MailboxName("~/Mail/"), patterns: ["%"])), tag: "A202")
        assertCommand(
            "a LIST \"\" INBOX.%]x*", .list(ListCommand(reference: MailboxName(""), patterns: ["INBOX.%]x*"])))
        assertCommand(
            #"A02 LIST (SUBSCRIBED) "" "*" RETURN (CHILDREN)"#,
            .list(
                ListCommand(
                    selectionOptions: ["SUBSCRIBED"], reference: MailboxName(""), patterns: ["*"],
                    returnOptions: [.children])), tag: "A02")
        assertCommand(
            #"a list (subscribed recursivematch remote) "" ("INBOX" "Drafts" %) return (subscribed children special-use status (messages unseen uidnext))"#,
            .list(
                ListCommand(
                    selectionOptions: ["SUBSCRIBED", "RECURSIVEMATCH", "REMOTE"], reference: MailboxName(""),
                    patterns: ["INBOX", "Drafts", "%"],
                    returnOptions: [.subscribed, .children, .specialUse, .status([.messages, .unseen, .uidNext])])))
        assertCommand(
            #"A01 LIST "" % RETURN (STATUS (MESSAGES UNSEEN))"#,
            .list(
                ListCommand(
                    reference: MailboxName(""), patterns: ["%"], returnOptions: [.status([.messages, .unseen])])),
            tag: "A01")
        assertCommand(
            #"a LIST () "" % RETURN ()"#, .list(ListCommand(reference: MailboxName(""), patterns: ["%"])))
        assertCommand(
            #"a LIST "" % RETURN (MYRIGHTS X-FOO (a (b c)) CHILDREN)"#,
            .list(
                ListCommand(
                    reference: MailboxName(""), patterns: ["%"],
                    returnOptions: [.other("MYRIGHTS"), .other("X-FOO"), .children])))
    }

    func testLsubNamespaceStatus() {
        assertCommand(
            ##"A002 LSUB "#news." "comp.mail.*""##, .lsub(reference: MailboxName("#news."), pattern: "comp.mail.*"),
            tag: "A002")
        assertCommand("a LSUB \"\" %", .lsub(reference: MailboxName(""), pattern: "%"))
        assertCommand(
            "A042 STATUS blurdybloop (UIDNEXT MESSAGES)", .status(MailboxName("blurdybloop"), [.uidNext, .messages]),
            tag: "A042")
        assertCommand(
            "a status INBOX (messages uidnext uidvalidity unseen deleted size recent highestmodseq appendlimit deleted-storage)",
            .status(.inbox, StatusAttribute.allCases))
    }

    func testAppend() {
        let message = "Date: Mon, 7 Feb 1994 21:52:25 -0800 (PST)\r\nFrom: Fred\r\n\r\nHello Joe\r\n"
        let n = message.utf8.count
        let events = decodeBothWays(bytes("A003 APPEND saved-messages (\\Seen) {\(n)}\r\n\(message)\r\n"))
        XCTAssertEqual(events.count, 2)
        if case .needsContinuation? = events.first {} else { XCTFail("expected continuation first") }
        XCTAssertEqual(
            events.last.map(canonical),
            canonical(
                DecoderEvent.command(
                    TaggedCommand(
                        tag: "A003",
                        command: .append(
                            MailboxName("saved-messages"), [AppendMessage(flags: [.seen], data: bytes(message))])))))

        let date = IMAPDateTime(
            date: IMAPDate(year: 1994, month: 2, day: 7), hour: 21, minute: 52, second: 25, zoneMinutes: -480)
        assertCommand(
            "a APPEND INBOX (\\Seen $Forwarded) \" 7-Feb-1994 21:52:25 -0800\" {3+}\r\nabc",
            .append(
                .inbox, [AppendMessage(flags: [.seen, .keyword("$Forwarded")], internalDate: date, data: bytes("abc"))])
        )
        assertCommand(
            "a APPEND INBOX \"07-feb-1994 21:52:25 -0800\" {0+}\r\n",
            .append(.inbox, [AppendMessage(internalDate: date, data: [])]))
        assertCommand(
            "a APPEND INBOX () ~{4+}\r\n\u{0}\u{1}\r\n\r\n",
            .append(.inbox, [AppendMessage(data: [0, 1, 0x0D, 0x0A], isBinary: true)]))
        // MULTIAPPEND (RFC 3502)
        assertCommand(
            "a APPEND Drafts (\\Draft) {2+}\r\nab (\\Seen) \"1-Jan-2024 00:00:00 +0130\" {1+}\r\nc ~{1+}\r\nd",
            .append(
                MailboxName("Drafts"),
                [
                    AppendMessage(flags: [.draft], data: bytes("ab")),
                    AppendMessage(
                        flags: [.seen],
                        internalDate: IMAPDateTime(
                            date: IMAPDate(year: 2024, month: 1, day: 1), hour: 0, minute: 0, second: 0, zoneMinutes: 90
                        ),
                        data: bytes("c")),
                    AppendMessage(data: bytes("d"), isBinary: true),
                ]))
    }

    func testUIDExpungeAndCopyMove() {
        assertCommand("a UID EXPUNGE 3000:3002", .uidExpunge(uids([(3000, 3002)])))
        assertCommand(
            "A003 COPY 2:4 MEETING", .copy(.sequenceNumbers(seqs([(2, 4)])), MailboxName("MEETING")), tag: "A003")
        assertCommand(
            "a UID COPY 1,3:* \"Saved Mail\"", .copy(.uids(uids([(1, 1), (3, nil)])), MailboxName("Saved Mail")))
        assertCommand("a MOVE $ Trash", .move(.sequenceNumbers(.lastSearchResult), MailboxName("Trash")))
        assertCommand("a uid move 42 Archive", .move(.uids(uid(42)), MailboxName("Archive")))
    }
}
