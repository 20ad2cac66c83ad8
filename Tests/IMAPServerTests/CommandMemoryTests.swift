import Foundation
import IMAPProtocol
import XCTest

@testable import IMAPServer

/// Issue 11 item 3: memory a client can make the server hold with commands it never
/// finishes. Before login a command may hold one line of text and 8 KiB of literals;
/// after login, literals of buffered commands (all but APPEND, which streams to disk)
/// come out of one server-wide budget.
final class CommandMemoryTests: XCTestCase {
    /// The attack of the issue, from 20 connections open together: `a LOGIN {67108864+}`, 64
    /// MiB, ` {67108864+}`, 64 MiB, never a CRLF. The old server kept all of it (6
    /// connections took it from 24 to 939 MiB). The server runs in this process, so its
    /// peak resident memory (VmHWM, reset first) is this process's.
    func testUnfinishedPreLoginCommandsWithHugeLiteralsCostAlmostNothing() async throws {
        let server = try await startServer()
        let connections = 20
        let literal = [UInt8](repeating: UInt8(ascii: "x"), count: 64 << 20)
        let marker = Array("{\(literal.count)+}\r\n".utf8)
        try resetPeakMemory()
        let before = try memoryKiB("VmRSS")
        let clients = try (0..<connections).map { _ in try server.connect() }
        // All connections stay open; each sends its attack in turn.
        for client in clients {
            client.sendRaw(Array("a LOGIN ".utf8) + marker)
            client.sendRaw(literal)  // stops at the first failed send (the server closed)
            client.sendRaw(Array(" ".utf8) + marker)
            client.sendRaw(literal)
        }
        for client in clients {
            XCTAssertTrue(client.closes(within: 10), "the server must close the connection")
        }
        let peakGrowth = try memoryKiB("VmHWM") - before
        // What the limits allow per connection: the pre-login command (a line of text, 8
        // KiB of literals), the pre-login input queue (8 KiB) and one socket read (64
        // KiB); plus 32 MiB for everything else this process does meanwhile.
        let line = DecoderLimits().maxLineLength
        let perConnection = (line + 2 * DecoderLimits.beforeLoginBytes + 64 * 1024) / 1024
        let bound = connections * perConnection + 32 * 1024
        XCTAssertLessThan(peakGrowth, bound, "peak RSS grew by \(peakGrowth) KiB")
        let limits = server.server.context.limits
        XCTAssertTrue(pollUntil { limits.connections(from: "127.0.0.1").open == 0 })
        withExtendedLifetime(literal) {}
    }

    /// Before login a synchronizing literal over 8 KiB gets NO before its `+` and the
    /// connection stays usable; a non-synchronizing one ends it with BYE at once. After
    /// login the configured limits apply.
    func testPreLoginLiteralLimitAndItsEndAtLogin() async throws {
        let server = try await startServer()
        let client = try server.connect()
        client.sendRaw("a LOGIN {8193}\r\n")
        XCTAssertEqual(try client.readLine(), "a NO [TOOBIG] Literal too large (limit 8192 bytes).")
        client.sendRaw("b LOGIN {5}\r\n")
        XCTAssertTrue(try client.readLine().hasPrefix("+"))
        client.sendRaw("alice {6}\r\n")
        XCTAssertTrue(try client.readLine().hasPrefix("+"))
        client.sendRaw("secret\r\n")
        XCTAssertTrue(try client.collect(tag: "b").ok)
        client.sendRaw("c SEARCH TEXT {100000}\r\n")
        XCTAssertTrue(try client.readLine().hasPrefix("+"), "logged in: the configured limits apply")

        let other = try server.connect()
        other.sendRaw("a LOGIN {67108864+}\r\n")
        XCTAssertTrue(other.closes(within: 10))
        XCTAssertEqual(other.readUntilClosed(), "* BYE Literal too large\r\n")
    }

    /// The pre-login limits are on literals, not on the command line: an ID of 60
    /// fields of up to 1 KiB each (30 KiB, imaptest's `id` group) is answered before
    /// login, as Dovecot answers it.
    func testALongIDLineIsAnsweredBeforeLogin() async throws {
        let server = try await startServer()
        let client = try server.connect()
        let value = String(repeating: "1234567890", count: 100)
        let fields = (0..<30).map { "\"k\($0)\" \"\(value)\"" }.joined(separator: " ")
        client.sendRaw("a ID (\(fields))\r\n")
        XCTAssertTrue(try client.collect(tag: "a").ok)
    }

    /// After login: literals of buffered commands share `maxBufferedLiteralBytes`. One
    /// that does not fit is refused (`NO [LIMIT]` before `+`, `BYE` for `{n+}`), and
    /// what a command held is given back when it ends or its connection closes.
    func testBufferedLiteralsShareOneServerWideBudget() async throws {
        let server = try await startServer { $0.maxBufferedLiteralBytes = 100_000 }
        let budget = server.server.context.literalBudget
        let first = try server.connect()
        let second = try server.connect()
        let third = try server.connect()
        for client in [first, second, third] { try client.login() }
        XCTAssertTrue(try first.command("SELECT INBOX").ok)

        first.sendRaw("f1 SEARCH TEXT {60000}\r\n")
        XCTAssertTrue(try first.readLine().hasPrefix("+"))
        first.sendRaw(String(repeating: "y", count: 1000))  // part of it; the rest later
        XCTAssertTrue(pollUntil { budget.inUse == 60000 })

        second.sendRaw("s1 SEARCH TEXT {60000}\r\n")
        XCTAssertEqual(try second.readLine(), "s1 NO [LIMIT] \(ConnectionResponse.literalBudgetText)")
        XCTAssertTrue(try second.command("NOOP").ok, "the refused command leaves the connection usable")

        third.sendRaw("t1 SEARCH TEXT {60000+}\r\n")
        XCTAssertTrue(third.closes(within: 10))
        XCTAssertEqual(third.readUntilClosed(), "* BYE \(ConnectionResponse.literalBudgetText)\r\n")

        first.sendRaw(String(repeating: "y", count: 59000) + "\r\n")
        XCTAssertTrue(try first.collect(tag: "f1").ok)
        XCTAssertEqual(budget.inUse, 0)
        // With the budget free again, the same command fits.
        second.sendRaw("s2 SEARCH TEXT {60000}\r\n")
        XCTAssertTrue(try second.readLine().hasPrefix("+"))
        second.sendRaw(String(repeating: "z", count: 10))
        XCTAssertTrue(pollUntil { budget.inUse == 60000 })
        // A connection that closes mid-literal gives its share back.
        second.disconnect()
        XCTAssertTrue(pollUntil { budget.inUse == 0 })
    }

    private func resetPeakMemory() throws {
        // "5" resets VmHWM to the current RSS (proc(5), /proc/pid/clear_refs).
        try "5".write(toFile: "/proc/self/clear_refs", atomically: false, encoding: .utf8)
    }

    private func memoryKiB(_ field: String) throws -> Int {
        let status = try String(contentsOfFile: "/proc/self/status", encoding: .utf8)
        guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix(field + ":") }),
            let number = line.dropFirst(field.count + 1).split(whereSeparator: { $0 == " " || $0 == "\t" }).first,
            let value = Int(number)
        else { throw POSIXError(.EINVAL) }
        return value
    }
}
