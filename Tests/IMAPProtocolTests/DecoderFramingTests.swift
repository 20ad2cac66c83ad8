import IMAPProtocol
import NIOCore
import XCTest

/// Framing: lines, literals (RFC 9051 §4.3, LITERAL+ RFC 7888, literal8 RFC 3516),
/// limits, continuation lines, pipelining and STARTTLS discarding.
final class DecoderFramingTests: XCTestCase {
    private func next(_ decoder: inout CommandDecoder, _ text: String) -> [DecoderEvent] {
        feed(&decoder, bytes(text))
    }

    private func assertEvents(
        _ events: [DecoderEvent], _ expected: [DecoderEvent], file: StaticString = #filePath, line: UInt = #line
    ) {
        XCTAssertEqual(events.map(canonical), expected.map(canonical), file: file, line: line)
    }

    func testSynchronizingLiteralAsksForContinuationBeforeTheBytes() {
        var decoder = CommandDecoder()
        assertEvents(next(&decoder, "a LOGIN {4}\r\n"), [.needsContinuation])
        XCTAssertEqual(decoder.next().map(canonical), nil)
        assertEvents(next(&decoder, "fred {6}\r\n"), [.needsContinuation])
        assertEvents(
            next(&decoder, "sec\r\nt\r\n"),
            [.command(TaggedCommand(tag: "a", command: .login(username: "fred", password: Secret(bytes("sec\r\nt")))))])
        XCTAssertEqual(decoder.bufferedByteCount, 0)
    }

    func testSynchronizingLiteralWholeAndDripped() {
        let events = decodeBothWays(bytes("a LOGIN {4}\r\nfred {2}\r\npw\r\nb NOOP\r\n"))
        assertEvents(
            events,
            [
                .needsContinuation, .needsContinuation,
                .command(TaggedCommand(tag: "a", command: .login(username: "fred", password: Secret(bytes("pw"))))),
                .command(TaggedCommand(tag: "b", command: .noop)),
            ])
    }

    func testNonSynchronizingLiteralNeedsNoContinuation() {
        assertEvents(
            decodeBothWays(bytes("a LOGIN {4+}\r\nfred {2+}\r\npw\r\n")),
            [.command(TaggedCommand(tag: "a", command: .login(username: "fred", password: Secret(bytes("pw")))))])
    }

    func testLiteralContentIsNotFramed() {
        // A literal may carry CRLF, `{5}` and what looks like a command.
        let content = "x {5}\r\nb NOOP\r\n"
        assertEvents(
            decodeBothWays(bytes("a LOGIN u {\(content.utf8.count)+}\r\n\(content)\r\nc NOOP\r\n")),
            [
                .command(TaggedCommand(tag: "a", command: .login(username: "u", password: Secret(bytes(content))))),
                .command(TaggedCommand(tag: "c", command: .noop)),
            ])
    }

    func testBraceInsideALineIsNotALiteral() {
        assertBad("a LOGIN {3}abc x", message: "Invalid literal")
        assertBad("a LOGIN {3} x", message: "Invalid literal")
    }

    func testLiteral8OnlyInAppend() {
        assertBad("a LOGIN ~{1+}\r\nx y")
        assertBad("a SELECT ~{5+}\r\nINBOX")
    }

    func testSynchronizingLiteralAfterAnInvalidTagIsRefused() {
        assertEvents(
            decodeBothWays(bytes("+x LOGIN {5}\r\nb NOOP\r\n")),
            [.bad(tag: nil, message: "Invalid tag"), .command(TaggedCommand(tag: "b", command: .noop))])
        // A non-synchronizing literal's bytes come anyway: they are skipped as part
        // of the command.
        assertEvents(
            decodeBothWays(bytes("+x LOGIN {5+}\r\nb NOO x\r\nc NOOP\r\n")),
            [.bad(tag: nil, message: "Invalid tag"), .command(TaggedCommand(tag: "c", command: .noop))])
    }

