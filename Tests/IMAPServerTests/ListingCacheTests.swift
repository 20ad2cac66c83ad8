import Foundation
import MaildirStore
import XCTest

@testable import IMAPServer

#if canImport(Glibc)
    import Glibc
#endif

/// The persistent listing cache (ListingCache/) end to end: after a restart, ENVELOPE
/// and BODYSTRUCTURE listings and SEARCH on the cached header fields open no message
/// file, and whatever happened to the spool or the cache files meanwhile, the answers
/// are those of a server without any cache file.
final class ListingCacheTests: XCTestCase {
    static let fetches = [
        "UID FETCH 1:* (ENVELOPE BODYSTRUCTURE)", "UID FETCH 1:* (BODY)", "UID FETCH 1:* (UID ENVELOPE)",
        "UID FETCH 1:* (BODY.PEEK[HEADER.FIELDS (From Subject Date)] BODYSTRUCTURE)",
        "UID FETCH 1:* (RFC822.SIZE BODY.PEEK[HEADER.FIELDS.NOT (Received Content-Type)]<0.100>)",
    ]
    static let searches = [
        "UID SEARCH FROM s3", "UID SEARCH SUBJECT \"topic 1\"", "UID SEARCH OR TO r1 CC c2",
        "UID SEARCH SENTSINCE 10-Feb-2023 NOT BCC hidden", "UID SEARCH HEADER Message-ID m7@",
        "UID SEARCH FROM \"Zoë\"", "UID SEARCH SUBJECT \"café\"", "UID SEARCH HEADER X-Spam-Flag yes",
    ]
    static let commands = fetches + searches

    /// Message `index`: every third multipart with an attachment, every fifth without
    /// Date:, encoded words in some names and subjects.
    static func message(_ index: Int) -> String {
        let name = index % 4 == 0 ? "=?utf-8?q?Zo=C3=AB_\(index % 7)?=" : "Sender \(index % 7)"
        var text = "From: \"\(name)\" <s\(index % 7)@example.org>\nTo: r\(index % 4)@example.org\n"
        if index % 3 == 0 { text += "Cc: c\(index % 5)@example.org\nBcc: hidden@example.org\n" }
        let subject = index % 6 == 1 ? "=?iso-8859-1?q?caf=E9?= \(index / 3)" : "topic \(index / 3)"
        text += "Subject: \(subject)\n"
        if index % 5 != 0 { text += "Date: Mon, \(1 + index % 27) Feb 2023 10:\(10 + index % 40):00 +0000\n" }
        text += "Message-ID: <m\(index)@example.org>\n"
        if index % 5 == 2 { text += "X-Spam-Flag: YES\n" }
        guard index % 3 == 0 else { return text + "\nbody \(index)\n" }
        return text + """
            MIME-Version: 1.0
            Content-Type: multipart/mixed; boundary="b\(index)"

            --b\(index)
            Content-Type: text/plain; charset=utf-8

            body \(index)
            --b\(index)
            Content-Type: application/pdf; name="f\(index).pdf"
            Content-Disposition: attachment; filename="f\(index).pdf"
            Content-Transfer-Encoding: base64

            JVBERi0xLjQK
            --b\(index)--

            """
    }

    func deliver(_ server: RunningServer, _ range: Range<Int>) throws {
        try server.deliverNumbered(range, Self.message) { TimeInterval(1_600_000_000 + $0) }
    }

    func answers(port: Int, _ commands: [String] = ListingCacheTests.commands) throws -> [[String]] {
        try untaggedAnswers(port: port, open: "EXAMINE INBOX", commands)
    }

    /// Files parsed for FETCH and read for SEARCH.
    func filesRead(_ server: IMAPServer) -> Int {
        server.context.messageCache.statistics.parses
            + server.context.searchStatistics.messagesRead.load(ordering: .relaxed)
    }

    var inbox: (RunningServer) -> String { { $0.maildir.root + "/alice" } }

    /// The answers a server without cache files gives for the spool as it is now.
    func truth(_ first: RunningServer) async throws -> [[String]] {
        try await truthWithoutCaches(first, open: "EXAMINE INBOX", Self.commands)
    }

