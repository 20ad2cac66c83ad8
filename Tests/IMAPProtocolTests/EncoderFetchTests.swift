import NIOCore
import XCTest

@testable import IMAPProtocol

/// FETCH responses, whole and streamed (RFC 9051 §7.5.2, RFC 3516, RFC 7162).
final class EncoderFetchTests: XCTestCase {
    private func fetch(_ number: UInt32, _ items: [FetchResponseItem]) -> [UInt8] {
        EncoderFixture.bytes(.untagged(.fetch(SequenceNumber(number), items)))
    }

    private func fetch(_ items: [FetchResponseItem]) -> [UInt8] { fetch(1, items) }

    private func fetchText(_ number: UInt32, _ items: [FetchResponseItem]) -> String {
        String(decoding: fetch(number, items), as: UTF8.self)
    }

    private func fetchText(_ items: [FetchResponseItem]) -> String { fetchText(1, items) }

    private func b(_ s: String) -> [UInt8] { Array(s.utf8) }

    func testFastItems() {
        let date = IMAPDateTime(
            date: IMAPDate(year: 1996, month: 7, day: 17), hour: 2, minute: 44, second: 25, zoneMinutes: -420)
        XCTAssertEqual(
            fetchText(
                12,
                [
                    .uid(UID(4_827_313)), .flags([.seen, .keyword("$Forwarded")]), .internalDate(date),
                    .rfc822Size(4286),
                ]),
            "* 12 FETCH (UID 4827313 FLAGS (\\Seen $Forwarded) INTERNALDATE \"17-Jul-1996 02:44:25 -0700\" RFC822.SIZE 4286)\r\n"
        )
        XCTAssertEqual(fetchText(3, [.flags([])]), "* 3 FETCH (FLAGS ())\r\n")
        XCTAssertEqual(fetchText(3, []), "* 3 FETCH ()\r\n")
        XCTAssertEqual(fetchText(3, [.rfc822Size(-1)]), "* 3 FETCH (RFC822.SIZE 0)\r\n")
        XCTAssertEqual(fetchText(3, [.modSeq(12_121_231_000)]), "* 3 FETCH (MODSEQ (12121231000))\r\n")
    }

    func testInternalDateMatchesDescription() {
        let dates = [
            IMAPDateTime(
                date: IMAPDate(year: 1994, month: 2, day: 1), hour: 21, minute: 52, second: 25, zoneMinutes: -480),
            IMAPDateTime(date: IMAPDate(year: 2024, month: 12, day: 31), hour: 0, minute: 0, second: 0, zoneMinutes: 0),
            IMAPDateTime(date: IMAPDate(year: 2001, month: 1, day: 9), hour: 9, minute: 5, second: 7, zoneMinutes: 330),
            IMAPDateTime(secondsSinceEpoch: 1_700_000_000, zoneMinutes: 60),
        ]
        for date in dates {
            XCTAssertEqual(
                EncoderFixture.writtenText { e, buf in e.writeDateTime(date, into: &buf) }, "\"\(date.description)\"")
        }
        XCTAssertEqual(
            EncoderFixture.writtenText { e, buf in e.writeDateTime(dates[0], into: &buf) },
            "\" 1-Feb-1994 21:52:25 -0800\"")
        XCTAssertEqual(
            EncoderFixture.writtenText { e, buf in e.writeDateTime(dates[2], into: &buf) },
            "\" 9-Jan-2001 09:05:07 +0530\"")
    }

    func testInternalDateOutOfRangeStaysInGrammar() {
        let odd = IMAPDateTime(
            date: IMAPDate(year: 12345, month: 13, day: 0), hour: -1, minute: 60, second: 99, zoneMinutes: -100_000)
        XCTAssertEqual(
            EncoderFixture.writtenText { e, buf in e.writeDateTime(odd, into: &buf) }, "\" 0-Dec-9999 00:60:99 -9940\"")
        // The shared value type's own description clamps the same way instead of trapping.
        XCTAssertEqual(IMAPDate(year: 2020, month: 13, day: 1).description, "1-Dec-2020")
        XCTAssertEqual(IMAPDate(year: 2020, month: 0, day: 1).description, "1-Jan-2020")
        XCTAssertTrue(odd.description.hasPrefix(" 0-Dec-12345 "))
    }

