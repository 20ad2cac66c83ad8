import Foundation
import IMAPProtocol
import NIOCore
import XCTest

@testable import IMAPServer

/// The session's state rules (RFC 9051 §3, §6) driven without a socket
/// (SessionHarness): each test asserts the exact bytes the session wrote.
final class SessionStateTests: XCTestCase {
    func testCommandInTheWrongStateGetsItsTaggedBAD() async throws {
        let h = try await SessionHarness(testCase: self)
        let before = try await h.send("a1 SELECT INBOX\r\na2 FETCH 1 FLAGS\r\n")
        XCTAssertEqual(before, "a1 BAD SELECT not allowed before login.\r\na2 BAD FETCH not allowed before login.\r\n")
        try await h.logIn()
        let authenticated = try await h.send("a3 FETCH 1 FLAGS\r\na4 LOGIN alice secret\r\n")
        XCTAssertEqual(authenticated, "a3 BAD FETCH: no mailbox selected.\r\na4 BAD LOGIN not allowed now.\r\n")
    }

    /// §6.2.2: `+`, then the client's response line finishes the command.
    func testAuthenticateContinuationFlow() async throws {
        let h = try await SessionHarness(testCase: self)
        let prompt = try await h.send("a1 AUTHENTICATE PLAIN\r\n")
        XCTAssertEqual(prompt, "+ \r\n")
        guard case .awaitContinuationLine? = h.lastOutcome else {
            return XCTFail("\(String(describing: h.lastOutcome))")
        }
        let credentials = Data("\0alice\0secret".utf8).base64EncodedString()
        let reply = try await h.send(credentials + "\r\n")
        XCTAssertTrue(reply.hasPrefix("a1 OK [CAPABILITY IMAP4rev1 IMAP4rev2 "), reply)
        guard case .loggedIn? = h.lastOutcome else { return XCTFail("\(String(describing: h.lastOutcome))") }
        let next = try await h.send("a2 NOOP\r\n")
        XCTAssertEqual(next, "a2 OK NOOP completed.\r\n")
    }

    /// The response line was refused by the decoder (too long): the AUTHENTICATE
    /// ends with its tagged BAD and the session is not authenticated.
    func testAuthenticateBadContinuationLine() async throws {
        let h = try await SessionHarness(testCase: self)
        _ = try await h.send("a1 AUTHENTICATE PLAIN\r\n")
        let overlong = String(repeating: "A", count: h.decoder.limits.maxLineLength + 10)
        let reply = try await h.send(overlong + "\r\n")
        XCTAssertEqual(reply, "a1 BAD Line too long\r\n")
        guard case .done? = h.lastOutcome else { return XCTFail("\(String(describing: h.lastOutcome))") }
        let after = try await h.send("a2 LIST \"\" *\r\n")
        XCTAssertEqual(after, "a2 BAD LIST not allowed before login.\r\n")
    }

    func testIdleThenDone() async throws {
        let h = try await SessionHarness(testCase: self)
        try await h.logIn()
        _ = try await h.send("s1 SELECT INBOX\r\n")
        let start = try await h.send("i1 IDLE\r\n")
        XCTAssertEqual(start, "+ idling\r\n")
        guard case .idling? = h.lastOutcome else { return XCTFail("\(String(describing: h.lastOutcome))") }
        let done = try await h.send("DONE\r\n")
        XCTAssertEqual(done, "i1 OK Idle completed.\r\n")
        // Back in the selected state: a selected-state command runs.
        let check = try await h.send("c1 CHECK\r\n")
        XCTAssertEqual(check, "c1 OK CHECK completed.\r\n")
    }

    func testIdleThenABadLine() async throws {
        let h = try await SessionHarness(testCase: self)
        try await h.logIn()
        _ = try await h.send("i1 IDLE\r\n")
        let reply = try await h.send("NOT DONE\r\n")
        XCTAssertEqual(reply, "i1 BAD Expected DONE.\r\n")
        let (_, tooLong) = try await h.handle(.badContinuationLine("Line too long."))
        XCTAssertEqual(
            tooLong, "* NO [SERVERBUG] \(CommandError.serverFaultText)\r\n",
            "no IDLE runs any more: nothing asked for a line")
        let overlong = try await h.send(
            "i2 IDLE\r\n" + String(repeating: "A", count: h.decoder.limits.maxLineLength + 10) + "\r\n")
        XCTAssertEqual(overlong, "+ idling\r\ni2 BAD Line too long\r\n")
        let next = try await h.send("n1 NOOP\r\n")
        XCTAssertEqual(next, "n1 OK NOOP completed.\r\n")
    }

