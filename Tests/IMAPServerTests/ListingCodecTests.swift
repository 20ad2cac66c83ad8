import Foundation
import IMAPProtocol
import MailMessage
import MaildirStore
import XCTest

@testable import IMAPServer

/// The listing cache's byte formats (ListingCodec, ListingFormat): every message of the
/// golden corpus reads back as it was parsed, partial reads give the parts asked for,
/// and damaged bytes decode to nil, never to a crash.
final class ListingCodecTests: XCTestCase {
    static func corpus() throws -> [(name: String, bytes: [UInt8])] {
        let directory = GoldenTests.golden.appendingPathComponent("corpus")
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted()
        return try names.map { ($0, Array(try Data(contentsOf: directory.appendingPathComponent($0)))) }
    }

    /// What FETCH and SEARCH would cache of `bytes`: SEARCH's texts of every kept
    /// field and the date, as a search of all of them learns them from the file.
    static func entry(_ bytes: [UInt8], uid: UInt32) -> ListingEntry {
        bytes.withUnsafeBytes { raw in
            let tree = MessageTree.parse(raw)
            let key = SearchKey.and([
                .subject("x"), .header(field: "Message-ID", value: "x"), .header(field: "Content-Type", value: "x"),
                .from("x"), .to("x"), .cc("x"), .bcc("x"),
                .sentOn(IMAPDate(year: 2024, month: 1, day: 1)),
            ])
            let plan = SearchEvaluator(key: key, lastSequenceNumber: 1, lastUID: 1, saved: [])!.plan
            let content = SearchableMessage(tree: tree, raw: raw, plan: plan, statistics: SearchStatistics())
            for scope in plan.scopes.indices { _ = content.contains(scope: scope, needle: 0) }
            _ = content.sentDate
            var entry = ListingEntry(
                uid: uid, nameHash: uid &* 2_654_435_761, envelope: tree.envelope(raw),
                bodyStructure: tree.bodyStructure(raw, extensible: true), searchHeaders: content.learned)
            for spec in sectionSpecs {
                guard case .bytes(let bytes) = tree.section(spec, raw) else { continue }
                entry.headerSections[spec.headerKey!] = bytes
            }
            return entry
        }
    }

    /// Two listings' header sections, as Roundcube and Thunderbird ask for them.
    static let sectionSpecs = [
        SectionSpec(text: .headerFields(["Date", "From", "To", "Subject", "Content-Type", "Cc", "Reply-To"])),
        SectionSpec(text: .headerFieldsNot(["Received", "DKIM-Signature"])),
    ]

    static func encoded(_ entry: ListingEntry) -> [UInt8] {
        var bytes: [UInt8] = []
        ListingCodec.encode(entry, into: &bytes)
        return bytes
    }

    static func decode(
        _ bytes: [UInt8], _ parts: ListingCodec.Parts = .all, needs: SearchHeaders.Needs? = nil
    ) -> ListingEntry? {
        bytes.withUnsafeBytes { ListingCodec.decode($0, wanted: parts, needs: needs) }
    }

    func testCorpusRoundTrips() throws {
        let corpus = try Self.corpus()
        XCTAssertGreaterThanOrEqual(corpus.count, GoldenTests.minimumMessages)
        for (index, message) in corpus.enumerated() {
            let entry = Self.entry(message.bytes, uid: UInt32(index + 1))
            let bytes = Self.encoded(entry)
            XCTAssertEqual(Self.decode(bytes), entry, message.name)
            // What a SEARCH reads: the texts only.
            let search = try XCTUnwrap(Self.decode(bytes, .search), message.name)
            XCTAssertEqual(search.searchHeaders, entry.searchHeaders, message.name)
            XCTAssertNil(search.envelope, message.name)
            XCTAssertNil(search.bodyStructure, message.name)
            // A SEARCH FROM reads that field alone; SENTON the date alone.
            let from = try XCTUnwrap(
                Self.decode(bytes, .search, needs: SearchHeaders.Needs(scopes: [.address("from")], sentDate: false)))
            XCTAssertEqual(from.searchHeaders?[.address("from")], entry.searchHeaders?[.address("from")], message.name)
            XCTAssertNotNil(from.searchHeaders?[.address("from")], message.name)
            XCTAssertNil(from.searchHeaders?[.header("subject")], message.name)
            XCTAssertTrue(from.searchHeaders?.sentDate == nil, message.name)
            let date = try XCTUnwrap(
                Self.decode(bytes, .search, needs: SearchHeaders.Needs(scopes: [], sentDate: true)))
            XCTAssertEqual(date.searchHeaders?.sentDate, entry.searchHeaders?.sentDate, message.name)
            XCTAssertNil(date.searchHeaders?[.address("to")], message.name)
            // What a FETCH (ENVELOPE BODYSTRUCTURE) reads; and ENVELOPE or BODY alone.
            let listing = try XCTUnwrap(Self.decode(bytes, .listing), message.name)
            XCTAssertEqual(listing.envelope, entry.envelope, message.name)
            XCTAssertEqual(listing.bodyStructure, entry.bodyStructure, message.name)
            XCTAssertNil(listing.searchHeaders, message.name)
            XCTAssertEqual(Self.decode(bytes, .envelope)?.envelope, entry.envelope, message.name)
            XCTAssertEqual(Self.decode(bytes, .structure)?.bodyStructure, entry.bodyStructure, message.name)
            // A FETCH of a header section: the sections kept come back; a section not
            // kept makes the whole entry come back (to be completed and stored again).
            let keys = Self.sectionSpecs.map { $0.headerKey! }
            let sections = try XCTUnwrap(
                bytes.withUnsafeBytes { ListingCodec.decode($0, wanted: .sections, sectionKeys: keys) })
            XCTAssertEqual(sections.headerSections, entry.headerSections, message.name)
            XCTAssertNil(sections.bodyStructure, message.name)
            let missing = bytes.withUnsafeBytes { ListingCodec.decode($0, wanted: .sections, sectionKeys: ["F X"]) }
            XCTAssertEqual(missing, entry, message.name)
        }
    }