    func testRestartAnswersListingsAndHeaderSearchesFromTheCache() async throws {
        let first = try await startServer()
        try deliver(first, 0..<40)
        let before = try answers(port: first.port)
        XCTAssertTrue(before[5].first?.hasPrefix("* SEARCH 4 ") == true, "\(before[5])")
        XCTAssertTrue(before.contains { $0.first?.contains("Zo=C3=AB") == true })
        XCTAssertEqual(before[9].first, "* SEARCH 8", "\(before[9])")
        XCTAssertTrue(before[11].first?.hasPrefix("* SEARCH 2 8 ") == true, "\(before[11])")
        XCTAssertTrue(before[12].first?.hasPrefix("* SEARCH 3 8 13 ") == true, "\(before[12])")
        // The header sections as the file gives them (RFC 9051 §6.4.5: with the blank line).
        XCTAssertTrue(
            before[3].contains { $0.contains("HEADER.FIELDS (FROM SUBJECT DATE)] {") }, "\(before[3].prefix(1))")
        XCTAssertTrue(before[4].contains { $0.contains("HEADER.FIELDS.NOT (RECEIVED CONTENT-TYPE)]<0> {") })
        let listing = inbox(first) + "/" + HeaderCacheNames.listing
        XCTAssertTrue(FileManager.default.fileExists(atPath: listing))
        let (second, port) = try await restartServer(first)
        XCTAssertTrue(FileManager.default.fileExists(atPath: inbox(first) + "/" + HeaderCacheNames.listingOffsets))
        XCTAssertEqual(try answers(port: port), before)
        XCTAssertEqual(filesRead(second), 0)
        let cache = try XCTUnwrap(second.context.listingCache)
        XCTAssertEqual(cache.misses.load(ordering: .relaxed), 0)
        XCTAssertGreaterThan(cache.hits.load(ordering: .relaxed), 0)
        await second.shutdown()
        let reference = try await truth(first)
        XCTAssertEqual(before, reference)
    }

    /// The golden corpus (NUL bytes, 8-bit and folded headers, bare CR, no blank line…):
    /// after a restart, ENVELOPE, BODYSTRUCTURE and header sections from the cache are
    /// byte for byte what the files gave.
    func testGoldenCorpusListsAsFromTheFiles() async throws {
        let first = try await startServer()
        let corpus = try ListingCodecTests.corpus()
        for (index, message) in corpus.enumerated() {
            // The bytes as they are (8-bit, NUL): written to tmp/ and renamed, as an MDA.
            let name = "1700001\(100 + index).G\(index)P1.host:2,"
            let tmp = inbox(first) + "/tmp/" + name
            XCTAssertTrue(FileManager.default.createFile(atPath: tmp, contents: Data(message.bytes)))
            XCTAssertEqual(rename(tmp, inbox(first) + "/cur/" + name), 0)
        }
        let commands = [
            "UID FETCH 1:* (ENVELOPE BODYSTRUCTURE BODY.PEEK[HEADER.FIELDS (Date From To Subject Content-Type Cc)])",
            "UID FETCH 1:* (BODY BODY.PEEK[HEADER.FIELDS.NOT (Received Subject)]<2.40>)",
            // One section under two spellings (the same key): both answered.
            "UID FETCH 1:* (BODY.PEEK[HEADER.FIELDS (To From)] BODY.PEEK[HEADER.FIELDS (from to)])",
        ]
        let before = try answers(port: first.port, commands)
        XCTAssertEqual(before[0].filter { $0.contains("ENVELOPE") }.count, corpus.count)
        XCTAssertEqual(before[2].filter { $0.contains("HEADER.FIELDS (TO FROM)") }.count, corpus.count)
        XCTAssertEqual(before[2].filter { $0.contains("HEADER.FIELDS (FROM TO)") }.count, corpus.count)
        let (second, port) = try await restartServer(first)
        XCTAssertEqual(try answers(port: port, commands), before)
        XCTAssertEqual(filesRead(second), 0)
    }