    func testBodySections() {
        XCTAssertEqual(
            fetchText([.bodySection(SectionSpec(), origin: nil, data: b("hello"))]),
            "* 1 FETCH (BODY[] {5}\r\nhello)\r\n")
        XCTAssertEqual(
            fetchText([.bodySection(SectionSpec(part: [1, 2]), origin: 0, data: b("abc"))]),
            "* 1 FETCH (BODY[1.2]<0> {3}\r\nabc)\r\n")
        XCTAssertEqual(
            fetchText([.bodySection(SectionSpec(text: .text), origin: 100, data: [])]),
            "* 1 FETCH (BODY[TEXT]<100> {0}\r\n)\r\n")
        XCTAssertEqual(
            fetchText([.bodySection(SectionSpec(part: [4], text: .mime), origin: nil, data: nil)]),
            "* 1 FETCH (BODY[4.MIME] NIL)\r\n")
        XCTAssertEqual(
            fetchText([.bodySection(SectionSpec(part: [2], text: .header), origin: nil, data: b("a"))]),
            "* 1 FETCH (BODY[2.HEADER] {1}\r\na)\r\n")
        XCTAssertEqual(
            fetchText([
                .bodySection(SectionSpec(text: .headerFields(["From", "to", "Message-ID"])), origin: nil, data: [])
            ]),
            "* 1 FETCH (BODY[HEADER.FIELDS (FROM TO MESSAGE-ID)] {0}\r\n)\r\n")
        XCTAssertEqual(
            fetchText([
                .bodySection(
                    SectionSpec(part: [1, 3], text: .headerFieldsNot(["x-spam", "a b"])), origin: nil, data: [])
            ]),
            "* 1 FETCH (BODY[1.3.HEADER.FIELDS.NOT (X-SPAM \"a b\")] {0}\r\n)\r\n")
    }

    func testBodyContentIsSentUnchanged() {
        let data: [UInt8] = [0x22, 0x5C, 0x0D, 0x0A, 0xFF, 0x00, 0x41]
        XCTAssertEqual(
            fetch([.bodySection(SectionSpec(), origin: nil, data: data)]),
            b("* 1 FETCH (BODY[] {7}\r\n") + data + b(")\r\n"))
    }

    func testBinary() {
        XCTAssertEqual(
            fetch([.binary(part: [1], origin: nil, data: [0x61, 0x00, 0x62])]),
            b("* 1 FETCH (BINARY[1] ~{3}\r\n") + [0x61, 0x00, 0x62] + b(")\r\n"))
        XCTAssertEqual(
            fetchText([.binary(part: [1, 2], origin: 5, data: b("abc"))]), "* 1 FETCH (BINARY[1.2]<5> {3}\r\nabc)\r\n")
        XCTAssertEqual(fetchText([.binary(part: [], origin: nil, data: nil)]), "* 1 FETCH (BINARY[] NIL)\r\n")
        XCTAssertEqual(fetchText([.binary(part: [3], origin: nil, data: [])]), "* 1 FETCH (BINARY[3] {0}\r\n)\r\n")
        XCTAssertEqual(
            fetchText([.binarySize(part: [1, 2], size: 2341), .binarySize(part: [], size: 0)]),
            "* 1 FETCH (BINARY.SIZE[1.2] 2341 BINARY.SIZE[] 0)\r\n")
    }

    func testRFC822Items() {
        XCTAssertEqual(
            fetchText([.rfc822(data: b("x")), .rfc822Header(data: b("H: v\r\n\r\n")), .rfc822Text(data: nil)]),
            "* 1 FETCH (RFC822 {1}\r\nx RFC822.HEADER {8}\r\nH: v\r\n\r\n RFC822.TEXT NIL)\r\n")
        XCTAssertEqual(fetchText([.rfc822Text(data: [])]), "* 1 FETCH (RFC822.TEXT {0}\r\n)\r\n")
    }

    func testRFC9051Section8Example() {
        let terry = Address(name: b("Terry Gray"), adl: nil, mailbox: b("gray"), host: b("cac.washington.edu"))
        let envelope = Envelope(
            date: b("Wed, 17 Jul 1996 02:23:25 -0700 (PDT)"),
            subject: b("IMAP4rev2 WG mtg summary and minutes"),
            from: [terry], sender: [terry], replyTo: [terry],
            to: [Address(name: nil, adl: nil, mailbox: b("imap"), host: b("cac.washington.edu"))],
            cc: [
                Address(name: nil, adl: nil, mailbox: b("minutes"), host: b("CNRI.Reston.VA.US")),
                Address(name: b("John Klensin"), adl: nil, mailbox: b("KLENSIN"), host: b("MIT.EDU")),
            ],
            messageID: b("<B27397-0100000@cac.washington.edu>"))
        let body = BodyStructure.singlepart(
            .init(
                kind: .text(subtype: b("PLAIN"), lines: 92),
                fields: .init(
                    parameters: [("CHARSET", b("US-ASCII"))], id: nil, description: nil, encoding: "7BIT",
                    octets: 3028),
                mediaType: b("TEXT")))
        let date = IMAPDateTime(
            date: IMAPDate(year: 1996, month: 7, day: 17), hour: 2, minute: 44, second: 25, zoneMinutes: -420)
        XCTAssertEqual(
            fetchText(
                12,
                [
                    .flags([.seen]), .internalDate(date), .rfc822Size(4286), .envelope(envelope),
                    .bodyStructure(body, extensible: false),
                ]),
            "* 12 FETCH (FLAGS (\\Seen) INTERNALDATE \"17-Jul-1996 02:44:25 -0700\" RFC822.SIZE 4286 "
                + "ENVELOPE (\"Wed, 17 Jul 1996 02:23:25 -0700 (PDT)\" \"IMAP4rev2 WG mtg summary and minutes\" "
                + "((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) "
                + "((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) "
                + "((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) "
                + "((NIL NIL \"imap\" \"cac.washington.edu\")) "
                + "((NIL NIL \"minutes\" \"CNRI.Reston.VA.US\")(\"John Klensin\" NIL \"KLENSIN\" \"MIT.EDU\")) "
                + "NIL NIL \"<B27397-0100000@cac.washington.edu>\") "
                + "BODY (\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 3028 92))\r\n")
    }

