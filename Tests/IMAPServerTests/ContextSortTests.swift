import Foundation
import XCTest

@testable import IMAPServer

/// End to end over a socket: RFC 5267 CONTEXT=SORT. A `SORT RETURN (UPDATE)` is kept
/// in sort order: ADDTO and REMOVEFROM carry the sort positions (1-based), several
/// pairs when several places change, REMOVEFROM last position first.
final class ContextSortTests: XCTestCase {
    static func message(_ subject: String) -> String {
        "From: a@example.org\r\nSubject: \(subject)\r\n\r\nbody \(subject)\r\n"
    }

    /// UIDs 1…4 with subjects delta, bravo, alpha, charlie; 1 and 2 \Seen.
    func start() async throws -> (RunningServer, TestClient) {
        let server = try await startServer()
        for (i, subject) in ["delta", "bravo", "alpha", "charlie"].enumerated() {
            let flags = i < 2 ? "S" : ""
            try server.maildir.deliver(
                "alice", name: "17000000\(10 + i).M\(i)P1.host:2,\(flags)", into: "cur", body: Self.message(subject))
        }
        let client = try server.connect()
        try client.login()
        XCTAssertTrue(try client.command("SELECT INBOX").ok)
        return (server, client)
    }

    private func esearch(_ client: TestClient, _ command: String, file: StaticString = #filePath, line: UInt = #line)
        throws -> [String]
    {
        let reply = try client.command(command)
        XCTAssertTrue(reply.ok, "\(command): \(reply.tagged)", file: file, line: line)
        return reply.untagged.filter { $0.hasPrefix("* ESEARCH (TAG \"S\")") }
    }

    func testCapability() async throws {
        let (_, client) = try await start()
        let caps = try client.command("CAPABILITY").untagged.first ?? ""
        XCTAssertTrue(caps.contains(" CONTEXT=SORT"), caps)
    }

    func testSortPositions() async throws {
        let (server, client) = try await start()
        client.sendRaw("S SORT RETURN (UPDATE) (SUBJECT) UTF-8 SEEN\r\n")
        XCTAssertEqual(try client.collect(tag: "S").untagged, ["* ESEARCH (TAG \"S\") ALL 2,1"])
        // bravo, charlie, delta: charlie is second.
        XCTAssertEqual(try esearch(client, "STORE 4 +FLAGS (\\Seen)"), ["* ESEARCH (TAG \"S\") ADDTO (2 4)"])
        XCTAssertEqual(try esearch(client, "STORE 3 +FLAGS (\\Seen)"), ["* ESEARCH (TAG \"S\") ADDTO (1 3)"])
        // alpha bravo charlie delta → alpha charlie: delta (4th) goes first, then bravo.
        XCTAssertEqual(
            try esearch(client, "STORE 1:2 -FLAGS (\\Seen)"), ["* ESEARCH (TAG \"S\") REMOVEFROM (4 1 2 2)"])
        // A delivery sorts last: echo.
        try server.maildir.deliver("alice", name: "1700000020.M9P1.host:2,S", into: "cur", body: Self.message("echo"))
        XCTAssertEqual(try esearch(client, "NOOP"), ["* ESEARCH (TAG \"S\") ADDTO (3 5)"])
        // Another session expunges alpha: REMOVEFROM before the EXPUNGE.
        let other = try server.connect()
        try other.login()
        XCTAssertTrue(try other.command("SELECT INBOX").ok)
        XCTAssertTrue(try other.command("STORE 3 +FLAGS (\\Deleted)").ok)
        XCTAssertTrue(try other.command("EXPUNGE").ok)
        let noop = try client.command("NOOP").untagged
        XCTAssertEqual(
            noop.filter { $0.contains("ESEARCH") || $0.hasSuffix("EXPUNGE") },
            ["* ESEARCH (TAG \"S\") REMOVEFROM (1 3)", "* 3 EXPUNGE"])
        // charlie echo (sequence numbers 3 and 4 now) gain bravo (2) and delta (1):
        // bravo charlie delta echo, two places at once.
        XCTAssertEqual(
            try esearch(client, "STORE 1:2 +FLAGS (\\Seen)"), ["* ESEARCH (TAG \"S\") ADDTO (1 2 3 1)"])
        XCTAssertEqual(try client.command("SORT (SUBJECT) UTF-8 SEEN").untagged, ["* SORT 2 3 1 4"])
    }

    func testUIDSortConsecutiveInsertsAndPartialRefusal() async throws {
        let (server, client) = try await start()
        client.sendRaw("S UID SORT RETURN (UPDATE MIN) (REVERSE SUBJECT) UTF-8 SEEN\r\n")
        XCTAssertEqual(try client.collect(tag: "S").untagged, ["* ESEARCH (TAG \"S\") UID MIN 1"])
        for (i, subject) in ["zulu", "yankee"].enumerated() {
            try server.maildir.deliver(
                "alice", name: "17000000\(30 + i).M\(30 + i)P1.host:2,S", into: "cur", body: Self.message(subject))
        }
        // zulu yankee delta bravo: the two new ones together at position 1.
        XCTAssertEqual(try esearch(client, "NOOP"), ["* ESEARCH (TAG \"S\") UID ADDTO (1 5:6)"])
        client.sendRaw("P SORT RETURN (UPDATE PARTIAL 1:2) (SUBJECT) UTF-8 ALL\r\n")
        let partial = try client.collect(tag: "P")
        XCTAssertTrue(partial.untagged.contains { $0.hasPrefix("* NO [NOUPDATE \"P\"]") }, "\(partial.untagged)")
        XCTAssertTrue(try client.command("CANCELUPDATE \"S\"").ok)
        client.sendRaw("V SORT RETURN (UPDATE SAVE) (SUBJECT) UTF-8 SEEN\r\n")
        XCTAssertEqual(try client.collect(tag: "V").untagged, ["* ESEARCH (TAG \"V\")"])
        XCTAssertTrue(try client.command("CANCELUPDATE \"V\"").ok)
        XCTAssertEqual(try esearch(client, "STORE 3 +FLAGS (\\Seen)"), [])
    }
}
