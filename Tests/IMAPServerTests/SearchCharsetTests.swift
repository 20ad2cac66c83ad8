import Foundation
import XCTest

/// End to end: SEARCH over bodies and headers in every charset the server converts
/// (ISO-8859-x, Windows-125x, KOI8-R, UTF-8), each body in every transfer encoding;
/// SEARCH CHARSET with strings in those charsets (RFC 9051 §6.4.4); BADCHARSET; raw
/// UTF-8 quoted strings under UTF8=ACCEPT (RFC 6855); TEXT over MIME part headers with
/// RFC 2231 parameters matched as written, as Dovecot matches them.
final class SearchCharsetTests: XCTestCase {
    /// (charset, a word, the word's bytes in that charset).
    static let samples: [(String, String, [UInt8])] = [
        ("iso-8859-1", "Grüße", [0x47, 0x72, 0xFC, 0xDF, 0x65]),
        ("iso-8859-2", "Łódź", [0xA3, 0xF3, 0x64, 0xBC]),
        ("iso-8859-5", "Привет", [0xBF, 0xE0, 0xD8, 0xD2, 0xD5, 0xE2]),
        ("iso-8859-7", "Καλημέρα", [0xCA, 0xE1, 0xEB, 0xE7, 0xEC, 0xDD, 0xF1, 0xE1]),
        ("iso-8859-9", "kağıt", [0x6B, 0x61, 0xF0, 0xFD, 0x74]),
        ("iso-8859-15", "€uro", [0xA4, 0x75, 0x72, 0x6F]),
        ("windows-1250", "Łódź", [0xA3, 0xF3, 0x64, 0x9F]),
        ("windows-1251", "Привет", [0xCF, 0xF0, 0xE8, 0xE2, 0xE5, 0xF2]),
        ("windows-1252", "œuvre", [0x9C, 0x75, 0x76, 0x72, 0x65]),
        ("koi8-r", "Привет", [0xF0, 0xD2, 0xC9, 0xD7, 0xC5, 0xD4]),
        ("utf-8", "Grüße", [0x47, 0x72, 0xC3, 0xBC, 0xC3, 0x9F, 0x65]),
    ]
    static let encodings = ["8bit", "base64", "quoted-printable"]

    static func quotedPrintable(_ bytes: [UInt8]) -> [UInt8] {
        bytes.flatMap { b -> [UInt8] in
            b >= 0x80 || b == UInt8(ascii: "=") ? Array(String(format: "=%02X", b).utf8) : [b]
        }
    }

    /// Body "Wort: <word> marker\n" in `charset`, sent in `encoding`; the subject carries
    /// the word as an RFC 2047 B-word; X-Tag names the charset's index.
    static func message(_ index: Int, _ charset: String, _ word: [UInt8], _ encoding: String) -> [UInt8] {
        let body = Array("Wort: ".utf8) + word + Array(" marker\n".utf8)
        let encoded: [UInt8]
        switch encoding {
        case "base64": encoded = Array((Data(body).base64EncodedString() + "\n").utf8)
        case "quoted-printable": encoded = quotedPrintable(body)
        default: encoded = body
        }
        let header = """
            From: a@example.org
            Subject: =?\(charset)?B?\(Data(word).base64EncodedString())?= note
            X-Tag: c\(index)x
            MIME-Version: 1.0
            Content-Type: text/plain; charset=\(charset)
            Content-Transfer-Encoding: \(encoding)


            """
        return Array(header.utf8) + encoded
    }

    static func write(_ bytes: [UInt8], _ server: RunningServer, name: String) throws {
        let home = server.maildir.root + "/alice"
        _ = FileManager.default.createFile(atPath: home + "/tmp/" + name, contents: Data(bytes))
        XCTAssertEqual(rename(home + "/tmp/" + name, home + "/cur/" + name + ":2,"), 0)
    }

    func uids(_ reply: TestClient.Reply) -> Set<String> {
        XCTAssertTrue(reply.ok, reply.tagged)
        guard let line = reply.untagged.first(where: { $0.hasPrefix("* SEARCH") }) else { return [] }
        return Set(line.split(separator: " ").dropFirst(2).map(String.init))
    }