    /// A SEARCH with a key the cache does not keep (BODY, TEXT) reads the files, and
    /// still gives the same answer; any header field, named by HEADER, is kept.
    func testKeysTheCacheDoesNotKeepReadTheFiles() async throws {
        let first = try await startServer()
        try deliver(first, 0..<12)
        let commands = [
            "UID SEARCH BODY \"body 3\"", "UID SEARCH FROM s3 TEXT \"body 3\"", "UID SEARCH HEADER MIME-Version 1.0",
        ]
        let before = try answers(port: first.port, Self.commands + commands)
        XCTAssertEqual(before.last?.first, "* SEARCH 1 4 7 10")
        let (second, port) = try await restartServer(first)
        XCTAssertEqual(try answers(port: port, Self.commands), Array(before.prefix(Self.commands.count)))
        XCTAssertEqual(filesRead(second), 0)
        XCTAssertEqual(try answers(port: port, commands), Array(before.suffix(commands.count)))
        // The BODY search parses each file once (the cache gave no tree) and reads it;
        // FROM with TEXT reads them again; the HEADER field was kept.
        XCTAssertEqual(filesRead(second), 36)
    }

    /// Added, expunged and re-named messages while the server was down (the uidlist
    /// edited so a UID names another file); then the uidlist removed (a new
    /// UIDVALIDITY: the file is started again).
    func testChangesWhileTheServerWasDownAreSeen() async throws {
        let first = try await startServer()
        try deliver(first, 0..<30)
        _ = try answers(port: first.port)
        await first.stop()
        let cur = inbox(first) + "/cur/"
        try FileManager.default.removeItem(atPath: cur + "1700000105.M5P1.host:2,")
        // UID 8 now names another file with another text.
        let uidlist = inbox(first) + "/dovecot-uidlist"
        let list = try String(contentsOfFile: uidlist, encoding: .utf8)
        XCTAssertTrue(list.contains("1700000107.M7P1.host"))
        try list.replacingOccurrences(of: "1700000107.M7P1.host", with: "1700000999.M7edit.host")
            .write(toFile: uidlist, atomically: true, encoding: .utf8)
        try FileManager.default.removeItem(atPath: cur + "1700000107.M7P1.host:2,")
        try first.maildir.deliver(
            "alice", name: "1700000999.M7edit.host:2,", into: "cur",
            body: Self.message(7).replacingOccurrences(of: "Sender 0", with: "Aardvark s3"), mtime: 1_600_000_100)
        try deliver(first, 30..<33)
        let (second, port) = try await restartServer(first)
        let after = try answers(port: port)
        // The replaced message and the three new ones, each parsed once, and read by
        // each of the six SEARCHes that needs a field not kept for them yet (FROM Zoë
        // and SUBJECT café find From and Subject kept).
        XCTAssertEqual(filesRead(second), 4 + 6 * 4)
        await second.shutdown()
        let afterTruth = try await truth(first)
        XCTAssertEqual(after, afterTruth)
        XCTAssertTrue(after[5].first?.contains(" 8 ") == true, "\(after[5])")

        try FileManager.default.removeItem(atPath: uidlist)
        let (third, thirdPort) = try await restartServer(first)
        let thirdAnswers = try answers(port: thirdPort)
        XCTAssertEqual(filesRead(third), 32 + 6 * 32)
        await third.shutdown()
        let thirdTruth = try await truth(first)
        XCTAssertEqual(thirdAnswers, thirdTruth)
    }

    /// The offsets of each frame in the listing file, walking the length fields.
    func frameOffsets(_ bytes: [UInt8]) -> [Int] {
        var offsets: [Int] = []
        var offset = ListingFormat.headerSize
        while offset + 4 <= bytes.count {
            offsets.append(offset)
            let length = bytes[offset..<offset + 4].reversed().reduce(0) { $0 << 8 | Int($1) }
            offset += ListingFormat.frameHeaderSize + length
        }
        return offsets
    }

