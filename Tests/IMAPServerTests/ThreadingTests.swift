import IMAPProtocol
import XCTest

@testable import IMAPServer

/// RFC 5256 §2.2 THREAD algorithms (Threading), without a server. Dates are minutes.
final class ThreadingTests: XCTestCase {
    private typealias M = Threading.Message

    private func threads(_ messages: [M], _ algorithm: ThreadAlgorithm = .references) -> String {
        ThreadNode.format(Threading.thread(messages, algorithm: algorithm))
    }

    private func m(
        _ n: UInt32, _ minute: Int64, _ subject: String? = nil, id: String? = nil, inReplyTo: String? = nil,
        refs: String? = nil
    ) -> M {
        M(number: n, sentDate: minute * 60, subject: subject, messageID: id, inReplyTo: inReplyTo, references: refs)
    }

    func testMessageIDs() {
        XCTAssertEqual(
            Threading.messageIDs(Array("<a@b> junk <c\n @d>(comment)<e> <f@g".utf8)).map {
                String(decoding: $0, as: UTF8.self)
            },
            ["a@b", "c@d"])
        XCTAssertEqual(Threading.messageIDs(Array("<<x@y>".utf8)).count, 1)
        // The first only (Message-ID, In-Reply-To), and folding inside an identifier.
        XCTAssertEqual(
            Threading.messageIDs(Array("junk <nope> <a\t@ b\r\n c> <d@e>".utf8), limit: 1).map {
                String(decoding: $0, as: UTF8.self)
            },
            ["a@bc"])
    }

    /// A conversation in the shape of RFC 5256 §4's example answer
    /// `(2)(3 6 (4 23)(44 7 96))`, in mailbox order 2 3 4 6 7 23 44 96.
    func testAConversation() {
        let messages = [
            m(2, 1, "lonely", id: "<2@x>"),
            m(3, 2, "topic", id: "<3@x>"),
            m(4, 5, "Re: topic", id: "<4@x>", refs: "<3@x> <6@x>"),
            m(6, 3, "Re: topic", id: "<6@x>", inReplyTo: "<3@x>"),
            m(7, 7, "Re: topic", id: "<7@x>", refs: "<3@x> <6@x> <44@x>"),
            m(23, 6, "Re: topic", id: "<23@x>", refs: "<3@x> <6@x> <4@x>"),
            m(44, 6, "Re: topic", id: "<44@x>", refs: "<3@x> <6@x>"),
            m(96, 8, "Re: topic", id: "<96@x>", refs: "<6@x> <44@x> <7@x>"),
        ]
        XCTAssertEqual(threads(messages), "(2)(3 6 (4 23)(44 7 96))")
        XCTAssertEqual(threads(messages, .refs), "(2)(3 6 (4 23)(44 7 96))")
    }

    /// Step 3: replies to a message that is not there share a dummy parent; a single
    /// reply to a missing message is a root of its own.
    func testMissingParents() {
        let messages = [
            m(1, 1, "a", id: "<1@x>", refs: "<gone@x>"),
            m(2, 2, "b", id: "<2@x>", refs: "<gone@x>"),
            m(3, 3, "c", id: "<3@x>", refs: "<older@x> <missing@x>"),
            m(4, 4, "d", id: "<4@x>", refs: "<missing2@x> <3@x>"),
        ]
        XCTAssertEqual(threads(messages), "((1)(2))(3 4)")
    }

    /// Loops in References (a message naming itself, two messages naming each other)
    /// are not linked, and end: <a> names itself last, so is left a root, then <b>
    /// (naming <a>) becomes its child; <d>'s <e> <d> <e> gives <d> under a dummy <e>.
    func testLoopsInReferences() {
        let messages = [
            m(1, 1, "a", id: "<a@x>", refs: "<b@x> <a@x>"),
            m(2, 2, "b", id: "<b@x>", refs: "<a@x>"),
            m(3, 3, "c", id: "<c@x>", refs: "<c@x>"),
            m(4, 4, "d", id: "<d@x>", refs: "<e@x> <d@x> <e@x>"),
        ]
        XCTAssertEqual(threads(messages), "(1 2)(3)(4)")
    }

