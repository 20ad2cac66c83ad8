import Foundation
import XCTest

@testable import imapd_bench

/// Our SORT and THREAD answers against Dovecot's on the benchmark spool (issue 15: "SORT
/// and THREAD results on the generated benchmark spool match Dovecot's for every key").
///
/// The folder is what `imapd-bench generate --users 0 --huge-user alice --huge-messages
/// 2000 --seed 6 --uidlist` writes: 2,000 varied MIME messages with realistic headers
/// (display names with accents, RFC 2047 subjects, Cc on some, In-Reply-To chains), flags
/// in the file names, and a dovecot-uidlist fixing UID n for the n-th message, so that both
/// servers number them alike. `Golden/sort-thread-bench/dovecot.txt` holds Debian's
/// dovecot-imapd 2.3.19 answers to sort_thread.py's BENCH_COMMANDS (every SORT key both
/// ways, several keys, UID SORT, search criteria, every THREAD algorithm), recorded by
/// `COMMANDS=bench contrib/golden/record-sort-thread.sh`; every untagged line and tagged
/// status must be equal. The corner cases of RFC 5256 are SortThreadGoldenTests' corpus;
/// this one checks the same code on ordinary mail at a size where ties and long threads occur.
final class SortThreadBenchGoldenTests: XCTestCase {
    static let golden = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Golden/sort-thread-bench/dovecot.txt")
    static let messages = 2000
    static let seed: UInt64 = 6

    func testAnswersMatchDovecot() async throws {
        let text = try String(contentsOf: Self.golden, encoding: .utf8)
        let exchanges = SortThreadGoldenTests.recorded(from: text)
        XCTAssertGreaterThanOrEqual(exchanges.count, 40)
        let server = try await startServer()
        var rng = SplitMix64(seed: Self.seed)
        try Generate.writeMaildir(
            root: server.maildir.root + "/alice", count: Self.messages, small: true, uidlist: true, rng: &rng)
        let client = try server.connect()
        try client.login()
        let examine = try client.command("EXAMINE INBOX")
        XCTAssertTrue(examine.untagged.contains("* \(Self.messages) EXISTS"), "\(examine.untagged)")
        for exchange in exchanges {
            let reply = try client.command(exchange.command)
            XCTAssertEqual(reply.untagged, exchange.untagged, exchange.command)
            XCTAssertEqual(
                reply.tagged.split(separator: " ").dropFirst().first.map(String.init), exchange.status,
                exchange.command)
        }
    }
}
