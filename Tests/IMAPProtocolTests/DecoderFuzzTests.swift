import IMAPProtocol
import NIOCore
import XCTest

/// A libFuzzer-style smoke test without libFuzzer: a deterministic generator feeds
/// 100,000 random and mutated inputs through the decoder in random chunks, with
/// random continuation-line requests and STARTTLS discards. The decoder must never
/// trap, must stop producing events, and must never hold more than its limits. A
/// second target drives the pre-login limits and the continuation-line states.
final class DecoderFuzzTests: XCTestCase {
    /// SplitMix64: tiny, deterministic, good enough to spread inputs.
    struct SplitMix64 {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        mutating func below(_ n: Int) -> Int { Int(next() % UInt64(max(1, n))) }
        mutating func chance(_ percent: Int) -> Bool { below(100) < percent }
    }

    static let corpus: [String] = [
        "a001 login mrc secret\r\n",
        "a002 select inbox (QRESYNC (67890007 90060115194045000 41:211,214:541 (1,3,5 41,43,45)))\r\n",
        "a003 fetch 12 full\r\n",
        "a004 UID FETCH 1:* (FLAGS BODY.PEEK[1.2.HEADER.FIELDS (From To)]<0.1024> BINARY[1]<0.10>) (CHANGEDSINCE 5 VANISHED)\r\n",
        "a005 store 12 +flags \\deleted\r\n",
        "a006 STORE 1:3 (UNCHANGEDSINCE 7) -FLAGS.SILENT (\\Seen $Junk)\r\n",
        "a007 SEARCH RETURN (MIN MAX) CHARSET UTF-8 OR (SEEN FLAGGED) NOT HEADER Subject {3}\r\nabc SINCE \"1-Feb-1994\"\r\n",
        "a008 APPEND INBOX (\\Seen) \" 7-Feb-1994 21:52:25 -0800\" {5+}\r\nhello ~{3}\r\nxyz\r\n",
        "a009 LIST (SUBSCRIBED) \"\" (\"INBOX\" %) RETURN (CHILDREN STATUS (MESSAGES UNSEEN))\r\n",
        "a010 ID (\"name\" \"x\" \"version\" NIL)\r\n",
        "a011 AUTHENTICATE PLAIN AGZyZWQAc2VjcmV0\r\n",
        "a012 CREATE Sent (USE (\\Sent))\r\n",
        "a013 UID MOVE 1,3:5 \"Saved Mail\"\r\n",
        "a014 STATUS x (MESSAGES UIDNEXT)\r\n",
        "a015 IDLE\r\nDONE\r\n",
        "a016 SEARCH ((((((NOT NOT 1:*))))))\r\n",
    ]

    func testRandomAndMutatedInputsNeverTrapOrHang() {
        var rng = SplitMix64(state: 0x1DEA_5EED)
        let limits = DecoderLimits(maxLineLength: 256, maxLiteralSize: 64, maxCommandLiteralBytes: 128)
        let corpus = Self.corpus.map { Array($0.utf8) }
        let interesting: [UInt8] = Array("{}~+()[]<>\"\\*%$:,. \r\n0123456789".utf8)
        var decoder = CommandDecoder(limits: limits)
        var counts = (commands: 0, bads: 0, other: 0)
        for _ in 0..<100_000 {
            let input = makeInput(&rng, corpus: corpus, interesting: interesting)
            var offset = 0
            while offset < input.count {
                let end = min(input.count, offset + 1 + rng.below(rng.chance(50) ? 4 : 64))
                decoder.append(ByteBuffer(bytes: input[offset..<end]))
                offset = end
                if rng.chance(2) { decoder.expectContinuationLine() }
                if rng.chance(1) { decoder.discardBufferedInput() }
                var produced = 0
                while let event = decoder.next() {
                    produced += 1
                    switch event {
                    case .command: counts.commands += 1
                    case .bad: counts.bads += 1
                    case .fatal: decoder = CommandDecoder(limits: limits)
                    default: counts.other += 1
                    }
                    // Each event needs at least one byte of input.
                    guard produced <= end + 1 else { return XCTFail("decoder keeps producing events") }
                }
                // Everything handed in has been framed: only the current command remains.
                XCTAssertLessThanOrEqual(
                    decoder.bufferedByteCount, limits.maxLineLength + limits.maxCommandLiteralBytes)
            }
        }
        // The generator must actually reach the grammar, not only the framer.
        XCTAssertGreaterThan(counts.commands, 10_000)
        XCTAssertGreaterThan(counts.bads, 10_000)
    }

