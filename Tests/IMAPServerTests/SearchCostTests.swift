import Foundation
import XCTest

@testable import IMAPServer

/// Issue 11 items 6 and 10, issue 18 (search-addresses): what SEARCH costs and what it
/// finds. Costs are counted by the server's own counters
/// (`ServerContext.searchStatistics`: files read, decoding passes), never timed.
final class SearchCostTests: XCTestCase {
    static let messageCount = 12

    static func message(_ i: Int) -> String {
        """
        From: Sender \(i) <s\(i)@example.org>
        Subject: report \(i)
        MIME-Version: 1.0
        Content-Type: multipart/alternative; boundary=b\(i)

        --b\(i)
        Content-Type: text/plain

        quarterly figures word\(i)
        --b\(i)
        Content-Type: text/html; charset=utf-8
        Content-Transfer-Encoding: base64

        \(Data("<p>annual summary html\(i)</p>".utf8).base64EncodedString())
        --b\(i)--

        """
    }

    func start(messages: Int = messageCount) async throws -> (RunningServer, TestClient) {
        let server = try await startServer()
        for i in 1...messages {
            try server.maildir.deliver(
                "alice", name: "17000\(10_000 + i).M\(i)P1.host:2,S", into: "cur", body: Self.message(i))
        }
        let client = try server.connect()
        try client.login()
        XCTAssertTrue(try client.command("SELECT INBOX").ok)
        return (server, client)
    }

    /// An OR of `keys` (as NOT (NOT k1 NOT k2 …), which stays within the parser's
    /// nesting limit) of TEXT keys, the last `matching` of which match messages 1…
    static func orOfTextKeys(_ keys: Int, matching: [Int]) -> String {
        var parts = (0..<(keys - matching.count)).map { "NOT TEXT n\($0)z" }
        parts += matching.map { "NOT TEXT word\($0)" }
        return "SEARCH NOT (" + parts.joined(separator: " ") + ")"
    }

    func testTheCostOfTextKeysDoesNotGrowWithTheirNumber() async throws {
        let (server, client) = try await start()
        let statistics = server.server.context.searchStatistics
        func cost(_ command: String, expecting: String) throws -> (read: Int, decodes: Int) {
            let read = statistics.messagesRead.load(ordering: .relaxed)
            let decodes = statistics.decodes.load(ordering: .relaxed)
            let reply = try client.command(command)
            XCTAssertTrue(reply.ok, reply.tagged)
            XCTAssertEqual(reply.untagged, [expecting], command)
            return (
                statistics.messagesRead.load(ordering: .relaxed) - read,
                statistics.decodes.load(ordering: .relaxed) - decodes
            )
        }
        let one = try cost("SEARCH TEXT word3", expecting: "* SEARCH 3")
        // The shape of the issue's attack: 3,500 TEXT keys in one OR, a 56 KB line.
        let many = try cost(Self.orOfTextKeys(3_500, matching: [3, 7]), expecting: "* SEARCH 3 7")
        XCTAssertEqual(one.read, Self.messageCount)
        // Headers of every part and body texts: two decoding passes per message.
        XCTAssertEqual(one.decodes, 2 * Self.messageCount)
        XCTAssertEqual(many.read, one.read)
        XCTAssertEqual(many.decodes, one.decodes)
        // Other scopes decode their own text once too, whatever the number of keys:
        // bodies, From, Subject.
        let mixed = try cost(
            "SEARCH BODY annual BODY summary NOT FROM nobody NOT FROM s99@example.org NOT SUBJECT zzz "
                + "NOT SUBJECT yyy",
            expecting: "* SEARCH 1 2 3 4 5 6 7 8 9 10 11 12")
        XCTAssertEqual(mixed.decodes, 3 * Self.messageCount)
    }