    /// imaptest's `thread` group: <c> is under <a> by <b>'s References until <c>
    /// itself arrives naming <b>: that link would loop, and the old one is dropped.
    func testTheLastReferenceWins() {
        let messages = [
            m(1, 17, id: "<a@b>"), m(2, 15, id: "<b@b>", refs: "<a@b> <c@b>"), m(3, 16, id: "<c@b>", refs: "<b@b>"),
        ]
        XCTAssertEqual(threads(messages), "(3 2)(1)")
    }

    /// A Message-ID seen twice belongs to the first message; the second is on its own.
    func testDuplicateMessageIDs() {
        let messages = [
            m(1, 1, "a", id: "<same@x>"), m(2, 2, "b", id: "<same@x>"), m(3, 3, "c", id: "<3@x>", refs: "<same@x>"),
        ]
        XCTAssertEqual(threads(messages), "(1 3)(2)")
    }

    /// Step 5: roots of one base subject merge: a reply under the original; two
    /// originals under a dummy; ties in date kept in mailbox order. REFS does not
    /// merge, and orders threads by their newest message.
    func testSubjectMerging() {
        let messages = [
            m(1, 1, "Lunch", id: "<1@x>"),
            m(2, 2, "Other", id: "<2@x>"),
            m(3, 3, "Re: lunch", id: "<3@x>"),
            m(4, 4, "other", id: "<4@x>"),
            m(5, 9, "Reply", id: "<5@x>", refs: "<2@x>"),
        ]
        XCTAssertEqual(threads(messages), "(1 3)((2 5)(4))")
        XCTAssertEqual(threads(messages, .refs), "(1)(3)(4)(2 5)")
    }

    /// Siblings by sent date at every level, ties by mailbox order.
    func testSiblingOrder() {
        let messages = [
            m(1, 1, id: "<1@x>"), m(2, 5, id: "<2@x>", refs: "<1@x>"), m(3, 3, id: "<3@x>", refs: "<1@x>"),
            m(4, 3, id: "<4@x>", refs: "<1@x>"),
        ]
        XCTAssertEqual(threads(messages), "(1 (3)(4)(2))")
    }

    /// RFC 5256 §2.2 ORDEREDSUBJECT: by base subject, the first the parent of the rest.
    func testOrderedSubject() {
        let messages = [
            m(1, 5, "b"), m(2, 1, "Re: a"), m(3, 2, "a"), m(4, 3, "[list] A"), m(5, 4, "b (fwd)"), m(6, 9, "c"),
        ]
        XCTAssertEqual(threads(messages, .orderedSubject), "(2 (3)(4))(5 1)(6)")
    }

    /// A reply chain 20,000 deep threads without recursion or a walk per message.
    func testADeepChain() {
        let depth = 20_000
        let messages = (1...depth).map { i in
            m(UInt32(i), Int64(i), id: "<\(i)@x>", inReplyTo: i > 1 ? "<\(i - 1)@x>" : nil)
        }
        let nodes = Threading.thread(messages, algorithm: .references)
        XCTAssertEqual(nodes.count, depth)
        XCTAssertEqual(nodes.map(\.number), (1...depth).map { UInt32($0) })
        XCTAssertEqual(nodes.last?.childCount, 0)
    }

    /// REFS as Dovecot 2.3 answers it (recorded): a reply to a missing message stays
    /// under its dummy root, which sorts before messages of the same date.
    func testRefsDummyRootsSortFirstAmongEqualDates() {
        let messages = [
            m(1, 5, "a", id: "<a@x>"), m(2, 5, "b"), m(3, 5, "c", id: "<c@x>"),
            m(4, 5, "d", id: "<d@x>", refs: "<zz@x>"), m(5, 5, "e", id: "<e@x>", refs: "<e@x>"),
        ]
        XCTAssertEqual(threads(messages, .refs), "(4)(1)(2)(3)(5)")
        XCTAssertEqual(threads(messages, .references), "(1)(2)(3)(4)(5)")
    }
}
