import Foundation
import IMAPServer
import XCTest

/// Issue 11 item 7: a too-long line while IDLE or AUTHENTICATE waits for its
/// continuation ends that command with a tagged BAD, and the session is back where it
/// was (the old code answered `* BAD Line too long`, IDLE went on pushing, and the
/// client's later `DONE` got `DONE BAD Missing command`).
final class ContinuationLineTests: XCTestCase {
    func testTooLongLineEndsIdleWithATaggedBad() async throws {
        let server = try await startServer { $0.decoderLimits.maxLineLength = 1024 }
        let client = try server.connect()
        try client.login()
        XCTAssertTrue(try client.command("SELECT INBOX").ok)
        client.sendRaw("I1 IDLE\r\n")
        XCTAssertTrue(try client.readLine().hasPrefix("+"))
        client.sendRaw(String(repeating: "x", count: 5000) + "\r\n")
        XCTAssertEqual(try client.readLine(), "I1 BAD Line too long")
        // IDLE is over: a delivery is not pushed, the next command is a command, and
        // the session is still in the selected state.
        try server.maildir.deliver("alice", name: "1.M1.test", body: "Subject: x\r\n\r\nbody\r\n")
        let noop = try client.command("NOOP")
        XCTAssertTrue(noop.ok, noop.tagged)
        XCTAssertTrue(noop.untagged.contains("* 1 EXISTS"), "\(noop.untagged)")
        XCTAssertTrue(try client.command("FETCH 1 FLAGS").ok)
        // A new IDLE works as usual.
        client.sendRaw("I2 IDLE\r\n")
        XCTAssertTrue(try client.readLine().hasPrefix("+"))
        client.sendRaw("DONE\r\n")
        XCTAssertEqual(try client.readLine(), "I2 OK Idle completed.")
    }

    func testTooLongLineEndsAuthenticateWithATaggedBad() async throws {
        let server = try await startServer { $0.decoderLimits.maxLineLength = 1024 }
        let client = try server.connect()
        client.sendRaw("A1 AUTHENTICATE PLAIN\r\n")
        XCTAssertTrue(try client.readLine().hasPrefix("+"))
        client.sendRaw(String(repeating: "A", count: 5000) + "\r\n")
        XCTAssertEqual(try client.readLine(), "A1 BAD Line too long")
        // Still not logged in, and the next AUTHENTICATE works.
        XCTAssertTrue(try client.command("SELECT INBOX").tagged.contains("BAD"))
        client.sendRaw("A2 AUTHENTICATE PLAIN\r\n")
        XCTAssertTrue(try client.readLine().hasPrefix("+"))
        client.sendRaw(Data("\0alice\0secret".utf8).base64EncodedString() + "\r\n")
        let reply = try client.collect(tag: "A2")
        XCTAssertTrue(reply.ok, reply.tagged)
        XCTAssertTrue(try client.command("SELECT INBOX").ok)
    }
}