    /// Begin, message, data chunks and end, each a separate input in the appending
    /// state; the message lands in cur/ only at the end.
    func testStreamedAppend() async throws {
        let h = try await SessionHarness(testCase: self)
        try await h.logIn()
        let message = "Subject: hi\r\n\r\nbody\r\n"
        var (outcome, reply) = try await h.handle(.appendBegin(tag: "p1", mailbox: MailboxName("Work")))
        XCTAssertEqual(reply, "")
        guard case .done = outcome else { return XCTFail("\(outcome)") }
        let header = AppendMessageHeader(
            flags: [.seen], internalDate: nil, size: UInt64(message.utf8.count), isBinary: false)
        (outcome, reply) = try await h.handle(.appendMessage(header))
        XCTAssertEqual(reply, "")
        (outcome, reply) = try await h.handle(.appendData(ByteBuffer(string: String(message.prefix(10)))))
        (outcome, reply) = try await h.handle(.appendData(ByteBuffer(string: String(message.dropFirst(10)))))
        XCTAssertEqual(reply, "")
        XCTAssertEqual(h.maildir.files("alice", "cur", folder: "Work"), [], "nothing committed before the end")
        (outcome, reply) = try await h.handle(.appendEnd)
        XCTAssertTrue(reply.hasPrefix("p1 OK [APPENDUID "), reply)
        XCTAssertTrue(reply.hasSuffix(" 1] Append completed.\r\n"), reply)
        XCTAssertEqual(h.maildir.files("alice", "cur", folder: "Work").count, 1)
        // Back in the authenticated state.
        let next = try await h.send("n1 NOOP\r\n")
        XCTAssertEqual(next, "n1 OK NOOP completed.\r\n")
    }

    /// The decoder found the APPEND malformed after it began: nothing is stored and
    /// the session is back in the authenticated state (the decoder's BAD follows).
    func testStreamedAppendAborted() async throws {
        let h = try await SessionHarness(testCase: self)
        try await h.logIn()
        _ = try await h.handle(.appendBegin(tag: "p1", mailbox: MailboxName("Work")))
        let header = AppendMessageHeader(flags: [], internalDate: nil, size: 4, isBinary: false)
        _ = try await h.handle(.appendMessage(header))
        _ = try await h.handle(.appendData(ByteBuffer(string: "abcd")))
        let (outcome, reply) = try await h.handle(.appendAborted)
        XCTAssertEqual(reply, "")
        guard case .done = outcome else { return XCTFail("\(outcome)") }
        XCTAssertEqual(h.maildir.files("alice", "cur", folder: "Work"), [])
        XCTAssertEqual(h.maildir.files("alice", "tmp", folder: "Work"), [], "the partial message is removed")
        let next = try await h.send("n1 NOOP\r\n")
        XCTAssertEqual(next, "n1 OK NOOP completed.\r\n")
    }

    /// An APPEND before login is refused with its tag and the rest skipped.
    func testStreamedAppendBeforeLogin() async throws {
        let h = try await SessionHarness(testCase: self)
        let (outcome, reply) = try await h.handle(.appendBegin(tag: "p1", mailbox: MailboxName("Work")))
        XCTAssertEqual(reply, "p1 BAD APPEND not allowed before login.\r\n")
        guard case .skipAppend = outcome else { return XCTFail("\(outcome)") }
    }

    /// The selected folder vanished (removed by another program): the command
    /// finishes, then BYE, and the connection is to close.
    func testSelectedMailboxGoneSaysBye() async throws {
        let h = try await SessionHarness(testCase: self)
        try await h.logIn()
        _ = try await h.send("s1 SELECT Work\r\n")
        try FileManager.default.removeItem(atPath: h.maildir.root + "/alice/.Work")
        let reply = try await h.send("n1 NOOP\r\n")
        XCTAssertTrue(
            reply.hasSuffix("* BYE Selected mailbox was deleted or renamed, have to disconnect.\r\n"), reply)
        XCTAssertTrue(reply.contains("n1 OK NOOP completed.\r\n"), reply)
        guard case .close? = h.lastOutcome else { return XCTFail("\(String(describing: h.lastOutcome))") }
    }

    /// A line nobody asked for (the connection and the session disagree) still gets
    /// an answer: `* NO [SERVERBUG]`.
    func testUnexpectedContinuationLineIsAServerBug() async throws {
        let h = try await SessionHarness(testCase: self)
        let (_, reply) = try await h.handle(.continuationLine(Secret(Array("DONE".utf8))))
        XCTAssertEqual(reply, "* NO [SERVERBUG] \(CommandError.serverFaultText)\r\n")
    }
}