    func testOversizedSynchronizingLiteralIsRefusedBeforeContinuation() {
        var decoder = CommandDecoder(limits: DecoderLimits(maxLiteralSize: 100, maxCommandLiteralBytes: 1000))
        assertEvents(next(&decoder, "a APPEND INBOX {101}\r\n"), [.literalTooLarge(tag: "a", size: 101)])
        XCTAssertEqual(decoder.bufferedByteCount, 0)
        // The client does not send the literal; the next command parses.
        assertEvents(next(&decoder, "b NOOP\r\n"), [.command(TaggedCommand(tag: "b", command: .noop))])
        // Exactly at the limit is fine.
        assertEvents(next(&decoder, "c APPEND INBOX {100}\r\n"), [.needsContinuation])
    }

    func testHundredGigabyteLiteral() {
        assertEvents(
            decodeBothWays(bytes("a APPEND INBOX {107374182400}\r\nb NOOP\r\n")),
            [.literalTooLarge(tag: "a", size: 107_374_182_400), .command(TaggedCommand(tag: "b", command: .noop))])
        assertEvents(
            decodeBothWays(bytes("a APPEND INBOX {18446744073709551615}\r\n")),
            [.literalTooLarge(tag: "a", size: UInt64.max)])
    }

    func testAbsurdLiteralSizesAreBad() {
        assertEvents(
            decodeBothWays(bytes("a APPEND INBOX {123456789012345678901}\r\nb NOOP\r\n")),
            [.bad(tag: "a", message: "Invalid literal size"), .command(TaggedCommand(tag: "b", command: .noop))])
        assertEvents(
            decodeBothWays(bytes("a APPEND INBOX {18446744073709551616}\r\n")),
            [.bad(tag: "a", message: "Invalid literal size")])
        assertEvents(
            decodeBothWays(bytes("a APPEND INBOX {99999999999999999999999999+}\r\nxyz")),
            [.fatal(message: "Invalid literal size")])
    }

    func testCommandLiteralTotalLimit() {
        let limits = DecoderLimits(maxLiteralSize: 10, maxCommandLiteralBytes: 15)
        var decoder = CommandDecoder(limits: limits)
        assertEvents(next(&decoder, "a APPEND INBOX {10}\r\n"), [.needsContinuation])
        assertEvents(next(&decoder, "0123456789 {6}\r\n"), [.literalTooLarge(tag: "a", size: 6)])
        XCTAssertEqual(decoder.bufferedByteCount, 0)
        assertEvents(next(&decoder, "b NOOP\r\n"), [.command(TaggedCommand(tag: "b", command: .noop))])
        // 10 + 5 fits exactly.
        let fits = decodeEvents(bytes("a APPEND INBOX {10+}\r\n0123456789 {5+}\r\n01234\r\n"), limits: limits)
        XCTAssertEqual(fits.count, 1)
        guard case .command(let tagged)? = fits.first, case .append(_, let messages) = tagged.command else {
            return XCTFail("\(fits.map(canonical))")
        }
        XCTAssertEqual(messages.map(\.data), [bytes("0123456789"), bytes("01234")])
    }

    func testOversizedNonSynchronizingLiteralIsFatal() {
        var decoder = CommandDecoder(limits: DecoderLimits(maxLiteralSize: 100))
        assertEvents(next(&decoder, "a APPEND INBOX {101+}\r\nxxxx"), [.fatal(message: "Literal too large")])
        // Nothing more comes out and nothing is kept.
        assertEvents(next(&decoder, "b NOOP\r\n"), [])
        XCTAssertEqual(decoder.bufferedByteCount, 0)
    }

    func testMegabyteLineIsBadAndTheNextCommandParses() {
        let limits = DecoderLimits(maxLineLength: 1024)
        let long = "a SEARCH " + String(repeating: "X", count: 1 << 20) + "\r\nb NOOP\r\n"
        for chunk in [nil, 1, 7, 4096] as [Int?] {
            var decoder = CommandDecoder(limits: limits)
            var events: [DecoderEvent] = []
            let input = bytes(long)
            let step = chunk ?? input.count
            var offset = 0
            while offset < input.count {
                let end = min(input.count, offset + step)
                decoder.append(ByteBuffer(bytes: input[offset..<end]))
                offset = end
                while let e = decoder.next() { events.append(e) }
                // Never holds more than the line limit (plus what was just handed in).
                XCTAssertLessThanOrEqual(decoder.bufferedByteCount, 1024)
            }
            assertEvents(
                events,
                [.bad(tag: "a", message: "Line too long"), .command(TaggedCommand(tag: "b", command: .noop))])
        }
    }

