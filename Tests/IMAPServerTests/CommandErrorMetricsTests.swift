import CoreMetrics
import Foundation
import IMAPProtocol
import XCTest

@testable import IMAPServer

/// `imap_command_errors_total{kind}` (issue 12, README "Metrics"): each failed command
/// is counted once under the kind of its CommandError. Driven without a socket
/// (SessionHarness); the counts are read as deltas because the counter is process-wide.
final class CommandErrorMetricsTests: XCTestCase {
    func testFailuresAreCountedByKind() async throws {
        let counts = ErrorKindCounts.shared
        let before = counts.snapshot()
        let h = try await SessionHarness(testCase: self)
        // A command in the wrong state: BAD, counted as syntax (RFC 9051 §6).
        let early = try await h.send("a1 SELECT INBOX\r\n")
        XCTAssertEqual(early, "a1 BAD SELECT not allowed before login.\r\n")
        try await h.logIn()
        // A folder that does not exist: NO with a response code, a user error.
        let missing = try await h.send("a2 SELECT Nowhere\r\n")
        XCTAssertTrue(missing.hasPrefix("a2 NO [NONEXISTENT] "), missing)
        // A line nobody asked for: the session and the connection disagree.
        let (_, bug) = try await h.handle(.continuationLine(Secret(Array("DONE".utf8))))
        XCTAssertEqual(bug, "* NO [SERVERBUG] \(CommandError.serverFaultText)\r\n")
        let after = counts.snapshot()
        for kind in ["syntax", "user", "server"] {
            XCTAssertEqual(after[kind, default: 0] - before[kind, default: 0], 1, kind)
        }
    }
}

/// A metrics backend that keeps only `imap_command_errors_total` by kind; every other
/// metric is a no-op, so the rest of the suite (memory-bound tests included) is
/// unaffected. `MetricsSystem.bootstrap` may run once per process: `shared` does it.
final class ErrorKindCounts: MetricsFactory, @unchecked Sendable {
    static let shared: ErrorKindCounts = {
        let counts = ErrorKindCounts()
        MetricsSystem.bootstrap(counts)
        return counts
    }()

    private let lock = NSLock()
    private var counts: [String: Int64] = [:]

    func snapshot() -> [String: Int64] { lock.withLock { counts } }

    fileprivate func add(_ amount: Int64, kind: String) { lock.withLock { counts[kind, default: 0] += amount } }

    func makeCounter(label: String, dimensions: [(String, String)]) -> CounterHandler {
        guard label == "imap_command_errors_total", let kind = dimensions.first(where: { $0.0 == "kind" })?.1
        else { return NOOPMetricsHandler.instance }
        return KindCounter(counts: self, kind: kind)
    }

    func makeRecorder(label: String, dimensions: [(String, String)], aggregate: Bool) -> RecorderHandler {
        NOOPMetricsHandler.instance
    }

    func makeTimer(label: String, dimensions: [(String, String)]) -> TimerHandler { NOOPMetricsHandler.instance }
    func destroyCounter(_ handler: CounterHandler) {}
    func destroyRecorder(_ handler: RecorderHandler) {}
    func destroyTimer(_ handler: TimerHandler) {}
}

private final class KindCounter: CounterHandler, @unchecked Sendable {
    let counts: ErrorKindCounts
    let kind: String

    init(counts: ErrorKindCounts, kind: String) {
        self.counts = counts
        self.kind = kind
    }

    func increment(by amount: Int64) { counts.add(amount, kind: kind) }
    func reset() {}
}