    /// Issue 11 items 3, 7: the states a connection is in before login (the
    /// `beforeLogin` limits: 8 KiB of literals) and while AUTHENTICATE or IDLE waits for its continuation
    /// line. The decoder is driven as the connection handler drives it: after an IDLE
    /// or an AUTHENTICATE without initial response it is told a continuation line comes
    /// next, and the next event must then be that line or its refusal (never a command,
    /// which is how `DONE` became `DONE BAD Missing command`). Inputs include lines and
    /// literals past the limits; the decoder never holds more than the limits.
    func testBeforeLoginAndContinuationLineStates() {
        var rng = SplitMix64(state: 0x5EED_1057)
        // A configured line limit of 8 KiB keeps the inputs around the limits small.
        let limits = DecoderLimits(maxLineLength: 8192).beforeLogin
        let bound = limits.maxLineLength + limits.maxCommandLiteralBytes
        var decoder = CommandDecoder(limits: limits)
        var awaitingLine = false
        var counts = (lines: 0, badLines: 0, commands: 0, fatal: 0)
        for _ in 0..<6_000 {
            let input = makeLoginStateInput(&rng, lineLimit: limits.maxLineLength)
            var offset = 0
            while offset < input.count {
                let end = min(input.count, offset + 1 + rng.below(rng.chance(50) ? 16 : 4096))
                decoder.append(ByteBuffer(bytes: input[offset..<end]))
                offset = end
                var produced = 0
                while let event = decoder.next() {
                    produced += 1
                    guard produced <= end + 1 else { return XCTFail("decoder keeps producing events") }
                    if awaitingLine {
                        switch event {
                        case .continuationLine(let line):
                            counts.lines += 1
                            XCTAssertLessThan(line.bytes.count, limits.maxLineLength)
                        case .badContinuationLine: counts.badLines += 1
                        default: return XCTFail("expected a continuation line, got \(event)")
                        }
                        awaitingLine = false
                        continue
                    }
                    switch event {
                    case .command(let tagged):
                        counts.commands += 1
                        switch tagged.command {
                        case .idle, .authenticate(_, nil):
                            decoder.expectContinuationLine()
                            awaitingLine = true
                        default: break
                        }
                    case .continuationLine, .badContinuationLine:
                        return XCTFail("continuation line nobody asked for: \(event)")
                    case .fatal:
                        counts.fatal += 1
                        decoder = CommandDecoder(limits: limits)
                    default: break
                    }
                }
                XCTAssertLessThanOrEqual(decoder.bufferedByteCount, bound)
            }
        }
        // Every state was reached often (about 1,600 / 200 / 2,300 / 360 with this seed).
        XCTAssertGreaterThan(counts.lines, 800)
        XCTAssertGreaterThan(counts.badLines, 100)
        XCTAssertGreaterThan(counts.commands, 1_000)
        XCTAssertGreaterThan(counts.fatal, 150)
    }

    private func makeLoginStateInput(_ rng: inout SplitMix64, lineLimit: Int) -> [UInt8] {
        let starts = [
            "a IDLE\r\n", "a AUTHENTICATE PLAIN\r\n", "a AUTHENTICATE PLAIN AGZyZWQAc2VjcmV0\r\n",
            "a LOGIN fred secret\r\n", "a LOGIN {5}\r\nfred {6}\r\nsecret\r\n", "a NOOP\r\n",
            "a LOGIN {67108864+}\r\n", "a LOGIN {4000+}\r\n", "a ID (\"name\" {8000+}\r\n",
        ]
        // Half the inputs put the decoder in the continuation-line state.
        var input = Array(starts[rng.chance(50) ? rng.below(2) : rng.below(starts.count)].utf8)
        switch rng.below(6) {
        case 0: input += Array("DONE\r\n".utf8)
        case 1: input += Array("*\r\n".utf8)
        case 2:
            // A line around the limit: just under, at, or well past it.
            let length = [lineLimit - 3, lineLimit - 2, lineLimit - 1, lineLimit, lineLimit + 800, 2 * lineLimit][
                rng.below(6)]
            input += (0..<length).map { _ in UInt8(ascii: "A") + UInt8(rng.below(26)) } + [13, 10]
        case 3: input += (0..<rng.below(10_000)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        case 4: input += Array("x {".utf8) + Array(String(rng.below(20_000)).utf8) + Array("+}\r\n".utf8)
        default: break
        }
        return input
    }

    private func makeInput(_ rng: inout SplitMix64, corpus: [[UInt8]], interesting: [UInt8]) -> [UInt8] {
        if rng.chance(15) {
            // Pure noise, biased towards the bytes the grammar cares about.
            return (0..<rng.below(200)).map { _ in
                rng.chance(50) ? interesting[rng.below(interesting.count)] : UInt8(truncatingIfNeeded: rng.next())
            }
        }
        var input = corpus[rng.below(corpus.count)]
        for _ in 0..<rng.below(5) {
            guard !input.isEmpty else { break }
            let at = rng.below(input.count)
            switch rng.below(6) {
            case 0: input[at] = UInt8(truncatingIfNeeded: rng.next())
            case 1: input[at] = interesting[rng.below(interesting.count)]
            case 2: input.insert(interesting[rng.below(interesting.count)], at: at)
            case 3: input.remove(at: at)
            case 4: input.removeSubrange(at..<min(input.count, at + rng.below(20)))
            default:
                let other = corpus[rng.below(corpus.count)]
                let from = rng.below(other.count)
                input.insert(contentsOf: other[from..<min(other.count, from + rng.below(40))], at: at)
            }
        }
        return input
    }
}