    /// An entry without a part asked for comes back whole, so what is stored over it
    /// keeps what it had (ListingEntry.merged).
    func testMissingPartGivesTheWholeEntryToMergeOver() throws {
        let message = try XCTUnwrap(Self.corpus().first { $0.name.hasPrefix("08") })
        let full = Self.entry(message.bytes, uid: 7)
        var listingOnly = full
        listingOnly.searchHeaders = nil
        let read = try XCTUnwrap(Self.decode(Self.encoded(listingOnly), .search))
        XCTAssertEqual(read, listingOnly)
        var searchOnly = ListingEntry(uid: 7, nameHash: full.nameHash)
        searchOnly.searchHeaders = full.searchHeaders
        XCTAssertFalse(searchOnly.isCovered(by: read))
        XCTAssertEqual(searchOnly.merged(over: read), full)
        XCTAssertTrue(searchOnly.isCovered(by: full))

        // Field by field: an entry keeping From only, asked for Subject, comes back
        // whole; the Subject learned next is stored with the From kept.
        var fromOnly = listingOnly
        fromOnly.searchHeaders = SearchHeaders()
        fromOnly.searchHeaders?[.address("from")] = full.searchHeaders?[.address("from")]
        let subjectNeeds = SearchHeaders.Needs(scopes: [.header("subject")], sentDate: false)
        let whole = try XCTUnwrap(Self.decode(Self.encoded(fromOnly), .search, needs: subjectNeeds))
        XCTAssertEqual(whole, fromOnly)
        XCTAssertFalse(whole.searchHeaders?.serves(subjectNeeds) ?? true)
        var learned = ListingEntry(uid: 7, nameHash: full.nameHash)
        learned.searchHeaders = SearchHeaders()
        learned.searchHeaders?[.header("subject")] = full.searchHeaders?[.header("subject")]
        XCTAssertFalse(learned.isCovered(by: whole))
        let stored = learned.merged(over: whole)
        XCTAssertEqual(stored.searchHeaders?[.address("from")], full.searchHeaders?[.address("from")])
        XCTAssertEqual(stored.searchHeaders?[.header("subject")], full.searchHeaders?[.header("subject")])
        XCTAssertEqual(stored.envelope, full.envelope)
        XCTAssertTrue(learned.isCovered(by: stored))
        // Another file's entry (another name hash) gives nothing to the new one.
        var other = read
        other.nameHash &+= 1
        XCTAssertEqual(searchOnly.merged(over: other), searchOnly)
        XCTAssertFalse(searchOnly.isCovered(by: other))
    }

    /// At most `maxFields` fields a message: a client naming ever new header fields
    /// cannot grow an entry; BODY and TEXT and absurd names are never kept.
    func testKeptFieldsAreBounded() {
        var headers = SearchHeaders()
        for index in 0..<(SearchHeaders.maxFields + 5) { headers[.header("x-\(index)")] = [[UInt8(index)]] }
        XCTAssertEqual(headers.fields.count, SearchHeaders.maxFields)
        XCTAssertEqual(headers[.header("x-0")], [[0]])
        XCTAssertNil(headers[.header("x-\(SearchHeaders.maxFields)")])
        headers[.header("x-0")] = [[9]]
        XCTAssertEqual(headers[.header("x-0")], [[9]])
        var other = SearchHeaders()
        other[.body] = [[1]]
        other[.text] = [[1]]
        other[.header(String(repeating: "n", count: SearchHeaders.maxNameBytes + 1))] = [[1]]
        other[.header("")] = [[1]]
        XCTAssertTrue(other.isEmpty)
        var entry = ListingEntry(uid: 1, nameHash: 2)
        entry.searchHeaders = headers
        let bytes = Self.encoded(entry)
        XCTAssertEqual(Self.decode(bytes), entry)
        XCTAssertNil(Self.decode(Array(bytes.dropLast())))
    }