    func testLongLineWithoutValidTagHasNoTag() {
        let limits = DecoderLimits(maxLineLength: 64)
        assertEvents(
            decodeBothWays(bytes(String(repeating: "(", count: 200) + "\r\nb NOOP\r\n"), limits: limits),
            [.bad(tag: nil, message: "Line too long"), .command(TaggedCommand(tag: "b", command: .noop))])
        // A tag longer than the limit is no readable tag either.
        assertEvents(
            decodeBothWays(bytes(String(repeating: "t", count: 200) + " NOOP\r\n"), limits: limits),
            [.bad(tag: nil, message: "Line too long")])
    }

    func testLineLengthBoundary() {
        let limits = DecoderLimits(maxLineLength: 16)
        // "a SELECT INBOX\r\n" is 16 bytes with its CRLF.
        assertEvents(
            decodeBothWays(bytes("a SELECT INBOX\r\n"), limits: limits),
            [.command(TaggedCommand(tag: "a", command: .select(.inbox, SelectParameters())))])
        assertEvents(
            decodeBothWays(bytes("a SELECT INBOXX\r\n"), limits: limits), [.bad(tag: "a", message: "Line too long")])
    }

    func testOverlongLineEndingInNonSynchronizingLiteralSkipsTheLiteral() {
        let limits = DecoderLimits(maxLineLength: 64)
        let text =
            "a APPEND " + String(repeating: "m", count: 100) + " {12+}\r\nb NOOP\r\nxxxx {3+}\r\nc N\r\nd NOOP\r\n"
        assertEvents(
            decodeBothWays(bytes(text), limits: limits),
            [.bad(tag: "a", message: "Line too long"), .command(TaggedCommand(tag: "d", command: .noop))])
    }

    func testOverlongLineEndingInSynchronizingLiteralIsJustBad() {
        let limits = DecoderLimits(maxLineLength: 64)
        let text = "a APPEND " + String(repeating: "m", count: 100) + " {12}\r\nb NOOP\r\n"
        assertEvents(
            decodeBothWays(bytes(text), limits: limits),
            [.bad(tag: "a", message: "Line too long"), .command(TaggedCommand(tag: "b", command: .noop))])
    }

    func testOverlongLineWithHugeNonSynchronizingLiteralIsFatal() {
        let limits = DecoderLimits(maxLineLength: 64, maxLiteralSize: 10)
        let text = "a APPEND " + String(repeating: "m", count: 100) + " {11+}\r\n"
        assertEvents(decodeBothWays(bytes(text), limits: limits), [.fatal(message: "Literal too large")])
    }

    func testManySmallLiteralsAreBoundedByTheLineLimit() {
        let limits = DecoderLimits(maxLineLength: 100)
        let text = "a ID (" + String(repeating: "{1+}\r\nk {1+}\r\nv ", count: 50) + "\"k\" NIL)\r\nb NOOP\r\n"
        assertEvents(
            decodeBothWays(bytes(text), limits: limits),
            [.bad(tag: "a", message: "Line too long"), .command(TaggedCommand(tag: "b", command: .noop))])
    }

    func testPipelinedCommands() {
        assertEvents(
            decodeBothWays(bytes("a NOOP\r\nb CAPABILITY\r\nc FETCH 1 UID\r\nd LOGOUT\r\n")),
            [
                .command(TaggedCommand(tag: "a", command: .noop)),
                .command(TaggedCommand(tag: "b", command: .capability)),
                .command(TaggedCommand(tag: "c", command: .fetch(.sequenceNumbers(seq(1)), [.uid], FetchModifiers()))),
                .command(TaggedCommand(tag: "d", command: .logout)),
            ])
    }

    func testBareLFAndEmptyLines() {
        assertEvents(
            decodeBothWays(bytes("\r\n\na NOOP\nb LOGIN {1}\nx y\n\r\nc NOOP\r\n")),
            [
                .command(TaggedCommand(tag: "a", command: .noop)), .needsContinuation,
                .command(TaggedCommand(tag: "b", command: .login(username: "x", password: Secret(bytes("y"))))),
                .command(TaggedCommand(tag: "c", command: .noop)),
            ])
    }

