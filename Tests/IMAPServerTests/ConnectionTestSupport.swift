import Foundation
import IMAPServer
import Logging
import Synchronization
import XCTest

extension XCTestCase {
    /// Stops `server` when the test ends, passed or failed.
    func stopAtTeardown(_ server: RunningServer) {
        let imap = server.server
        addTeardownBlock { await imap.shutdown() }
    }
}

/// Keeps every line the server logs (message and metadata), for tests that check what
/// is logged and how often.
final class ServerLogRecorder: Sendable {
    private let lines = Mutex<[(level: Logger.Level, text: String)]>([])

    func logger(level: Logger.Level = .notice) -> Logger {
        var logger = Logger(label: "test") { _ in Handler(recorder: self) }
        logger.logLevel = level
        return logger
    }

    /// Lines at `level` containing `text`.
    func count(_ text: String, level: Logger.Level) -> Int {
        lines.withLock { $0.filter { $0.level == level && $0.text.contains(text) }.count }
    }

    var all: [String] { lines.withLock { $0.map(\.text) } }

    fileprivate func append(_ level: Logger.Level, _ text: String) { lines.withLock { $0.append((level, text)) } }

    private struct Handler: LogHandler {
        let recorder: ServerLogRecorder
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            var merged = metadata
            if let extra = event.metadata { merged.merge(extra) { $1 } }
            let fields = merged.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
            recorder.append(event.level, ([event.message.description] + fields).joined(separator: " "))
        }
    }
}