    func testASearchBeyondItsLimitsIsRefusedBeforeAnyWork() async throws {
        let (server, client) = try await start(messages: 1)
        let statistics = server.server.context.searchStatistics
        let keys = Array(repeating: "NOT SEEN", count: SearchTextPlan.maxKeys / 2 + 1).joined(separator: " ")
        let tooMany = try client.command("SEARCH TEXT a \(keys)")
        XCTAssertEqual(tooMany.tagged, "T3 NO [LIMIT] Search too complex.")
        let big = String(repeating: "x", count: SearchTextPlan.maxStringBytes + 1)
        client.sendRaw("S1 SEARCH TEXT {\(big.utf8.count)+}\r\n\(big)\r\n")
        XCTAssertEqual(try client.collect(tag: "S1").tagged, "S1 NO [LIMIT] Search too complex.")
        XCTAssertEqual(statistics.messagesRead.load(ordering: .relaxed), 0)
        XCTAssertTrue(try client.command("SEARCH TEXT word1").ok)
    }

    /// A client that gives up (closes its connection) stops its SEARCH: it is held
    /// before its third message until the server saw the close, then reads no more.
    func testADisconnectStopsTheSearch() async throws {
        let (server, client) = try await start(messages: 40)
        let statistics = server.server.context.searchStatistics
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
        client.sendRaw("S1 SEARCH TEXT word40\r\n")
        XCTAssertEqual(reached.wait(timeout: .now() + 10), .success)
        client.disconnect()
        XCTAssertTrue(pollUntil { server.server.openConnections == 0 })
        release.signal()
        XCTAssertTrue(pollUntil { statistics.cancelled.load(ordering: .relaxed) == 1 })
        XCTAssertEqual(statistics.messagesRead.load(ordering: .relaxed), 2)
    }

    /// Issue 18: imaptest search-addresses' message 3.
    func testFromMatchesAnAddressWithCommentsInside() async throws {
        let server = try await startServer()
        try server.maildir.deliver(
            "alice", name: "1700000001.M1P1.host:2,", into: "cur",
            body: "From: <user-from (comment)@ (comment) domain.org>\nTo: <user-to@domain.org>\n\nbody3\n")
        try server.maildir.deliver(
            "alice", name: "1700000002.M2P1.host:2,", into: "cur",
            body: "From: user-from@domain.org (RealFrom)\n\nbody4\n")
        let client = try server.connect()
        try client.login()
        XCTAssertTrue(try client.command("SELECT INBOX").ok)
        XCTAssertEqual(try client.command("SEARCH FROM user-from@domain.org").untagged, ["* SEARCH 1 2"])
        XCTAssertEqual(try client.command("SEARCH FROM realfrom").untagged, ["* SEARCH 2"])
        XCTAssertEqual(try client.command("SEARCH TO user-to@domain.org").untagged, ["* SEARCH 1"])
        XCTAssertEqual(try client.command("SEARCH FROM \"\"").untagged, ["* SEARCH 1 2"])
        XCTAssertEqual(try client.command("SEARCH CC \"\"").untagged, ["* SEARCH"])
    }

    /// Issue 11 item 10: text nested 150 MIME levels deep is beyond the parser's 100
    /// levels, yet FETCH returns it (as the body of the deepest part it opened), so
    /// SEARCH finds it too.
    func testTextNested150LevelsDeepIsFound() async throws {
        let server = try await startServer()
        var message = "From: a@example.org\nSubject: deep\n"
        for level in 0..<150 {
            message += "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"l\(level)x\"\n\n--l\(level)x\n"
        }
        message += "Content-Type: text/plain\n\nthe treasure is here\n"
        for level in (0..<150).reversed() { message += "--l\(level)x--\n" }
        try server.maildir.deliver("alice", name: "1700000001.M1P1.host:2,", into: "cur", body: message)
        let client = try server.connect()
        try client.login()
        XCTAssertTrue(try client.command("SELECT INBOX").ok)
        let fetch = try client.command("FETCH 1 (BODY.PEEK[TEXT])")
        XCTAssertTrue(String(decoding: fetch.literals.first ?? [], as: UTF8.self).contains("treasure"))
        XCTAssertEqual(try client.command("SEARCH BODY treasure").untagged, ["* SEARCH 1"])
        XCTAssertEqual(try client.command("SEARCH TEXT treasure").untagged, ["* SEARCH 1"])
        XCTAssertEqual(try client.command("SEARCH BODY absent").untagged, ["* SEARCH"])
    }
}

/// A thread-safe counter for hooks called from the server's threads.
final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0

    /// The new value.
    func increment() -> Int {
        lock.lock()
        defer { lock.unlock() }
        value += 1
        return value
    }
}