    func testContinuationLines() {
        var decoder = CommandDecoder()
        assertEvents(
            next(&decoder, "a AUTHENTICATE PLAIN\r\n"),
            [.command(TaggedCommand(tag: "a", command: .authenticate(mechanism: "PLAIN", initialResponse: nil)))])
        decoder.expectContinuationLine()
        assertEvents(next(&decoder, "AGZyZWQAc2VjcmV0\r\n"), [.continuationLine(Secret(bytes("AGZyZWQAc2VjcmV0")))])
        // Only the next line: then commands again.
        assertEvents(next(&decoder, "b NOOP\r\n"), [.command(TaggedCommand(tag: "b", command: .noop))])
        // An empty response line, and one that looks like a command with a literal.
        decoder.expectContinuationLine()
        assertEvents(next(&decoder, "\r\n"), [.continuationLine(Secret([]))])
        decoder.expectContinuationLine()
        assertEvents(next(&decoder, "c LOGIN {5}\r\n"), [.continuationLine(Secret(bytes("c LOGIN {5}")))])
    }

    func testIdleDoneAlreadyBuffered() {
        var decoder = CommandDecoder()
        decoder.append(ByteBuffer(string: "a IDLE\r\nDONE\r\nb NOOP\r\n"))
        assertEvents(decoder.next().map { [$0] } ?? [], [.command(TaggedCommand(tag: "a", command: .idle))])
        decoder.expectContinuationLine()
        assertEvents(decoder.next().map { [$0] } ?? [], [.continuationLine(Secret(bytes("DONE")))])
        assertEvents(decoder.next().map { [$0] } ?? [], [.command(TaggedCommand(tag: "b", command: .noop))])
        XCTAssertNil(decoder.next())
    }

    func testContinuationLineRequestedAfterItsFirstBytesArrived() {
        var decoder = CommandDecoder()
        assertEvents(next(&decoder, "a IDLE\r\nDO"), [.command(TaggedCommand(tag: "a", command: .idle))])
        decoder.expectContinuationLine()
        assertEvents(next(&decoder, "NE\r\n"), [.continuationLine(Secret(bytes("DONE")))])
    }

    /// Issue 11 item 7: an over-long continuation line is reported as such, so the
    /// AUTHENTICATE or IDLE waiting for it can end with its tag; the `{5+}` at its end
    /// is not a literal, and the next line is a command again.
    func testOverlongContinuationLineIsReportedAsABadContinuationLine() {
        var decoder = CommandDecoder(limits: DecoderLimits(maxLineLength: 32))
        decoder.expectContinuationLine()
        assertEvents(
            next(&decoder, "a " + String(repeating: "A", count: 100) + " {5+}\r\nb NOOP\r\n"),
            [.badContinuationLine(message: "Line too long"), .command(TaggedCommand(tag: "b", command: .noop))])
        // Dripped byte by byte: the same, and nothing of the long line is held.
        var dripped = CommandDecoder(limits: DecoderLimits(maxLineLength: 32))
        dripped.expectContinuationLine()
        var events: [DecoderEvent] = []
        for byte in bytes("DONE" + String(repeating: "x", count: 500) + "\r\nDONE\r\n") {
            events += feed(&dripped, [byte])
            XCTAssertLessThanOrEqual(dripped.bufferedByteCount, 32)
        }
        assertEvents(
            events, [.badContinuationLine(message: "Line too long"), .bad(tag: "DONE", message: "Missing command")])
    }

