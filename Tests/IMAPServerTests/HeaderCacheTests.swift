import Foundation
import MailMessage
import MaildirStore
import XCTest

@testable import IMAPServer

#if canImport(Glibc)
    import Glibc
#endif

/// The persistent header cache of SORT and THREAD (HeaderCache/): after a restart a
/// complete cache answers without opening a message file; changes made while the server
/// was down, damage and planted files give the answers the Maildir gives.
final class HeaderCacheTests: XCTestCase {
    static let commands = [
        "UID SORT (REVERSE DATE) UTF-8 ALL", "UID SORT (DATE) UTF-8 ALL", "UID SORT (SUBJECT FROM) UTF-8 ALL",
        "UID SORT (DISPLAYTO CC REVERSE DISPLAYFROM) UTF-8 ALL", "UID THREAD REFERENCES UTF-8 ALL",
        "UID THREAD ORDEREDSUBJECT UTF-8 ALL", "UID THREAD REFS UTF-8 ALL",
    ]

    /// Message `index`: threads of three by References, every fifth without Date:
    /// (sorted by INTERNALDATE), subjects with and without "Re:".
    static func message(_ index: Int) -> String {
        var text = "From: \"Sender \(index % 7)\" <s\(index % 7)@example.org>\nTo: r\(index % 4)@example.org\n"
        if index % 3 == 0 { text += "Cc: c\(index % 5)@example.org\n" }
        text += "Subject: \(index % 3 == 0 ? "" : "Re: ")topic \(index / 3)\n"
        if index % 5 != 0 { text += "Date: Mon, \(1 + index % 27) Feb 2023 10:\(10 + index % 40):00 +0000\n" }
        text += "Message-ID: <m\(index)@example.org>\n"
        if index % 3 != 0 { text += "References: <m\(index - index % 3)@example.org>\n" }
        return text + "\nbody \(index)\n"
    }

    func deliver(_ server: RunningServer, _ range: Range<Int>) throws {
        try server.deliverNumbered(range, Self.message) { TimeInterval(1_600_000_000 + ($0 * 7919) % 1000) }
    }

    func answers(port: Int, _ commands: [String] = HeaderCacheTests.commands) throws -> [[String]] {
        try untaggedAnswers(port: port, open: "SELECT INBOX", commands)
    }

    func messagesRead(_ server: IMAPServer) -> Int {
        server.context.searchStatistics.messagesRead.load(ordering: .relaxed)
    }

    var inbox: (RunningServer) -> String { { $0.maildir.root + "/alice" } }

    /// The answers a server without a header cache gives for the spool as it is now.
    func truth(_ first: RunningServer, _ commands: [String] = HeaderCacheTests.commands) async throws -> [[String]] {
        try await truthWithoutCaches(first, open: "SELECT INBOX", commands)
    }