    /// A byte flipped in a frame in the middle and a torn tail, the offsets file gone:
    /// the frames from the damaged one on are misses, read again from the files and
    /// appended after the file was cut there; the answers stay the Maildir's.
    func testTornAndCorruptListingFileGivesTheMaildirsAnswers() async throws {
        let first = try await startServer()
        try deliver(first, 0..<25)
        let expected = try answers(port: first.port)
        await first.stop()
        let listing = inbox(first) + "/" + HeaderCacheNames.listing
        try FileManager.default.removeItem(atPath: inbox(first) + "/" + HeaderCacheNames.listingOffsets)
        var bytes = Array(try XCTUnwrap(FileManager.default.contents(atPath: listing)))
        let frames = frameOffsets(bytes)
        // 25 frames from the first FETCH, 25 for each FETCH of new header sections,
        // then 25 for each of the six SEARCHes that needed fields not kept yet.
        XCTAssertEqual(frames.count, 25 + 2 * 25 + 6 * 25)
        bytes[frames[40] + ListingFormat.frameHeaderSize + 12] ^= 0x40
        try Data(bytes.dropLast(9)).write(to: URL(fileURLWithPath: listing))

        let (second, port) = try await restartServer(first)
        XCTAssertEqual(try answers(port: port), expected)
        // Frame 40 on is gone: message 16's header sections onwards and all the later
        // FETCH and SEARCHes added; those messages are read again.
        XCTAssertGreaterThan(filesRead(second), 0)
        await second.shutdown()
        let uidValidity = try XCTUnwrap(bytes.withUnsafeBytes { ListingFormat.decodeHeader($0) }).uidValidity
        let loaded = ListingFile(directory: inbox(first), maxBytes: 1 << 30).load(uidValidity: uidValidity)
        XCTAssertEqual(loaded.known, loaded.mark)
        // Each message's ENVELOPE/BODYSTRUCTURE frame and search-text frame.
        XCTAssertEqual(loaded.offsets.count, 2 * 25)
        let (third, thirdPort) = try await restartServer(first)
        XCTAssertEqual(try answers(port: thirdPort), expected)
        XCTAssertEqual(filesRead(third), 0)
    }

    /// Offsets that lead to other messages' frames (under a valid CRC): every lookup
    /// is a miss, and the messages are read from their files.
    func testWrongOffsetsAreMisses() async throws {
        let first = try await startServer()
        try deliver(first, 0..<12)
        let expected = try answers(port: first.port)
        await first.stop()
        let offsets = inbox(first) + "/" + HeaderCacheNames.listingOffsets
        var saved = try XCTUnwrap(
            FileManager.default.contents(atPath: offsets).flatMap { data in
                Array(data).withUnsafeBytes { ListingFormat.decodeOffsets($0) }
            })
        for kind in ListingKind.allCases {
            XCTAssertEqual(saved.tables[kind.rawValue].uids, Array(1...12))
            for index in stride(from: 0, to: 12, by: 2) { saved.tables[kind.rawValue].offsets.swapAt(index, index + 1) }
        }
        try Data(ListingFormat.encode(saved)).write(to: URL(fileURLWithPath: offsets))
        let (second, port) = try await restartServer(first)
        XCTAssertEqual(try answers(port: port), expected)
        // Each message parsed once for FETCH, and read by each of the six SEARCHes
        // that needed fields not kept yet.
        XCTAssertEqual(filesRead(second), 12 + 6 * 12)
        // The FETCH's twelve lookups and the first SEARCH's twelve missed; the later
        // ones found what those wrote (with fields missing, or all there).
        let cache = try XCTUnwrap(second.context.listingCache)
        XCTAssertEqual(cache.misses.load(ordering: .relaxed), 24)
    }

    /// A compaction that cannot replace the file (a directory planted at its
    /// temporary path) is not tried again at every append, and answers stay right.
    func testFailedCompactionIsNotRetriedAtEveryAppend() async throws {
        let server = try await startServer()
        try deliver(server, 0..<1100)
        let client = try server.connect()
        try client.login()
        XCTAssertTrue(try client.command("SELECT INBOX").ok)
        XCTAssertTrue(try client.command("UID FETCH 1:* (ENVELOPE)").ok)
        let temporary = inbox(server) + "/" + HeaderCacheNames.listing + HeaderCacheNames.temporarySuffix
        try FileManager.default.createDirectory(atPath: temporary, withIntermediateDirectories: false)
        try server.leaveElevenMessages(client) { try deliver(server, 1100..<1101) }
        for index in 1101..<1106 {
            try deliver(server, index..<(index + 1))
            XCTAssertTrue(try client.command("NOOP").ok)
            let fetched = try client.command("UID FETCH 1:* (ENVELOPE)")
            XCTAssertEqual(fetched.untagged.filter { $0.contains("ENVELOPE") }.count, index - 1089)
        }
        let cache = try XCTUnwrap(server.server.context.listingCache)
        // Tried at the first append after the expunge, not at the five after it.
        XCTAssertEqual(cache.compactions.load(ordering: .relaxed), 1)
    }

