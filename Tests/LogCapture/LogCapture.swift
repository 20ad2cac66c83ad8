import Logging
import Synchronization

/// Collects what is logged, with level and metadata, for tests that check log lines
/// (escaping, reasons, how often). Shared by the test targets.
public final class LogCapture: Sendable {
    public struct Record: Sendable {
        public var level: Logger.Level
        public var message: String
        public var metadata: [String: String]

        /// The record as a line-oriented handler would print it.
        public var rendered: String {
            ([message] + metadata.sorted(by: { $0.key < $1.key }).map { "\($0.key)=\($0.value)" })
                .joined(separator: " ")
        }
    }

    private let storage = Mutex<[Record]>([])

    public init() {}

    public var records: [Record] { storage.withLock { $0 } }

    func append(_ record: Record) { storage.withLock { $0.append(record) } }

    /// Every record, rendered.
    public var all: [String] { records.map(\.rendered) }

    /// Records at `level` whose rendering contains `text`.
    public func count(_ text: String, level: Logger.Level) -> Int {
        records.filter { $0.level == level && $0.rendered.contains(text) }.count
    }

    /// A logger writing here, from `level` up.
    public func logger(level: Logger.Level = .trace) -> Logger {
        var logger = Logger(label: "test") { _ in CapturingHandler(capture: self) }
        logger.logLevel = level
        return logger
    }
}

private struct CapturingHandler: LogHandler {
    let capture: LogCapture
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var merged = metadata
        if let extra = event.metadata { merged.merge(extra) { $1 } }
        capture.append(
            LogCapture.Record(
                level: event.level, message: event.message.description, metadata: merged.mapValues { $0.description }))
    }
}
