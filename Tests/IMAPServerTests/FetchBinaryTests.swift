import Foundation
import IMAPServer
import XCTest

/// End to end: FETCH BINARY[part]<partial>, BINARY.PEEK, BINARY.SIZE (RFC 3516,
/// RFC 9051 §6.4.5) against real Maildir files.
final class FetchBinaryTests: XCTestCase {
    /// Part 2 is base64 of the bytes 00 01 02 ff 0a 41 (a NUL: must come as literal8);
    /// part 3 is quoted-printable; part 4 has an encoding nobody knows.
    static let mixed = """
        From: a@example.org
        To: b@example.org
        Subject: binary
        MIME-Version: 1.0
        Content-Type: multipart/mixed; boundary="b1"

        --b1
        Content-Type: text/plain

        plain text
        --b1
        Content-Type: application/octet-stream
        Content-Transfer-Encoding: base64

        AAEC/wpB
        --b1
        Content-Type: text/plain; charset=iso-8859-1
        Content-Transfer-Encoding: quoted-printable

        Gr=FC=DFe, caf=E9=
         soft
        --b1--

        """
    static let unknown = """
        From: a@example.org
        Subject: odd
        MIME-Version: 1.0
        Content-Type: application/octet-stream
        Content-Transfer-Encoding: x-uuencode

        begin 644 x

        """

    func testBinarySectionsSizesAndLiteral8() async throws {
        let server = try await startServer()
        try server.maildir.deliver("alice", name: "1700000001.M1P1.host:2,", into: "cur", body: Self.mixed)
        let client = try server.connect()
        try client.login()
        XCTAssertTrue(try client.command("SELECT INBOX").ok)

        let sizes = try client.command("FETCH 1 (BINARY.SIZE[1] BINARY.SIZE[2] BINARY.SIZE[3])")
        XCTAssertTrue(sizes.ok, sizes.tagged)
        XCTAssertEqual(sizes.untagged, ["* 1 FETCH (BINARY.SIZE[1] 10 BINARY.SIZE[2] 6 BINARY.SIZE[3] 16)"])

        let peek = try client.command("FETCH 1 (BINARY.PEEK[2])")
        XCTAssertTrue(peek.ok, peek.tagged)
        XCTAssertEqual(peek.untagged.first, "* 1 FETCH (BINARY[2] ~{6}{literal})")
        XCTAssertEqual(peek.literals, [[0x00, 0x01, 0x02, 0xFF, 0x0A, 0x41]])

        let qp = try client.command("FETCH 1 (BINARY.PEEK[3] BINARY.PEEK[1]<6.10>)")
        XCTAssertTrue(qp.ok, qp.tagged)
        XCTAssertEqual(qp.untagged.first, "* 1 FETCH (BINARY[3] ~{16}{literal} BINARY[1]<6> {4}{literal})")
        XCTAssertEqual(
            qp.literals,
            [Array("Gr\u{FC}\u{DF}e, caf\u{E9} soft".unicodeScalars.map { UInt8($0.value) }), Array("text".utf8)])

        // PEEK left the message unseen on disk.
        XCTAssertEqual(server.maildir.files("alice", "cur"), ["1700000001.M1P1.host:2,"])
        let fetch = try client.command("FETCH 1 (BINARY[1]<0.5>)")
        XCTAssertTrue(fetch.ok, fetch.tagged)
        XCTAssertEqual(fetch.untagged.first, "* 1 FETCH (BINARY[1]<0> {5}{literal} FLAGS (\\Seen \\Recent))")
        XCTAssertEqual(fetch.literals, [Array("plain".utf8)])
        XCTAssertEqual(server.maildir.files("alice", "cur"), ["1700000001.M1P1.host:2,S"])
    }

    func testUnknownTransferEncodingIsNoUnknownCTE() async throws {
        let server = try await startServer()
        try server.maildir.deliver("alice", name: "1700000001.M1P1.host:2,", into: "cur", body: Self.unknown)
        let client = try server.connect()
        try client.login()
        XCTAssertTrue(try client.command("EXAMINE INBOX").ok)
        let reply = try client.command("FETCH 1 (BINARY.PEEK[1])")
        XCTAssertTrue(reply.tagged.contains("NO [UNKNOWN-CTE]"), reply.tagged)
        XCTAssertTrue(reply.untagged.allSatisfy { !$0.contains("FETCH") }, "\(reply.untagged)")
        let size = try client.command("FETCH 1 (BINARY.SIZE[1])")
        XCTAssertTrue(size.tagged.contains("NO [UNKNOWN-CTE]"), size.tagged)
        // BODY[] of the same message is still served as it is.
        let body = try client.command("FETCH 1 (BODY.PEEK[1])")
        XCTAssertTrue(body.ok, body.tagged)
        XCTAssertEqual(body.literals, [Array("begin 644 x\r\n".utf8)])
        XCTAssertEqual(server.maildir.files("alice", "cur"), ["1700000001.M1P1.host:2,"])
    }

    /// Issue 18 (imaptest append-binary): a `Content-Transfer-Encoding: binary` part is
    /// arbitrary octets, so BINARY returns its stored bytes unchanged (no LF → CRLF)
    /// and BINARY.SIZE is the length of exactly what BINARY returns, for the part and
    /// for the whole message around it.
    func testBinaryTransferEncodingIsSentByteForByteWithItsOwnSize() async throws {
        let server = try await startServer()
        let client = try server.connect()
        try client.login()
        let header = """
            From: user@domain.org\r
            Mime-Version: 1.0\r
            Content-Type: application/octet-stream\r
            Content-Transfer-Encoding: binary\r
            \r

            """
        let content: [UInt8] = [0x00, 0x2D, 0xE4, 0x0A, 0x0D, 0x0A, 0x0A]
        let message = Array(header.utf8) + content
        client.sendRaw("A1 APPEND INBOX ~{\(message.count)+}\r\n")
        client.sendRaw(message + Array("\r\n".utf8))
        let append = try client.collect(tag: "A1")
        XCTAssertTrue(append.ok, append.tagged)
        XCTAssertTrue(try client.command("SELECT INBOX").ok)

        let part = try client.command("FETCH 1 (BINARY.SIZE[1] BINARY.PEEK[1])")
        XCTAssertTrue(part.ok, part.tagged)
        XCTAssertEqual(part.untagged.first, "* 1 FETCH (BINARY.SIZE[1] 7 BINARY[1] ~{7}{literal})")
        XCTAssertEqual(part.literals, [content])

        let whole = try client.command("FETCH 1 (BINARY.SIZE[] BINARY.PEEK[])")
        XCTAssertTrue(whole.ok, whole.tagged)
        let literal = whole.literals.first ?? []
        XCTAssertEqual(
            whole.untagged.first, "* 1 FETCH (BINARY.SIZE[] \(literal.count) BINARY[] ~{\(literal.count)}{literal})")
        XCTAssertEqual(Array(literal.suffix(content.count)), content)
    }
}
