import Foundation
import Logging
import Synchronization

/// A clock the test moves by hand.
final class TestClock: Sendable {
    private let current = Mutex(ContinuousClock.now)

    var now: ContinuousClock.Instant { current.withLock { $0 } }

    func advance(by duration: Duration) {
        current.withLock { $0 = $0 + duration }
    }

    /// The closure to inject.
    var source: @Sendable () -> ContinuousClock.Instant {
        { [self] in self.now }
    }
}

/// Records every log line with its metadata, so tests can assert what was (and was not)
/// logged.
final class LogRecorder: Sendable {
    struct Record: Sendable {
        var level: Logger.Level
        var message: String
        var metadata: [String: String]

        /// Message and metadata as one string, for "never contains" checks.
        var rendered: String {
            ([message] + metadata.sorted(by: { $0.key < $1.key }).map { "\($0.key)=\($0.value)" })
                .joined(separator: " ")
        }
    }

    private let storage = Mutex<[Record]>([])

    var records: [Record] { storage.withLock { $0 } }

    func append(_ record: Record) { storage.withLock { $0.append(record) } }

    func logger() -> Logger {
        var logger = Logger(label: "auth-tests") { _ in RecordingHandler(recorder: self) }
        logger.logLevel = .trace
        return logger
    }
}

private struct RecordingHandler: LogHandler {
    let recorder: LogRecorder
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var merged = metadata
        if let extra = event.metadata { merged.merge(extra) { $1 } }
        recorder.append(
            LogRecorder.Record(
                level: event.level, message: event.message.description,
                metadata: merged.mapValues { $0.description }))
    }
}

/// A fresh directory under the system temp directory, removed by `remove()`.
struct TemporaryDirectory {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory
            .appendingPathComponent("auth-tests-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    func path(_ name: String) -> String { url.appendingPathComponent(name).path }

    func remove() { try? FileManager.default.removeItem(at: url) }
}

extension String {
    var bytes: [UInt8] { Array(utf8) }
}