    func testRestartWithACompleteCacheOpensNoMessageFile() async throws {
        let first = try await startServer()
        try deliver(first, 0..<40)
        let before = try answers(port: first.port)
        XCTAssertEqual(messagesRead(first.server), 40)
        for name in [HeaderCacheNames.dates, HeaderCacheNames.headers] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: inbox(first) + "/" + name), name)
        }
        let (second, port) = try await restartServer(first)
        XCTAssertEqual(try answers(port: port), before)
        XCTAssertEqual(messagesRead(second), 0)
        await second.shutdown()
        let reference = try await truth(first)
        XCTAssertEqual(before, reference)
    }

    /// Added, expunged and replaced messages while the server was down; then a
    /// dovecot-uidlist removed (a new UIDVALIDITY: the cache is started again).
    func testChangesWhileTheServerWasDownAreSeen() async throws {
        let first = try await startServer()
        try deliver(first, 0..<30)
        _ = try answers(port: first.port)
        await first.stop()
        let cur = inbox(first) + "/cur/"
        try FileManager.default.removeItem(atPath: cur + "1700000105.M5P1.host:2,")
        // "Edited" by a mail reader: the old file removed, the new text under a new name.
        try FileManager.default.removeItem(atPath: cur + "1700000107.M7P1.host:2,")
        try first.maildir.deliver(
            "alice", name: "1700000999.M7edit.host:2,", into: "cur",
            body: Self.message(7).replacingOccurrences(of: "topic 2", with: "aardvark"), mtime: 1_600_000_100)
        try deliver(first, 30..<33)
        let (second, port) = try await restartServer(first)
        let after = try answers(port: port)
        XCTAssertEqual(messagesRead(second), 4)
        await second.shutdown()
        let afterTruth = try await truth(first)
        XCTAssertEqual(after, afterTruth)

        try FileManager.default.removeItem(atPath: inbox(first) + "/dovecot-uidlist")
        let (third, thirdPort) = try await restartServer(first)
        let thirdAnswers = try answers(port: thirdPort)
        await third.shutdown()
        let thirdTruth = try await truth(first)
        XCTAssertEqual(thirdAnswers, thirdTruth)
        XCTAssertEqual(messagesRead(third), 32)
    }

    /// A tail torn in the middle of a frame and a byte flipped inside one: the damaged
    /// frames are dropped, their messages read again, and the file is whole afterwards.
    func testTornAndCorruptFilesAreRebuilt() async throws {
        let first = try await startServer()
        try deliver(first, 0..<20)
        _ = try answers(port: first.port)
        try deliver(first, 20..<25)
        let expected = try answers(port: first.port)
        await first.stop()
        let headers = inbox(first) + "/" + HeaderCacheNames.headers
        let dates = inbox(first) + "/" + HeaderCacheNames.dates
        let size = try XCTUnwrap(FileManager.default.attributesOfItem(atPath: headers)[.size] as? Int)
        XCTAssertEqual(truncate(headers, off_t(size - 7)), 0)
        var bytes = try XCTUnwrap(FileManager.default.contents(atPath: dates))
        bytes[HeaderCacheFormat.headerSize + HeaderCacheFormat.frameHeaderSize + 3] ^= 0x40
        try bytes.write(to: URL(fileURLWithPath: dates))

        let (second, port) = try await restartServer(first)
        XCTAssertEqual(try answers(port: port), expected)
        // The torn frame held the last five; the flipped byte was in the first frame
        // of the dates file, so a date-only SORT read all 25 again.
        XCTAssertEqual(messagesRead(second), 25)
        for (path, kind) in [(headers, HeaderCacheFormat.Kind.headers), (dates, .dates)] {
            let data = try XCTUnwrap(FileManager.default.contents(atPath: path))
            let contents = try XCTUnwrap(HeaderCacheFormat.decode(kind, Array(data)))
            XCTAssertEqual(contents.validEnd, data.count, path)
        }
        let (third, thirdPort) = try await restartServer(first)
        XCTAssertEqual(try answers(port: thirdPort), expected)
        XCTAssertEqual(messagesRead(third), 0)
    }

    /// A symlink and a FIFO at the cache's paths are neither followed nor read, nor
    /// replaced: the answers are the Maildir's.
    func testPlantedSymlinkAndFIFOAreIgnored() async throws {
        let first = try await startServer()
        try deliver(first, 0..<10)
        let target = try first.plantSymlinkAndFIFO(
            symlinkName: HeaderCacheNames.headers, fifoName: HeaderCacheNames.dates)
        let expected = try answers(port: first.port)
        XCTAssertEqual(try String(contentsOfFile: target, encoding: .utf8), "precious")
        let reference = try await truth(first)
        XCTAssertEqual(expected, reference)
    }

    /// More stale entries than 2 × messages + 1024: the next append rewrites each file
    /// with the folder's messages only.
    func testExpungedEntriesAreDroppedByCompaction() async throws {
        let server = try await startServer()
        try deliver(server, 0..<1100)
        let client = try server.connect()
        try client.login()
        XCTAssertTrue(try client.command("SELECT INBOX").ok)
        XCTAssertTrue(try client.command("UID SORT (SUBJECT) UTF-8 ALL").ok)
        let cache = try XCTUnwrap(server.server.context.headerCache)
        XCTAssertEqual(cache.compactions.load(ordering: .relaxed), 0)
        try server.leaveElevenMessages(client) { try deliver(server, 1100..<1101) }
        let sorted = try client.command("UID SORT (SUBJECT) UTF-8 ALL")
        XCTAssertTrue(sorted.ok)
        XCTAssertEqual(cache.compactions.load(ordering: .relaxed), 2)
        let headers = try XCTUnwrap(
            FileManager.default.contents(atPath: inbox(server) + "/" + HeaderCacheNames.headers))
        let contents = try XCTUnwrap(HeaderCacheFormat.decode(.headers, Array(headers)))
        XCTAssertEqual(contents.entries.count, 11)
        XCTAssertEqual(contents.validEnd, headers.count)
        let dates = try XCTUnwrap(FileManager.default.contents(atPath: inbox(server) + "/" + HeaderCacheNames.dates))
        XCTAssertEqual(HeaderCacheFormat.decode(.dates, Array(dates))?.entries.count, 11)
        let after = try answers(port: server.port)
        let reference = try await truth(server)
        XCTAssertEqual(after, reference)
    }

    /// A compaction in the middle of a THREAD starts the cache's threading table
    /// again: the keys of the slices before it are numbers of the old table, so the
    /// messages are collected again, and the answer is the Maildir's.
    func testCompactionDuringAThreadCollectsAgain() async throws {
        let server = try await startServer()
        try deliver(server, 0..<1300)
        let client = try server.connect()
        try client.login()
        XCTAssertTrue(try client.command("SELECT INBOX").ok)
        XCTAssertTrue(try client.command("UID THREAD REFERENCES UTF-8 ALL").ok)
        XCTAssertTrue(try client.command("STORE 11:* +FLAGS.SILENT (\\Deleted)").ok)
        XCTAssertTrue(try client.command("EXPUNGE").ok)
        // 110 messages, 10 cached. The first slice (SearchJob.contentSlice) reads 54
        // and appends them: 1,354 entries, over 2 × 110 + 1,024, so the file is
        // compacted before the second slice looks up its messages.
        try deliver(server, 1300..<1400)
        XCTAssertTrue(try client.command("NOOP").ok)
        let cache = try XCTUnwrap(server.server.context.headerCache)
        let statistics = server.server.context.searchStatistics
        XCTAssertEqual(cache.compactions.load(ordering: .relaxed), 0)
        let threaded = try client.command("UID THREAD REFERENCES UTF-8 ALL")
        XCTAssertTrue(threaded.ok)
        // Both files, dates and headers.
        XCTAssertEqual(cache.compactions.load(ordering: .relaxed), 2)
        XCTAssertEqual(statistics.collectionRestarts.load(ordering: .relaxed), 1)
        let reference = try await truth(server)
        XCTAssertEqual(threaded.untagged, reference[Self.commands.firstIndex(of: "UID THREAD REFERENCES UTF-8 ALL")!])
    }

    /// At most `maxFolders` folders are held in memory; one dropped is read from its
    /// files again when used again.
    func testFoldersInMemoryAreBounded() async throws {
        let count = HeaderCache.maxFolders + 2
        let server = try await startServer()
        try server.maildir.makeUser("alice", folders: (0..<count).map { "f\($0)" })
        for n in 0..<count {
            try server.maildir.deliver(
                "alice", folder: "f\(n)", name: "1700000000.M\(n)P1.host:2,", into: "cur", body: Self.message(n))
        }
        let client = try server.connect()
        try client.login()
        let cache = try XCTUnwrap(server.server.context.headerCache)
        for n in 0..<count {
            XCTAssertTrue(try client.command("SELECT f\(n)").ok)
            XCTAssertEqual(try client.command("UID SORT (SUBJECT) UTF-8 ALL").untagged, ["* SORT 1"])
        }
        XCTAssertEqual(cache.folderCount, HeaderCache.maxFolders)
        let loads = cache.fileLoads.load(ordering: .relaxed)
        let read = messagesRead(server.server)
        XCTAssertTrue(try client.command("SELECT f0").ok)
        XCTAssertEqual(try client.command("UID SORT (SUBJECT) UTF-8 ALL").untagged, ["* SORT 1"])
        XCTAssertEqual(cache.fileLoads.load(ordering: .relaxed), loads + 1)
        XCTAssertEqual(messagesRead(server.server), read)
    }

    // MARK: The thread file

    /// THREADs first, so that the folder's headers table is read for THREAD alone;
    /// then a SORT that needs the texts.
    static let threadFirst = [
        "UID THREAD REFERENCES UTF-8 ALL", "UID THREAD REFS UTF-8 ALL", "UID THREAD ORDEREDSUBJECT UTF-8 ALL",
        "UID SORT (SUBJECT FROM) UTF-8 ALL",
    ]

    func threadFileLoads(_ server: IMAPServer) -> Int {
        server.context.headerCache?.threadFileLoads.load(ordering: .relaxed) ?? -1
    }

    /// A large folder's THREAD keys are saved at shutdown; the next start's THREAD
    /// reads them, opens no message file and answers as the Maildir holds. Messages
    /// delivered while the server was down are read and numbered after the saved ones.
    func testThreadFileIsReadAfterARestart() async throws {
        let first = try await startServer()
        try deliver(first, 0..<1010)
        _ = try answers(port: first.port)
        let (second, port) = try await restartServer(first)
        XCTAssertTrue(FileManager.default.fileExists(atPath: inbox(first) + "/" + HeaderCacheNames.threads))
        let restarted = try answers(port: port, Self.threadFirst)
        XCTAssertEqual(threadFileLoads(second), 1)
        // The memory budget counts THREAD's tables beside the files.
        let files = try [HeaderCacheNames.dates, HeaderCacheNames.headers].reduce(0) { sum, name in
            sum
                + (try XCTUnwrap(FileManager.default.attributesOfItem(atPath: inbox(first) + "/" + name)[.size] as? Int))
        }
        XCTAssertGreaterThan(second.context.headerCache?.heldBytes ?? 0, files + 1010 * 24)
        XCTAssertEqual(messagesRead(second), 0)
        await second.shutdown()
        let reference = try await truth(first, Self.threadFirst)
        XCTAssertEqual(restarted, reference)

        try deliver(first, 1010..<1020)
        let (third, thirdPort) = try await restartServer(first)
        let grown = try answers(port: thirdPort, Self.threadFirst)
        XCTAssertEqual(threadFileLoads(third), 1)
        XCTAssertEqual(messagesRead(third), 10)
        await third.shutdown()
        let grownReference = try await truth(first, Self.threadFirst)
        XCTAssertEqual(grown, grownReference)
    }

    /// A thread file with a changed byte, or one written for another state of the
    /// headers file (here: its mtime moved on), is not used; the keys are derived
    /// again and a whole thread file written. A symlink planted at its path is
    /// neither followed nor written through.
    func testDamagedStaleOrPlantedThreadFileIsNotUsed() async throws {
        let first = try await startServer()
        try deliver(first, 0..<1005)
        let expected = try answers(port: first.port, Self.threadFirst)
        await first.stop()
        let path = inbox(first) + "/" + HeaderCacheNames.threads
        let headers = inbox(first) + "/" + HeaderCacheNames.headers
        var bytes = try XCTUnwrap(FileManager.default.contents(atPath: path))
        XCTAssertNotNil(ThreadCacheFormat.decode(Array(bytes)))
        bytes[bytes.count / 2] ^= 0x10
        try bytes.write(to: URL(fileURLWithPath: path))
        let (second, port) = try await restartServer(first)
        XCTAssertEqual(try answers(port: port, Self.threadFirst), expected)
        XCTAssertEqual(threadFileLoads(second), 0)
        XCTAssertEqual(messagesRead(second), 0)
        await second.shutdown()
        XCTAssertNotNil(ThreadCacheFormat.decode(Array(try XCTUnwrap(FileManager.default.contents(atPath: path)))))

        var times = [timespec(tv_sec: 1_000_000_000, tv_nsec: 0), timespec(tv_sec: 1_000_000_000, tv_nsec: 0)]
        XCTAssertEqual(utimensat(AT_FDCWD, headers, &times, 0), 0)
        let (third, thirdPort) = try await restartServer(first)
        XCTAssertEqual(try answers(port: thirdPort, Self.threadFirst), expected)
        XCTAssertEqual(threadFileLoads(third), 0)
        await third.shutdown()

        let target = first.maildir.root + "/elsewhere"
        XCTAssertTrue(FileManager.default.createFile(atPath: target, contents: Data("precious".utf8)))
        XCTAssertEqual(unlink(path), 0)
        XCTAssertEqual(symlink(target, path), 0)
        let (fourth, fourthPort) = try await restartServer(first)
        XCTAssertEqual(try answers(port: fourthPort, Self.threadFirst), expected)
        XCTAssertEqual(threadFileLoads(fourth), 0)
        await fourth.shutdown()
        XCTAssertEqual(try String(contentsOfFile: target, encoding: .utf8), "precious")
        XCTAssertNotNil(ThreadCacheFormat.decode(Array(try XCTUnwrap(FileManager.default.contents(atPath: path)))))
        let reference = try await truth(first, Self.threadFirst)
        XCTAssertEqual(expected, reference)
    }
}
