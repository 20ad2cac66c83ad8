import Foundation
import XCTest

@testable import IMAPServer

/// End to end over a socket: SORT with every key (RFC 5256 §3, RFC 5957), UID SORT,
/// ESORT (RFC 5267), THREAD with each algorithm and UID THREAD, charsets as SEARCH
/// takes them, and the costs and cancellation SEARCH has.
final class SortThreadTests: XCTestCase {
    /// Mailbox order after the first message ("gone") is expunged: sequence number n
    /// has UID n + 1. INTERNALDATE is the file's mtime.
    static let messages: [(mtime: TimeInterval, text: String)] = [
        (100, "Subject: gone\n\nx\n"),
        (
            1000,
            "From: \"Zed\" <alice@example.org>\nTo: bob@example.org\nCc: carol@example.org\nSubject: Re: Lunch\n"
                + "Date: Mon, 2 Jan 2023 10:00:00 +0000\nMessage-ID: <2@x>\nIn-Reply-To: <1@x>\n\nok\n"
        ),
        (
            3000,
            "From: bob@example.org\nTo: \"Alpha\" <zed@example.org>\nSubject: lunch\n"
                + "Date: Sun, 1 Jan 2023 09:00:00 +0000\nMessage-ID: <1@x>\n\nwho is in\n"
        ),
        (
            500,
            "From: \"Carol\" <Carol@example.org>\nTo: alice@example.org\nSubject: [team] Budget\n"
                + "Message-ID: <3@x>\n\nnumbers attached\n"
        ),
        (
            2000,
            "From: dave@example.org\nSubject: Re: budget\nDate: Tue, 3 Jan 2023 08:00:00 -0500\n"
                + "Message-ID: <4@x>\nReferences: <3@x>\n\nthanks\n"
        ),
        (
            1500,
            "From: alice@example.org\nSubject: lunch\nDate: Tue, 3 Jan 2023 12:00:00 +0000\n"
                + "Message-ID: <5@x>\nReferences: <1@x> <2@x>\n\nagain\n"
        ),
    ]

    func start() async throws -> (RunningServer, TestClient) {
        let server = try await startServer()
        for (index, message) in Self.messages.enumerated() {
            try server.maildir.deliver(
                "alice", name: "17000000\(index + 10).M\(index)P1.host:2,", into: "cur", body: message.text,
                mtime: message.mtime)
        }
        let client = try server.connect()
        try client.login()
        XCTAssertTrue(try client.command("SELECT INBOX").ok)
        XCTAssertTrue(try client.command("STORE 1 +FLAGS (\\Deleted)").ok)
        XCTAssertTrue(try client.command("EXPUNGE").ok)
        return (server, client)
    }

    /// `* ESEARCH (TAG "T7") …` → `* ESEARCH (TAG) …`.
    func untag(_ lines: [String]) -> [String] {
        lines.map { line in
            guard let open = line.range(of: "(TAG \""), let close = line[open.upperBound...].firstIndex(of: ")")
            else { return line }
            return line.replacingCharacters(in: open.lowerBound...close, with: "(TAG)")
        }
    }

