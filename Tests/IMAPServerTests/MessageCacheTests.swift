import Foundation
import XCTest

@testable import IMAPServer

/// End to end: the server's cache of parsed messages (issue 3 item 4). Parse counts
/// come from the cache's own counter (`ParsedMessageCache.statistics.parses`, one per
/// MIME parse of a message file), so nothing here depends on timing.
final class MessageCacheTests: XCTestCase {
    static let listFetch = "UID FETCH 1:* (FLAGS ENVELOPE BODYSTRUCTURE RFC822.SIZE)"

    static func message(_ i: Int) -> String {
        """
        From: Sender \(i) <s\(i)@example.org>
        To: r@example.org
        Subject: message \(i)
        MIME-Version: 1.0
        Content-Type: multipart/alternative; boundary=b\(i)

        --b\(i)
        Content-Type: text/plain

        body \(i)
        --b\(i)
        Content-Type: text/html

        <p>body \(i)</p>
        --b\(i)--

        """
    }

    static func deliver(_ count: Int, to server: RunningServer) throws {
        for i in 1...count {
            try server.maildir.deliver(
                "alice", name: "17000000\(10 + i).M\(i)P1.host:2,S", into: "cur", body: message(i))
        }
    }

    /// A server with `count` messages and a client that has INBOX selected.
    func start(
        _ count: Int, configure: (inout ServerConfiguration) -> Void = { _ in }
    ) async throws -> (RunningServer, TestClient, ParsedMessageCache) {
        let server = try await startServer(configure: configure)
        try Self.deliver(count, to: server)
        let client = try server.connect()
        try client.login()
        XCTAssertTrue(try client.command("SELECT INBOX").ok)
        return (server, client, server.server.context.messageCache)
    }

    func testSecondFetchAndSecondSessionDoNotReparse() async throws {
        let (server, first, cache) = try await start(3)
        let cold = try first.command(Self.listFetch)
        XCTAssertTrue(cold.ok, cold.tagged)
        XCTAssertEqual(cold.untagged.count, 3)
        XCTAssertTrue(cold.untagged[0].contains("ENVELOPE (NIL \"message 1\""), cold.untagged[0])
        XCTAssertEqual(cache.statistics.parses, 3)
        XCTAssertEqual(cache.statistics.entries, 3)

        // Same request again, and BODY (the cached structure without extension data).
        let again = try first.command(Self.listFetch)
        XCTAssertEqual(again.untagged, cold.untagged)
        let body = try first.command("UID FETCH 1 (BODY)")
        XCTAssertTrue(body.ok, body.tagged)
        XCTAssertTrue(body.untagged[0].contains("BODY ((\"text\" \"plain\""), body.untagged[0])
        XCTAssertFalse(body.untagged[0].contains("boundary"), body.untagged[0])
        // A section uses the cached offsets: the file is read, not parsed.
        let section = try first.command("UID FETCH 2 (BODY.PEEK[2] BINARY.SIZE[1])")
        XCTAssertTrue(section.ok, section.tagged)
        XCTAssertEqual(section.literals, [Array("<p>body 2</p>".utf8)])
        XCTAssertEqual(cache.statistics.parses, 3)
        _ = try first.command("LOGOUT")

        // A second session after the first left (the folder was closed in between).
        let second = try server.connect()
        try second.login()
        XCTAssertTrue(try second.command("EXAMINE INBOX").ok)
        let warm = try second.command(Self.listFetch)
        // The same answers, but \Recent: the first session took it (RFC 3501 §2.3.2).
        XCTAssertEqual(warm.untagged, cold.untagged.map { $0.replacingOccurrences(of: " \\Recent", with: "") })
        XCTAssertEqual(cache.statistics.parses, 3)
        // 3 + BODY + section + 3 in the second session.
        XCTAssertEqual(cache.statistics.hits, 8)
    }

    func testExpungeDropsEntries() async throws {
        let (server, client, cache) = try await start(3)
        XCTAssertTrue(try client.command(Self.listFetch).ok)
        XCTAssertEqual(cache.statistics.entries, 3)
        let bytes = cache.statistics.bytes

        XCTAssertTrue(try client.command("UID STORE 2 +FLAGS.SILENT (\\Deleted)").ok)
        XCTAssertTrue(try client.command("EXPUNGE").ok)
        XCTAssertEqual(server.maildir.files("alice", "cur").count, 2)
        XCTAssertEqual(cache.statistics.entries, 2)
        XCTAssertLessThan(cache.statistics.bytes, bytes)
        // The others are still served from the cache.
        XCTAssertEqual(try client.command(Self.listFetch).untagged.count, 2)
        XCTAssertEqual(cache.statistics.parses, 3)
    }

    func testEvictionKeepsTheBudget() async throws {
        // Room for about three of these entries (each is well above 1 KiB estimated).
        let budget = 6 * 1024
        let (_, client, cache) = try await start(10) { $0.messageCacheBytes = budget }
        let first = try client.command(Self.listFetch)
        XCTAssertEqual(first.untagged.count, 10)
        let afterFirst = cache.statistics
        XCTAssertEqual(afterFirst.parses, 10)
        XCTAssertLessThanOrEqual(afterFirst.bytes, budget)
        XCTAssertGreaterThan(afterFirst.evictions, 0)
        XCTAssertLessThan(afterFirst.entries, 10)
        XCTAssertGreaterThan(afterFirst.entries, 0)

        // Evicted messages are parsed again, and answered the same.
        let second = try client.command(Self.listFetch)
        XCTAssertEqual(second.untagged, first.untagged)
        XCTAssertGreaterThan(cache.statistics.parses, 10)
        XCTAssertLessThanOrEqual(cache.statistics.bytes, budget)
    }

    func testSearchAndFetchShareTheParse() async throws {
        let (_, client, cache) = try await start(3)
        XCTAssertEqual(try client.command("SEARCH BODY \"body 2\"").untagged, ["* SEARCH 2"])
        XCTAssertEqual(cache.statistics.parses, 3)
        XCTAssertEqual(try client.command("SEARCH TEXT \"message 3\"").untagged, ["* SEARCH 3"])
        // The envelope and structure are built from the cached tree: no new parse.
        let fetch = try client.command(Self.listFetch)
        XCTAssertEqual(fetch.untagged.count, 3)
        XCTAssertTrue(fetch.untagged[2].contains("\"message 3\""), fetch.untagged[2])
        XCTAssertEqual(cache.statistics.parses, 3)
    }

    func testDisabledCacheStillAnswers() async throws {
        let (_, client, cache) = try await start(2) { $0.messageCacheBytes = 0 }
        let reply = try client.command(Self.listFetch)
        XCTAssertEqual(reply.untagged.count, 2)
        XCTAssertTrue(reply.untagged[1].contains("\"message 2\""), reply.untagged[1])
        XCTAssertEqual(cache.statistics.entries, 0)
    }
}
