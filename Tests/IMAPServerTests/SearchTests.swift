import Foundation
import XCTest

/// End to end: SEARCH answer forms (rev1 `* SEARCH`, ESEARCH RETURN for rev2 and
/// RFC 4731), SEARCHRES `$` (RFC 5182), CHARSET/BADCHARSET and UTF-8 literals against
/// RFC 2047 headers and encoded bodies (RFC 9051 §6.4.4).
final class SearchTests: XCTestCase {
    static let messages = [
        // 1: RFC 2047 B-encoded UTF-8 subject, base64 UTF-8 body.
        "From: Jörg <j@example.org>\nSubject: =?UTF-8?B?R3LDvMOfZSBhdXMgTcO8bmNoZW4=?=\nMIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: base64\n\nU2Now7ZuZSBTdHJhw59lCg==\n",
        // 2: plain ASCII.
        "From: alice@example.org\nSubject: lunch\n\nsee you at noon\n",
        // 3: quoted-printable ISO-8859-1 body.
        "From: bob@example.org\nSubject: =?ISO-8859-1?Q?caf=E9?=\nMIME-Version: 1.0\nContent-Type: text/plain; charset=iso-8859-1\nContent-Transfer-Encoding: quoted-printable\n\nD=E9j=E0 vu\n",
    ]

    /// `* ESEARCH (TAG "T7") …` → `* ESEARCH (TAG) …`: the tag depends on the
    /// commands before it.
    func untag(_ lines: [String]) -> [String] {
        lines.map { line in
            guard let open = line.range(of: "(TAG \""), let close = line[open.upperBound...].firstIndex(of: ")")
            else { return line }
            return line.replacingCharacters(in: open.lowerBound...close, with: "(TAG)")
        }
    }

    func start() async throws -> (RunningServer, TestClient) {
        let server = try await startServer()
        for (index, body) in Self.messages.enumerated() {
            try server.maildir.deliver(
                "alice", name: "17000000\(index + 10).M\(index)P1.host:2,", into: "cur", body: body)
        }
        let client = try server.connect()
        try client.login()
        XCTAssertTrue(try client.command("SELECT INBOX").ok)
        return (server, client)
    }

    func testRev1AndESearchAnswerForms() async throws {
        let (_, client) = try await start()
        let caps = try client.command("CAPABILITY")
        XCTAssertTrue(caps.untagged.first?.contains(" ESEARCH SEARCHRES BINARY ") ?? false, "\(caps.untagged)")

        let rev1 = try client.command("SEARCH ALL")
        XCTAssertEqual(rev1.untagged, ["* SEARCH 1 2 3"])
        let uid = try client.command("UID SEARCH RETURN (MIN MAX COUNT) ALL")
        XCTAssertTrue(uid.ok, uid.tagged)
        XCTAssertEqual(untag(uid.untagged), ["* ESEARCH (TAG) UID MIN 1 MAX 3 COUNT 3"])
        let none = try client.command("SEARCH RETURN (MIN MAX ALL COUNT) SUBJECT nothing-matches")
        XCTAssertEqual(untag(none.untagged), ["* ESEARCH (TAG) COUNT 0"])
        let all = try client.command("SEARCH RETURN () NOT SUBJECT lunch")
        XCTAssertEqual(untag(all.untagged), ["* ESEARCH (TAG) ALL 1,3"])

        XCTAssertTrue(try client.command("ENABLE IMAP4rev2").ok)
        let rev2 = try client.command("SEARCH FROM bob")
        XCTAssertEqual(untag(rev2.untagged), ["* ESEARCH (TAG) ALL 3"])
    }

    func testSearchResSaveAndDollar() async throws {
        let (server, client) = try await start()
        let save = try client.command("SEARCH RETURN (SAVE) OR FROM alice FROM bob")
        XCTAssertTrue(save.ok, save.tagged)
        XCTAssertEqual(save.untagged, [], "SAVE alone answers no ESEARCH (RFC 5182)")
        let fetch = try client.command("FETCH $ (FLAGS)")
        XCTAssertEqual(fetch.untagged, ["* 2 FETCH (FLAGS (\\Recent))", "* 3 FETCH (FLAGS (\\Recent))"])
        let within = try client.command("SEARCH $ SUBJECT lunch")
        XCTAssertEqual(within.untagged, ["* SEARCH 2"])
        // STORE on $ changes the files on disk.
        XCTAssertTrue(try client.command("STORE $ +FLAGS.SILENT (\\Flagged)").ok)
        XCTAssertEqual(
            server.maildir.files("alice", "cur").filter { $0.hasSuffix(":2,F") }.count, 2,
            "\(server.maildir.files("alice", "cur"))")
        // MIN alone saves only the first match (RFC 5182 §2.4).
        let min = try client.command("SEARCH RETURN (SAVE MIN) ALL")
        XCTAssertEqual(untag(min.untagged), ["* ESEARCH (TAG) MIN 1"])
        XCTAssertEqual(try client.command("SEARCH $").untagged, ["* SEARCH 1"])
    }

    func testCharsetsLiteralsAndDecodedContent() async throws {
        let (_, client) = try await start()
        let bad = try client.command("SEARCH CHARSET X-MAC-KLINGON SUBJECT x")
        XCTAssertTrue(bad.tagged.contains("NO [BADCHARSET (UTF-8 US-ASCII "), bad.tagged)
        // A UTF-8 literal (LITERAL+) against an RFC 2047 subject and a base64 body.
        let subject = Array("München".utf8)
        client.sendRaw("s1 SEARCH CHARSET UTF-8 SUBJECT {\(subject.count)+}\r\n")
        client.sendRaw(subject + Array(" BODY \"Straße\"\r\n".utf8))
        let hit = try client.collect(tag: "s1")
        XCTAssertTrue(hit.ok, hit.tagged)
        XCTAssertEqual(hit.untagged, ["* SEARCH 1"])
        // Case-insensitive match of a Latin-1 QP body and Q-encoded subject.
        XCTAssertEqual(try client.command("SEARCH CHARSET UTF-8 TEXT \"DÉJÀ\"").untagged, ["* SEARCH 3"])
        XCTAssertEqual(try client.command("SEARCH SUBJECT \"café\"").untagged, ["* SEARCH 3"])
        XCTAssertEqual(try client.command("SEARCH FROM \"jörg\"").untagged, ["* SEARCH 1"])
    }

    /// Both sides folded as Dovecot folds them (titlecase, one level of decomposition;
    /// `SearchFold`), each answer checked against Dovecot 2.3.19: an accented letter is
    /// its base letter followed by a combining mark, so a string that stops before the
    /// mark matches and one that runs past it does not; ß stays ß.
    func testTextIsFoldedAsDovecotFoldsIt() async throws {
        let (_, client) = try await start()
        let cases: [(String, [String])] = [
            ("SEARCH SUBJECT \"cafe\"", ["* SEARCH 3"]),
            ("SEARCH SUBJECT \"CAFÉ\"", ["* SEARCH 3"]),
            ("SEARCH SUBJECT \"cafes\"", ["* SEARCH"]),
            ("SEARCH SUBJECT \"gru\"", ["* SEARCH 1"]),
            ("SEARCH SUBJECT \"grusse\"", ["* SEARCH"]),
            ("SEARCH BODY \"de\"", ["* SEARCH 3"]),
            ("SEARCH BODY \"deja\"", ["* SEARCH"]),
            ("SEARCH TEXT \"DÉJÀ VU\"", ["* SEARCH 3"]),
        ]
        for (command, expected) in cases {
            XCTAssertEqual(try client.command(command).untagged, expected, command)
        }
    }
}