    // MARK: streaming

    /// Writes `items` the way the server streams them: literal-bearing items through
    /// `writeStreamedLiteralHeader` + raw bytes, the rest through `writeFetchItem`.
    private func streamed(_ number: UInt32, _ items: [FetchResponseItem]) -> [UInt8] {
        EncoderFixture.written { e, buf in
            e.writeFetchStart(SequenceNumber(number), into: &buf)
            for (index, item) in items.enumerated() {
                let first = index == 0
                switch item {
                case .bodySection(let section, let origin, let data?):
                    e.writeStreamedLiteralHeader(
                        .bodySection(section, origin: origin), size: data.count, binary: false, isFirst: first,
                        into: &buf)
                    buf.writeBytes(data)
                case .binary(let part, let origin, let data?):
                    e.writeStreamedLiteralHeader(
                        .binary(part: part, origin: origin), size: data.count, binary: data.contains(0),
                        isFirst: first, into: &buf)
                    buf.writeBytes(data)
                case .rfc822(let data?):
                    e.writeStreamedLiteralHeader(.rfc822, size: data.count, binary: false, isFirst: first, into: &buf)
                    buf.writeBytes(data)
                case .rfc822Header(let data?):
                    e.writeStreamedLiteralHeader(
                        .rfc822Header, size: data.count, binary: false, isFirst: first, into: &buf)
                    buf.writeBytes(data)
                case .rfc822Text(let data?):
                    e.writeStreamedLiteralHeader(
                        .rfc822Text, size: data.count, binary: false, isFirst: first, into: &buf)
                    buf.writeBytes(data)
                default:
                    e.writeFetchItem(item, isFirst: first, into: &buf)
                }
            }
            e.writeFetchEnd(into: &buf)
        }
    }

    func testStreamedPiecesEqualTheInMemoryForm() {
        let cases: [[FetchResponseItem]] = [
            [.bodySection(SectionSpec(), origin: nil, data: b("Subject: x\r\n\r\nbody\r\n"))],
            [.uid(UID(7)), .bodySection(SectionSpec(part: [1, 2]), origin: 0, data: b("abc"))],
            [.bodySection(SectionSpec(text: .text), origin: nil, data: []), .flags([.seen])],
            [
                .uid(UID(9)), .binary(part: [2], origin: nil, data: [1, 0, 2]),
                .binary(part: [3], origin: 4, data: b("x")),
            ],
            [.rfc822(data: b("a\r\n")), .rfc822Header(data: b("h\r\n\r\n")), .rfc822Text(data: b("t"))],
            [.rfc822Size(10), .rfc822(data: []), .modSeq(3)],
        ]
        for items in cases {
            XCTAssertEqual(streamed(42, items), fetch(42, items), "\(items)")
        }
    }

    func testStreamedLiteralHeaders() {
        func header(_ label: ResponseEncoder.StreamedLabel, _ size: Int, binary: Bool = false, first: Bool) -> String {
            EncoderFixture.writtenText { e, buf in
                e.writeStreamedLiteralHeader(label, size: size, binary: binary, isFirst: first, into: &buf)
            }
        }
        XCTAssertEqual(
            header(.bodySection(SectionSpec(part: [1, 2]), origin: 0), 123, first: true), "BODY[1.2]<0> {123}\r\n")
        XCTAssertEqual(header(.rfc822, 5, first: false), " RFC822 {5}\r\n")
        XCTAssertEqual(header(.binary(part: [1], origin: nil), 10, binary: true, first: true), "BINARY[1] ~{10}\r\n")
        XCTAssertEqual(header(.rfc822Header, 0, first: true), "RFC822.HEADER {0}\r\n")
        XCTAssertEqual(header(.rfc822Text, -3, first: true), "RFC822.TEXT {0}\r\n")
        XCTAssertEqual(
            EncoderFixture.writtenText { e, buf in e.writeFetchStart(SequenceNumber(12), into: &buf) }, "* 12 FETCH (")
        XCTAssertEqual(EncoderFixture.writtenText { e, buf in e.writeFetchEnd(into: &buf) }, ")\r\n")
    }
}