    /// Issue 11 item 3: before login a command holds at most one line of text and 8 KiB
    /// of literals; a larger literal is refused before any of its bytes is buffered.
    func testBeforeLoginLimitsRefuseLargeLiteralsAtTheirAnnouncement() {
        let limits = DecoderLimits().beforeLogin
        XCTAssertEqual(limits.maxLineLength, DecoderLimits().maxLineLength)
        XCTAssertEqual(limits.maxLiteralSize, 8192)
        XCTAssertEqual(limits.maxCommandLiteralBytes, 8192)
        // Lower configured limits stay lower.
        XCTAssertEqual(DecoderLimits(maxLiteralSize: 1000).beforeLogin.maxLiteralSize, 1000)
        var decoder = CommandDecoder(limits: limits)
        assertEvents(next(&decoder, "a LOGIN {67108864+}\r\n"), [.fatal(message: "Literal too large")])
        XCTAssertEqual(decoder.bufferedByteCount, 0)
        decoder = CommandDecoder(limits: limits)
        assertEvents(next(&decoder, "a LOGIN {8193}\r\n"), [.literalTooLarge(tag: "a", size: 8193)])
        // Two literals within the per-literal limit but over the per-command total.
        assertEvents(next(&decoder, "b LOGIN {5000+}\r\n"), [])
        assertEvents(
            next(&decoder, String(repeating: "u", count: 5000) + " {5000}\r\n"),
            [.literalTooLarge(tag: "b", size: 5000)])
        XCTAssertEqual(decoder.bufferedByteCount, 0)
        // The limits can be raised once logged in: the next command gets them.
        decoder.limits = DecoderLimits()
        assertEvents(next(&decoder, "c LOGIN {8193}\r\n"), [.needsContinuation])
    }

    /// The handler charges announced literal bytes to a server-wide budget and may
    /// refuse a synchronizing literal instead of sending `+`.
    func testAnnouncedLiteralBytesAndRefusingAnAnnouncedLiteral() {
        var decoder = CommandDecoder()
        XCTAssertEqual(decoder.announcedLiteralBytes, 0)
        assertEvents(next(&decoder, "a SEARCH TEXT {3+}\r\nabc TEXT {1000}\r\n"), [.needsContinuation])
        XCTAssertEqual(decoder.announcedLiteralBytes, 1003)
        XCTAssertEqual(decoder.refuseAnnouncedLiteral(), "a")
        XCTAssertEqual(decoder.announcedLiteralBytes, 0)
        XCTAssertEqual(decoder.bufferedByteCount, 0)
        assertEvents(next(&decoder, "b NOOP\r\n"), [.command(TaggedCommand(tag: "b", command: .noop))])
        // A streamed APPEND holds no literal in memory.
        decoder.streamsAppend = true
        _ = next(&decoder, "c APPEND INBOX {100000}\r\n")
        XCTAssertEqual(decoder.announcedLiteralBytes, 0)
    }

    func testDiscardBufferedInputAfterStartTLS() {
        var decoder = CommandDecoder()
        decoder.append(ByteBuffer(string: "a STARTTLS\r\nb LOGIN fred secret\r\nc APPEND x {5}\r\nab"))
        assertEvents(decoder.next().map { [$0] } ?? [], [.command(TaggedCommand(tag: "a", command: .starttls))])
        XCTAssertGreaterThan(decoder.bufferedByteCount, 0)
        decoder.discardBufferedInput()
        XCTAssertEqual(decoder.bufferedByteCount, 0)
        XCTAssertNil(decoder.next())
        assertEvents(next(&decoder, "d NOOP\r\n"), [.command(TaggedCommand(tag: "d", command: .noop))])
    }

    func testDiscardInTheMiddleOfALiteral() {
        var decoder = CommandDecoder()
        assertEvents(next(&decoder, "a APPEND x {10}\r\nabc"), [.needsContinuation])
        XCTAssertEqual(decoder.bufferedByteCount, "a APPEND x {10}abc".utf8.count)
        decoder.discardBufferedInput()
        XCTAssertEqual(decoder.bufferedByteCount, 0)
        assertEvents(next(&decoder, "b NOOP\r\n"), [.command(TaggedCommand(tag: "b", command: .noop))])
    }

    func testPartialInputWaits() {
        var decoder = CommandDecoder()
        assertEvents(next(&decoder, "a NO"), [])
        XCTAssertEqual(decoder.bufferedByteCount, 4)
        assertEvents(next(&decoder, "OP\r"), [])
        assertEvents(next(&decoder, "\n"), [.command(TaggedCommand(tag: "a", command: .noop))])
        XCTAssertEqual(decoder.bufferedByteCount, 0)
    }
}