    func testBodiesAndSubjectsInEveryCharsetAndEncoding() async throws {
        let server = try await startServer()
        var serial = 0
        for (index, (charset, _, bytes)) in Self.samples.enumerated() {
            for encoding in Self.encodings {
                serial += 1
                try Self.write(
                    Self.message(index, charset, bytes, encoding), server,
                    name: "17000\(10_000 + serial).M\(serial)P1.h")
            }
        }
        let client = try server.connect()
        try client.login()
        XCTAssertTrue(try client.command("SELECT INBOX").ok)
        XCTAssertEqual(server.maildir.files("alice", "cur").count, Self.samples.count * Self.encodings.count)

        for (index, (charset, word, bytes)) in Self.samples.enumerated() {
            let tagged = uids(try client.command("UID SEARCH HEADER X-Tag c\(index)x"))
            XCTAssertEqual(tagged.count, Self.encodings.count, charset)
            // BODY in UTF-8: every transfer encoding of this charset's body is found.
            let body = uids(try client.command("UID SEARCH CHARSET UTF-8 BODY \"\(word)\" HEADER X-Tag c\(index)x"))
            XCTAssertEqual(body, tagged, "BODY \(word) in \(charset)")
            let text = uids(try client.command("UID SEARCH CHARSET UTF-8 TEXT \"\(word)\" HEADER X-Tag c\(index)x"))
            XCTAssertEqual(text, tagged, "TEXT \(word) in \(charset)")
            // SEARCH CHARSET <charset>: the string in that charset, as a literal.
            client.sendRaw("c\(index) UID SEARCH CHARSET \(charset) SUBJECT {\(bytes.count)+}\r\n")
            client.sendRaw(bytes + Array(" BODY {\(bytes.count)+}\r\n".utf8) + bytes)
            client.sendRaw(" HEADER X-Tag c\(index)x\r\n")
            XCTAssertEqual(uids(try client.collect(tag: "c\(index)")), tagged, "CHARSET \(charset)")
        }
        // The same Cyrillic word in three charsets: found in all nine messages.
        let cyrillic = uids(try client.command("UID SEARCH CHARSET UTF-8 BODY \"привет\""))
        XCTAssertEqual(cyrillic.count, 3 * Self.encodings.count)
    }

    func testUTF8AcceptRawStringAndBadCharset() async throws {
        let server = try await startServer()
        try Self.write(Self.message(0, "koi8-r", Self.samples[9].2, "base64"), server, name: "1700000001.M1P1.h")
        try Self.write(Self.message(1, "utf-8", Self.samples[10].2, "8bit"), server, name: "1700000002.M2P1.h")
        let client = try server.connect()
        try client.login()
        XCTAssertTrue(try client.command("ENABLE UTF8=ACCEPT").ok)
        XCTAssertTrue(try client.command("SELECT INBOX").ok)
        // RFC 6855 §3: with UTF8=ACCEPT, a quoted string may hold raw UTF-8.
        XCTAssertEqual(try client.command("SEARCH BODY \"ПРИВЕТ\"").untagged, ["* SEARCH 1"])
        XCTAssertEqual(try client.command("SEARCH SUBJECT \"grüße\"").untagged, ["* SEARCH 2"])
        // An unknown charset answers BADCHARSET with the list, also without strings.
        for command in ["SEARCH CHARSET X-UNKNOWN SUBJECT x", "SEARCH CHARSET X-UNKNOWN ALL"] {
            let bad = try client.command(command)
            XCTAssertTrue(bad.tagged.contains("NO [BADCHARSET (UTF-8 US-ASCII ISO-8859-1 "), bad.tagged)
            XCTAssertTrue(bad.tagged.contains(" KOI8-R)]"), bad.tagged)
        }
    }

    /// Dovecot's TEXT also searches the headers of MIME parts; RFC 2231 parameters are
    /// matched as written there (Dovecot does not decode them; recorded by hand with
    /// Debian's dovecot-imapd 2.3), and boundaries and non-text bodies are not searched.
    func testTextSearchesPartHeadersWithRFC2231AsWritten() async throws {
        let server = try await startServer()
        let mixed = """
            From: a@example.org
            Subject: report
            MIME-Version: 1.0
            Content-Type: multipart/mixed; boundary="b1"

            --b1
            Content-Type: text/plain

            see attached
            --b1
            Content-Type: application/pdf; name*=utf-8''r%C3%A9sum%C3%A9.pdf
            Content-Disposition: attachment;
             filename*0*=utf-8''r%C3%A9sum;
             filename*1*=%C3%A9.pdf
            Content-Transfer-Encoding: base64

            aGVsbG8=
            --b1--

            """
        try server.maildir.deliver("alice", name: "1700000001.M1P1.h:2,", into: "cur", body: mixed)
        try server.maildir.deliver(
            "alice", name: "1700000002.M2P1.h:2,", into: "cur", body: "From: b@example.org\nSubject: x\n\nnothing\n")
        let client = try server.connect()
        try client.login()
        XCTAssertTrue(try client.command("SELECT INBOX").ok)
        let expected: [(String, [String])] = [
            ("SEARCH TEXT \"application/pdf\"", ["* SEARCH 1"]),
            ("SEARCH TEXT \"filename*1\"", ["* SEARCH 1"]),
            ("SEARCH TEXT \"r%C3%A9sum\"", ["* SEARCH 1"]),
            ("SEARCH CHARSET UTF-8 TEXT \"résumé\"", ["* SEARCH"]),
            ("SEARCH BODY \"filename\"", ["* SEARCH"]),
            ("SEARCH TEXT \"--b1\"", ["* SEARCH"]),
            ("SEARCH TEXT \"hello\"", ["* SEARCH"]),
            // HEADER looks at the message's own header only.
            ("SEARCH HEADER Content-Disposition \"filename\"", ["* SEARCH"]),
        ]
        for (command, answer) in expected {
            XCTAssertEqual(try client.command(command).untagged, answer, command)
        }
    }
}