    func testEveryStrictPrefixIsRefused() throws {
        for message in try Self.corpus().prefix(12) {
            let bytes = Self.encoded(Self.entry(message.bytes, uid: 3))
            for length in 0..<bytes.count {
                XCTAssertNil(Self.decode(Array(bytes[0..<length])), "\(message.name) cut at \(length)")
            }
        }
    }

    /// Flipped bytes (past the frame's CRC, as if it matched by chance) and absurd
    /// counts decode to something or nil, and never crash or allocate a huge array.
    func testDamagedBytesNeverCrash() throws {
        var rng = SystemRandomNumberGenerator()
        var refused = 0
        for message in try Self.corpus() {
            let bytes = Self.encoded(Self.entry(message.bytes, uid: 5))
            for _ in 0..<200 {
                var damaged = bytes
                for _ in 0..<Int.random(in: 1...3, using: &rng) {
                    damaged[Int.random(in: 8..<damaged.count, using: &rng)] ^= UInt8.random(in: 1...255, using: &rng)
                }
                if Self.decode(damaged) == nil { refused += 1 }
                _ = Self.decode(damaged, .search)
                _ = Self.decode(damaged, .listing)
            }
        }
        XCTAssertGreaterThan(refused, 0)
        // A count of 2^40 addresses, and a nesting deeper than any parse makes.
        var huge: [UInt8] = [1, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0]
        Varint.append(1 << 40, to: &huge)
        XCTAssertNil(Self.decode(huge))
        var deep: [UInt8] = [1, 0, 0, 0, 2, 0, 0, 0, 2]
        // Each level a multipart (1) of one part (1).
        deep += [UInt8](repeating: 1, count: 2 * (ListingCodec.maxDepth + 10))
        XCTAssertNil(Self.decode(deep))
    }

    func testFramesAreCheckedAlone() throws {
        let message = try XCTUnwrap(Self.corpus().first)
        let entry = Self.entry(message.bytes, uid: 11).split()[0]
        var bytes: [UInt8] = []
        XCTAssertTrue(ListingFormat.frame(entry, into: &bytes))
        bytes.withUnsafeBytes { raw in
            let frame = ListingFormat.frame(at: raw)
            XCTAssertEqual(frame?.length, raw.count)
            XCTAssertEqual(frame.flatMap { ListingCodec.decode($0.entry) }, entry)
            // Cut short, or a byte changed: the CRC refuses it.
            XCTAssertNil(ListingFormat.frame(at: UnsafeRawBufferPointer(rebasing: raw[0..<(raw.count - 1)])))
        }
        for index in stride(from: 0, to: bytes.count, by: max(1, bytes.count / 97)) {
            var damaged = bytes
            damaged[index] ^= 0x20
            damaged.withUnsafeBytes { XCTAssertNil(ListingFormat.frame(at: $0), "byte \(index)") }
        }
    }

    func testOffsetsRoundTripAndEveryFlippedByteIsRefused() throws {
        // Both kinds' tables: 500 and 300 random ascending UIDs and offsets.
        let tables = [500, 300].map { count -> (uids: [UInt32], offsets: [UInt32]) in
            var table = (uids: [UInt32](), offsets: [UInt32]())
            var uid: UInt32 = 0
            for _ in 0..<count {
                uid += UInt32.random(in: 1...40)
                table.uids.append(uid)
                table.offsets.append(UInt32.random(in: UInt32(ListingFormat.headerSize)...UInt32.max))
            }
            return table
        }
        let saved = ListingFormat.Offsets(
            header: ListingFormat.Header(uidValidity: 42, generation: 0xFEED_F00D_1234_5678), covered: 123_456,
            frames: 777, tables: tables)
        let bytes = ListingFormat.encode(saved)
        XCTAssertEqual(bytes.withUnsafeBytes { ListingFormat.decodeOffsets($0) }, saved)
        for index in bytes.indices {
            var damaged = bytes
            damaged[index] ^= 0x01
            XCTAssertNil(damaged.withUnsafeBytes { ListingFormat.decodeOffsets($0) }, "byte \(index)")
        }
        XCTAssertNil(Array(bytes.dropLast()).withUnsafeBytes { ListingFormat.decodeOffsets($0) })
    }
}
