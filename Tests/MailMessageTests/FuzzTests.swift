import Foundation
import IMAPProtocol
import XCTest

@testable import MailMessage

/// A deterministic mutation fuzzer for the MIME parser, run by CI as an ordinary test.
///
/// Seeds: every file in `FuzzCorpus/` (keep inputs that once broke the parser there).
/// Each iteration takes a seed, applies 1–8 mutations (byte flips, MIME token
/// insertions, deletions, duplications of a range, splices with another seed,
/// truncation) and checks that every accessor the server uses answers without
/// crashing and within the message's bounds. The generator is SplitMix64 with a fixed
/// seed, so a failure reproduces; the failing input is written to the temporary
/// directory and named in the failure message.
///
/// `IMAPD_FUZZ_ITERATIONS` (default 20,000, a few seconds) and `IMAPD_FUZZ_SEED` let a
/// developer run longer or other campaigns: `IMAPD_FUZZ_ITERATIONS=1000000 swift test
/// --filter FuzzTests`.
final class FuzzTests: XCTestCase {
    static let defaultIterations = 20_000
    static let defaultSeed: UInt64 = 0x1AB5_F00D
    static let iterationsVariable = "IMAPD_FUZZ_ITERATIONS"
    static let seedVariable = "IMAPD_FUZZ_SEED"
    static let corpusDirectory = "FuzzCorpus"
    static let minimumSeeds = 15

    /// Tokens that steer mutations towards the parser's interesting states.
    static let tokens: [String] = [
        "\n", "\r\n", "\r", "\n\n", " ", "\t", ":", ";", "\"", "\\", "(", ")", "<", ">", "@", ",", "=?utf-8?q?",
        "=?iso-8859-1?b?", "?=", "--", "--a", "--b--", "--=_x", "Content-Type: multipart/mixed; boundary=a\n",
        "Content-Type: message/rfc822\n\n", "Content-Type: multipart/digest; boundary=b\n\n",
        "Content-Type: text/plain; charset*0*=utf-8''%E2; charset*1*=%82\n", "boundary=\"\"",
        "Content-Transfer-Encoding: base64\n", "Content-Transfer-Encoding: quoted-printable\n",
        "Content-Transfer-Encoding: x-unknown\n", "=3D", "=\n", "=ZZ", "%", "*0*=", "From: ", "To: g:;",
        "Date: 31 Feb 99 25:61 +9999\n", "\0", "\u{FF}", "é", "MIME-Version: 1.0\n",
    ]

    static func corpus(file: StaticString = #filePath) throws -> [[UInt8]] {
        let dir = URL(fileURLWithPath: "\(file)").deletingLastPathComponent().appendingPathComponent(corpusDirectory)
        let names = try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted()
        return try names.map { Array(try Data(contentsOf: dir.appendingPathComponent($0))) }
    }

    static func mutate(_ input: [UInt8], corpus: [[UInt8]], _ rng: inout RobustnessTests.Random) -> [UInt8] {
        var bytes = input
        for _ in 0..<(1 + rng.below(8)) {
            let at = rng.below(bytes.count + 1)
            switch rng.below(7) {
            case 0:
                if at < bytes.count { bytes[at] = UInt8(truncatingIfNeeded: rng.next()) }
            case 1, 2:
                bytes.insert(contentsOf: Array(tokens[rng.below(tokens.count)].utf8), at: at)
            case 3:
                let end = min(bytes.count, at + rng.below(64))
                bytes.removeSubrange(at..<end)
            case 4:
                let end = min(bytes.count, at + rng.below(256))
                bytes.insert(contentsOf: bytes[at..<end], at: rng.below(bytes.count + 1))
            case 5:
                let other = corpus[rng.below(corpus.count)]
                let from = rng.below(other.count + 1)
                bytes = Array(bytes[..<at]) + other[from...]
            default:
                bytes = Array(bytes[..<at])
            }
        }
        return bytes
    }

    /// Every accessor the server calls for FETCH and SEARCH, with the invariants that
    /// must hold for any input. Returns false when an invariant failed.
    static func check(_ bytes: [UInt8]) -> Bool {
        var ok = true
        bytes.withUnsafeBytes { raw in
            let tree = MessageTree.parse(raw)
            ok = ok && tree.rawSize == raw.count
            ok = ok && tree.crlfSize == crlfLength(raw)
            _ = tree.envelope(raw)
            _ = tree.bodyStructure(raw, extensible: true)
            _ = tree.bodyStructure(raw, extensible: false)
            _ = tree.decodedHeaders(raw)
            _ = tree.decodedBodyTexts(raw)
            _ = tree.sentDate(raw)
            for path in [[], [1], [2], [1, 1], [1, 2], [2, 1], [1, 1, 1], [3]] {
                for text: SectionText? in [nil, .mime, .header, .text, .headerFields(["From", "Subject"])] {
                    if path.isEmpty && text == .mime { continue }
                    switch tree.section(SectionSpec(part: path, text: text), raw) {
                    case .raw(let range, let length):
                        ok = ok && range.lowerBound >= 0 && range.upperBound <= raw.count && length >= range.count
                    case .bytes, nil: break
                    }
                }
                switch tree.binaryContent(path, raw) {
                case .raw(let range, let length):
                    ok = ok && range.lowerBound >= 0 && range.upperBound <= raw.count && length >= range.count
                case .decoded, .unknownEncoding, nil: break
                }
            }
        }
        return ok
    }

    func testMutationCampaign() throws {
        let environment = ProcessInfo.processInfo.environment
        let iterations = environment[Self.iterationsVariable].flatMap(Int.init) ?? Self.defaultIterations
        let seed = environment[Self.seedVariable].flatMap { UInt64($0) } ?? Self.defaultSeed
        let corpus = try Self.corpus()
        XCTAssertGreaterThanOrEqual(corpus.count, Self.minimumSeeds)
        var rng = RobustnessTests.Random(state: seed)
        var failures = 0
        for seedInput in corpus { XCTAssertTrue(Self.check(seedInput)) }
        for iteration in 0..<iterations {
            let input = Self.mutate(corpus[rng.below(corpus.count)], corpus: corpus, &rng)
            if !Self.check(input) {
                failures += 1
                let path = NSTemporaryDirectory() + "imapd-fuzz-\(seed)-\(iteration).eml"
                _ = FileManager.default.createFile(atPath: path, contents: Data(input))
                XCTFail("invariant broken by iteration \(iteration); input saved to \(path)")
                if failures >= 5 { break }
            }
        }
    }
}