    func answer(_ client: TestClient, _ command: String, file: StaticString = #filePath, line: UInt = #line) throws
        -> [String]
    {
        let reply = try client.command(command)
        XCTAssertTrue(reply.ok, "\(command): \(reply.tagged)", file: file, line: line)
        return reply.untagged
    }

    func testCapabilities() async throws {
        let (_, client) = try await start()
        let caps = try answer(client, "CAPABILITY").first ?? ""
        for name in ["SORT", "SORT=DISPLAY", "ESORT", "THREAD=ORDEREDSUBJECT", "THREAD=REFERENCES", "THREAD=REFS"] {
            XCTAssertTrue(caps.contains(" \(name) ") || caps.hasSuffix(" \(name)"), "\(name) in \(caps)")
        }
    }

    func testEverySortKey() async throws {
        let (_, client) = try await start()
        // DATE: message 3 has no Date:, so its INTERNALDATE (1970) counts; 4 is
        // 13:00 UTC, after 5's 12:00.
        XCTAssertEqual(try answer(client, "SORT (DATE) UTF-8 ALL"), ["* SORT 3 2 1 5 4"])
        XCTAssertEqual(try answer(client, "SORT (REVERSE DATE) UTF-8 ALL"), ["* SORT 4 5 1 2 3"])
        XCTAssertEqual(try answer(client, "SORT (ARRIVAL) UTF-8 ALL"), ["* SORT 3 1 5 4 2"])
        // Base subjects BUDGET (3 4) and LUNCH (1 2 5); ties in mailbox order.
        XCTAssertEqual(try answer(client, "SORT (SUBJECT) UTF-8 ALL"), ["* SORT 3 4 1 2 5"])
        XCTAssertEqual(try answer(client, "SORT (SUBJECT DATE) UTF-8 ALL"), ["* SORT 3 4 2 1 5"])
        XCTAssertEqual(try answer(client, "SORT (SUBJECT REVERSE DATE) UTF-8 ALL"), ["* SORT 4 3 5 1 2"])
        // Local parts, case-insensitively: ALICE ALICE BOB CAROL DAVE.
        XCTAssertEqual(try answer(client, "SORT (FROM) UTF-8 ALL"), ["* SORT 1 5 2 3 4"])
        XCTAssertEqual(try answer(client, "SORT (REVERSE FROM) UTF-8 ALL"), ["* SORT 4 3 2 1 5"])
        // No To: or Cc: sorts first.
        XCTAssertEqual(try answer(client, "SORT (TO) UTF-8 ALL"), ["* SORT 4 5 3 1 2"])
        XCTAssertEqual(try answer(client, "SORT (CC) UTF-8 ALL"), ["* SORT 2 3 4 5 1"])
        // Display names, else the address: alice@… bob@… Carol dave@… Zed.
        XCTAssertEqual(try answer(client, "SORT (DISPLAYFROM) UTF-8 ALL"), ["* SORT 5 2 3 4 1"])
        XCTAssertEqual(try answer(client, "SORT (DISPLAYTO) UTF-8 ALL"), ["* SORT 4 5 3 2 1"])
        // SIZE against the sizes FETCH reports.
        let sizes = try answer(client, "FETCH 1:* (RFC822.SIZE)").map { line -> (Int, Int) in
            let parts = line.split(separator: " ")
            return (Int(parts[1]) ?? 0, Int(parts[4].dropLast()) ?? 0)
        }
        let bySize = sizes.sorted { $0.1 != $1.1 ? $0.1 < $1.1 : $0.0 < $1.0 }.map { String($0.0) }
        XCTAssertEqual(try answer(client, "SORT (SIZE) UTF-8 ALL"), ["* SORT " + bySize.joined(separator: " ")])
    }

    func testSearchCriteriaUIDSortAndESort() async throws {
        let (_, client) = try await start()
        XCTAssertEqual(try answer(client, "SORT (DATE) UTF-8 SUBJECT lunch"), ["* SORT 2 1 5"])
        XCTAssertEqual(try answer(client, "SORT (DATE) US-ASCII SUBJECT nothing"), ["* SORT"])
        XCTAssertEqual(try answer(client, "UID SORT (DATE) UTF-8 ALL"), ["* SORT 4 3 2 6 5"])
        XCTAssertEqual(try answer(client, "UID SORT (DATE) UTF-8 TEXT thanks"), ["* SORT 5"])
        // MIN and MAX are the first and last in sort order; ALL keeps that order, with
        // only ascending runs as ranges (a range is a set, so "3:2" could be read as
        // 2,3).
        let esort = try answer(client, "UID SORT RETURN (MIN MAX COUNT ALL) (DATE) UTF-8 ALL")
        XCTAssertEqual(untag(esort), ["* ESEARCH (TAG) UID MIN 4 MAX 5 COUNT 5 ALL 4,3,2,6,5"])
        XCTAssertEqual(
            untag(try answer(client, "SORT RETURN () (REVERSE ARRIVAL) UTF-8 ALL")),
            ["* ESEARCH (TAG) ALL 2,4:5,1,3"])
        XCTAssertEqual(
            untag(try answer(client, "SORT RETURN (COUNT) (DATE) UTF-8 SUBJECT nothing")),
            ["* ESEARCH (TAG) COUNT 0"])
        // SEARCHRES (RFC 5182) with ESORT: SAVE alone answers nothing and saves every
        // match; with MIN only, the first in sort order.
        XCTAssertEqual(try answer(client, "UID SORT RETURN (SAVE) (DATE) UTF-8 SUBJECT lunch"), [])
        XCTAssertEqual(try answer(client, "SEARCH $"), ["* SEARCH 1 2 5"])
        XCTAssertEqual(
            untag(try answer(client, "UID SORT RETURN (SAVE MIN) (DATE) UTF-8 SUBJECT lunch")),
            ["* ESEARCH (TAG) UID MIN 3"])
        XCTAssertEqual(try answer(client, "UID SEARCH $"), ["* SEARCH 3"])
        // ISO-8859-1 strings are converted as SEARCH converts them; an unknown
        // charset is NO [BADCHARSET].
        client.sendRaw("L1 SORT (DATE) ISO-8859-1 SUBJECT {5+}\r\nlunch\r\n")
        XCTAssertEqual(try client.collect(tag: "L1").untagged, ["* SORT 2 1 5"])
        let bad = try client.command("SORT (DATE) X-NO-SUCH-CHARSET ALL")
        XCTAssertTrue(bad.tagged.contains("NO [BADCHARSET"), bad.tagged)
        let malformed = try client.command("SORT (DATE ALL")
        XCTAssertTrue(malformed.tagged.contains(" BAD "), malformed.tagged)
    }

    func testThreadAlgorithms() async throws {
        let (_, client) = try await start()
        XCTAssertEqual(try answer(client, "THREAD REFERENCES UTF-8 ALL"), ["* THREAD (3 4)(2 1 5)"])
        XCTAssertEqual(try answer(client, "UID THREAD REFERENCES UTF-8 ALL"), ["* THREAD (4 5)(3 2 6)"])
        XCTAssertEqual(try answer(client, "THREAD ORDEREDSUBJECT UTF-8 ALL"), ["* THREAD (3 4)(2 (1)(5))"])
        XCTAssertEqual(try answer(client, "UID THREAD ORDEREDSUBJECT UTF-8 ALL"), ["* THREAD (4 5)(3 (2)(6))"])
        // REFS: the thread with the newest message (4, 13:00 UTC) last.
        XCTAssertEqual(try answer(client, "THREAD REFS UTF-8 ALL"), ["* THREAD (2 1 5)(3 4)"])
        // Only matching messages are threaded: 1's parent 2 is left out, 5 is then
        // under 1 (its last reference), and 1 is a root.
        XCTAssertEqual(try answer(client, "THREAD REFERENCES UTF-8 NOT FROM bob"), ["* THREAD (3 4)(1 5)"])
        XCTAssertEqual(try answer(client, "THREAD REFERENCES UTF-8 SUBJECT nothing"), ["* THREAD"])
    }

    /// As SEARCH: each message file is read once however many keys need it; once
    /// read, a message's sort fields come from the parsed-message cache (a second SORT
    /// or THREAD opens no file, unless a content key needs the text); and a client
    /// that goes away stops its THREAD (held before its third read until the server
    /// saw the close, it reads no more).
    func testCostAndCancellation() async throws {
        let (server, client) = try await start()
        let statistics = server.server.context.searchStatistics
        let before = statistics.messagesRead.load(ordering: .relaxed)
        XCTAssertEqual(
            try answer(client, "SORT (SUBJECT FROM DATE) UTF-8 OR TEXT lunch BODY numbers"), ["* SORT 3 1 5 2"])
        XCTAssertEqual(statistics.messagesRead.load(ordering: .relaxed) - before, 5)
        XCTAssertEqual(try answer(client, "SORT (DISPLAYTO) UTF-8 ALL"), ["* SORT 4 5 3 2 1"])
        XCTAssertEqual(try answer(client, "THREAD REFERENCES UTF-8 ALL"), ["* THREAD (3 4)(2 1 5)"])
        XCTAssertEqual(statistics.messagesRead.load(ordering: .relaxed) - before, 5)
        XCTAssertEqual(try answer(client, "SORT (DATE) UTF-8 BODY numbers"), ["* SORT 3"])
        XCTAssertEqual(statistics.messagesRead.load(ordering: .relaxed) - before, 10)

        let reached = DispatchSemaphore(value: 0)
        let release = DispatchSemaphore(value: 0)
        let calls = Counter()
        statistics.beforeRead.withLock {
            $0 = SearchStatistics.Hook {
                guard calls.increment() == 3 else { return }
                reached.signal()
                _ = release.wait(timeout: .now() + 30)
            }
        }
        defer { statistics.beforeRead.withLock { $0 = nil } }
        let readBefore = statistics.messagesRead.load(ordering: .relaxed)
        client.sendRaw("S1 THREAD REFERENCES UTF-8 NOT BODY zzz\r\n")
        XCTAssertEqual(reached.wait(timeout: .now() + 10), .success)
        client.disconnect()
        XCTAssertTrue(pollUntil { server.server.openConnections == 0 })
        release.signal()
        XCTAssertTrue(pollUntil { statistics.cancelled.load(ordering: .relaxed) == 1 })
        XCTAssertEqual(statistics.messagesRead.load(ordering: .relaxed) - readBefore, 2)
    }

    /// RFC 5032 WITHIN: INTERNALDATEs an hour and a day old against OLDER and
    /// YOUNGER of a few minutes and of twelve hours (margins far beyond the test's
    /// run time).
    func testWithin() async throws {
        let server = try await startServer()
        let now = Date().timeIntervalSince1970
        for (index, age) in [86_400.0, 60, 3_600].enumerated() {
            try server.maildir.deliver(
                "alice", name: "17000000\(index + 10).M\(index)P1.host:2,", into: "cur",
                body: "Subject: \(index)\n\nx\n",
                mtime: now - age)
        }
        let client = try server.connect()
        try client.login()
        XCTAssertTrue(try client.command("SELECT INBOX").ok)
        let caps = try answer(client, "CAPABILITY").first ?? ""
        XCTAssertTrue(caps.contains(" WITHIN"), caps)
        XCTAssertEqual(try answer(client, "SEARCH OLDER 600"), ["* SEARCH 1 3"])
        XCTAssertEqual(try answer(client, "SEARCH YOUNGER 600"), ["* SEARCH 2"])
        XCTAssertEqual(try answer(client, "SEARCH OLDER 43200"), ["* SEARCH 1"])
        XCTAssertEqual(try answer(client, "SEARCH YOUNGER 43200 NOT YOUNGER 600"), ["* SEARCH 3"])
        XCTAssertEqual(try answer(client, "SORT (REVERSE ARRIVAL) UTF-8 YOUNGER 43200"), ["* SORT 2 3"])
        let bad = try client.command("SEARCH OLDER 0")
        XCTAssertTrue(bad.tagged.contains(" BAD "), bad.tagged)
    }

    /// What one message may make SORT and THREAD keep is capped: a subject of 100 KB
    /// is compared on its first `SortFields.maxTextBytes`, and of a 200 KB References
    /// only the tail is kept, which still names the parent.
    func testHostileHeadersAreBounded() async throws {
        let server = try await startServer()
        let longRefs = (0..<8_000).map { "<r\($0)@flood.example>" }.joined(separator: " ")
        let bodies = [
            "Subject: b\nMessage-ID: <p@x>\n\nparent\n",
            "Subject: " + String(repeating: "a", count: 100_000) + "z\nMessage-ID: <c@x>\nReferences: "
                + longRefs + " <p@x>\n\nchild\n",
            "Subject: " + String(repeating: "a", count: 100_000) + "y\n\nother\n",
        ]
        for (index, body) in bodies.enumerated() {
            try server.maildir.deliver(
                "alice", name: "17000000\(index + 10).M\(index)P1.host:2,", into: "cur", body: body)
        }
        let client = try server.connect()
        try client.login()
        XCTAssertTrue(try client.command("SELECT INBOX").ok)
        XCTAssertGreaterThan(longRefs.utf8.count, 8 * SortFields.maxReferencesBytes)
        XCTAssertEqual(try answer(client, "THREAD REFERENCES UTF-8 ALL"), ["* THREAD (1 2)(3)"])
        // 2 and 3 differ only after the first 2,048 bytes: equal keys, mailbox order.
        XCTAssertEqual(try answer(client, "SORT (REVERSE SUBJECT) UTF-8 ALL"), ["* SORT 1 2 3"])
    }

    func testTrimmingKeepsWholeCharactersAndTheLastReferences() {
        let text = String(repeating: "é", count: SortFields.maxTextBytes)
        let kept = SortFields.prefix(text)
        XCTAssertEqual(kept.utf8.count, SortFields.maxTextBytes)
        XCTAssertTrue(kept.allSatisfy { $0 == "é" })
        let refs = Array(("<a@b> " + String(repeating: "x", count: SortFields.maxReferencesBytes) + " <last@b>").utf8)
        XCTAssertEqual(String(decoding: SortFields.lastReferences(refs), as: UTF8.self), "<last@b>")
    }

    /// A SORT held in the middle of its reads (as a huge folder would keep it busy)
    /// leaves other users served: bob logs in, selects, fetches and searches meanwhile;
    /// then the SORT finishes with the right answer. A SORT beyond SEARCH's limits is
    /// refused before any read.
    func testASortInProgressDoesNotStallOthers() async throws {
        let (server, client) = try await start()
        try server.maildir.deliver("bob", name: "1700000100.M1P1.host:2,", into: "cur", body: "Subject: hi\n\nx\n")
        let statistics = server.server.context.searchStatistics
        let keys = Array(repeating: "NOT SEEN", count: SearchTextPlan.maxKeys / 2 + 1).joined(separator: " ")
        let refused = try client.command("SORT (DATE) UTF-8 TEXT a \(keys)")
        XCTAssertTrue(refused.tagged.contains("NO [LIMIT]"), refused.tagged)
        XCTAssertEqual(statistics.messagesRead.load(ordering: .relaxed), 0)

        let reached = DispatchSemaphore(value: 0)
        let release = DispatchSemaphore(value: 0)
        let calls = Counter()
        statistics.beforeRead.withLock {
            $0 = SearchStatistics.Hook {
                guard calls.increment() == 3 else { return }
                reached.signal()
                _ = release.wait(timeout: .now() + 30)
            }
        }
        defer { statistics.beforeRead.withLock { $0 = nil } }
        client.sendRaw("S1 SORT (SUBJECT) UTF-8 ALL\r\n")
        XCTAssertEqual(reached.wait(timeout: .now() + 10), .success)
        let bob = try server.connect()
        try bob.login("bob", "hunter2")
        XCTAssertTrue(try bob.command("SELECT INBOX").ok)
        XCTAssertTrue(try bob.command("FETCH 1 (ENVELOPE)").ok)
        XCTAssertEqual(try answer(bob, "SEARCH SUBJECT hi"), ["* SEARCH 1"])
        release.signal()
        XCTAssertEqual(try client.collect(tag: "S1").untagged, ["* SORT 3 4 1 2 5"])
    }
}