    /// A message another session expunged, not yet reported to this one, is still
    /// answered from the cache (RFC 9051 §7.5.1), as the parsed-message cache answers
    /// it: the FETCH ends OK instead of NO [EXPUNGEISSUED].
    func testMessageExpungedByAnotherSessionIsStillListed() async throws {
        let first = try await startServer()
        try deliver(first, 0..<12)
        _ = try answers(port: first.port)
        let (second, port) = try await restartServer(first)
        let reader = try TestClient(port: port)
        try reader.login()
        XCTAssertTrue(try reader.command("SELECT INBOX").ok)
        let other = try TestClient(port: port)
        try other.login()
        XCTAssertTrue(try other.command("SELECT INBOX").ok)
        XCTAssertTrue(try other.command("UID STORE 3 +FLAGS.SILENT (\\Deleted)").ok)
        XCTAssertTrue(try other.command("EXPUNGE").ok)
        // FETCH (not UID FETCH) may not report the expunge: the view keeps message 3.
        let fetched = try reader.command("FETCH 1:12 (ENVELOPE)")
        XCTAssertTrue(fetched.ok, fetched.tagged)
        XCTAssertEqual(fetched.untagged.filter { $0.contains("ENVELOPE") }.count, 12)
        XCTAssertTrue(fetched.untagged.contains { $0.hasPrefix("* 3 FETCH (ENVELOPE") && $0.contains("<m2@") })
        XCTAssertEqual(filesRead(second), 0)
        let noop = try reader.command("NOOP")
        XCTAssertTrue(noop.untagged.contains("* 3 EXPUNGE"), "\(noop.untagged)")
    }

    func testPlantedSymlinkAndFIFOAreIgnored() async throws {
        let first = try await startServer()
        try deliver(first, 0..<10)
        let target = try first.plantSymlinkAndFIFO(
            symlinkName: HeaderCacheNames.listing, fifoName: HeaderCacheNames.listingOffsets)
        let expected = try answers(port: first.port)
        XCTAssertEqual(try String(contentsOfFile: target, encoding: .utf8), "precious")
        let reference = try await truth(first)
        XCTAssertEqual(expected, reference)
        XCTAssertEqual(try String(contentsOfFile: target, encoding: .utf8), "precious")
    }

    /// More frames than two of each kind a message + 1024: the next append rewrites the
    /// file with the folder's messages' frames only.
    func testExpungedEntriesAreDroppedByCompaction() async throws {
        let server = try await startServer()
        try deliver(server, 0..<1100)
        let client = try server.connect()
        try client.login()
        XCTAssertTrue(try client.command("SELECT INBOX").ok)
        XCTAssertTrue(try client.command("UID FETCH 1:* (ENVELOPE)").ok)
        let cache = try XCTUnwrap(server.server.context.listingCache)
        XCTAssertEqual(cache.compactions.load(ordering: .relaxed), 0)
        try server.leaveElevenMessages(client) { try deliver(server, 1100..<1101) }
        let fetched = try client.command("UID FETCH 1:* (ENVELOPE)")
        XCTAssertEqual(fetched.untagged.filter { $0.contains("ENVELOPE") }.count, 11)
        XCTAssertEqual(cache.compactions.load(ordering: .relaxed), 1)
        let bytes = Array(
            try XCTUnwrap(FileManager.default.contents(atPath: inbox(server) + "/" + HeaderCacheNames.listing)))
        let uidValidity = try XCTUnwrap(bytes.withUnsafeBytes { ListingFormat.decodeHeader($0) }).uidValidity
        let loaded = ListingFile(directory: inbox(server), maxBytes: 1 << 30).load(uidValidity: uidValidity)
        XCTAssertEqual(loaded.frames, 11)
        XCTAssertEqual(loaded.saved, loaded.end)
    }
}
