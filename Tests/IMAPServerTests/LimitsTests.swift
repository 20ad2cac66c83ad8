import Foundation
import IMAPServer
import XCTest

/// Issue 5 §3: limits that keep one client from holding server resources.
final class LimitsTests: XCTestCase {
    /// RFC 9051 §5.4 autologout: a client that stops in the middle of a literal is cut
    /// off when the idle timeout expires, and the half-sent message is not stored.
    func testHalfSentLiteralIsCutOffAtTheIdleTimeout() async throws {
        let server = try await startServer { $0.idleTimeoutSeconds = 1 }
        let client = try server.connect()
        try client.login()
        client.sendRaw("A1 APPEND INBOX {100}\r\n")
        XCTAssertTrue(try client.readLine().hasPrefix("+"))
        client.sendRaw("From: a@example.org\r\n")  // 21 of 100 bytes, then silence
        let rest = client.readUntilClosed()
        XCTAssertTrue(rest.contains("* BYE"), rest)
        XCTAssertFalse(rest.contains("A1 OK"), rest)
        let m = server.maildir
        XCTAssertEqual(m.files("alice", "new") + m.files("alice", "cur"), [])
        // The streamed half is in tmp/ until the closed session discards it.
        XCTAssertTrue(pollUntil { m.files("alice", "tmp").isEmpty }, "\(m.files("alice", "tmp"))")
    }

    func testConnectionsPerAddressAreLimited() async throws {
        let server = try await startServer { $0.maxConnectionsPerAddress = 2 }
        let first = try server.connect()
        let second = try server.connect()
        XCTAssertTrue(first.greetingLine.hasPrefix("* OK"), first.greetingLine)
        XCTAssertTrue(second.greetingLine.hasPrefix("* OK"), second.greetingLine)
        let third = try server.connect()
        XCTAssertTrue(third.greetingLine.hasPrefix("* BYE"), third.greetingLine)
        XCTAssertEqual(third.readUntilClosed(), "")
        // The first two still work.
        XCTAssertTrue(try first.command("NOOP").ok)
    }

    /// The sum of literals in one command (MULTIAPPEND) is bounded; nothing is stored.
    func testTotalLiteralBytesPerCommandAreLimited() async throws {
        let server = try await startServer { $0.decoderLimits.maxCommandLiteralBytes = 100 }
        let client = try server.connect()
        try client.login()
        let message = "From: a@example.org\r\nSubject: x\r\n\r\n" + String(repeating: "y", count: 30) + "\r\n"
        XCTAssertEqual(message.utf8.count, 67)
        client.sendRaw(
            "A1 APPEND INBOX {\(message.utf8.count)+}\r\n\(message) {\(message.utf8.count)+}\r\n\(message)\r\n")
        let reply = client.readUntilClosed()
        XCTAssertFalse(reply.contains("A1 OK"), reply)
        XCTAssertTrue(reply.hasPrefix("* BYE"), reply)
        let m = server.maildir
        XCTAssertEqual(m.files("alice", "new") + m.files("alice", "cur"), [])
    }
}
