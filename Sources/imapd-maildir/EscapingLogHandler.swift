import IMAPServer
import Logging

/// The standard-error log handler with every message and metadata value escaped
/// (LogEscaping): one event is one line whatever reached the logger. Client strings are
/// escaped where they are logged; this also covers what other modules log (file names
/// made by other programs, error texts), so no log line can be forged.
struct EscapingLogHandler: LogHandler {
    private var inner: StreamLogHandler
    /// Administrators' paths may be long: only client text is cut (at the call site).
    static let limit = Int.max

    init(label: String, level: Logger.Level) {
        inner = StreamLogHandler.standardError(label: label)
        inner.logLevel = level
    }

    var logLevel: Logger.Level {
        get { inner.logLevel }
        set { inner.logLevel = newValue }
    }

    var metadata: Logger.Metadata {
        get { inner.metadata }
        set { inner.metadata = newValue.mapValues(Self.escaped) }
    }

    var metadataProvider: Logger.MetadataProvider? {
        get { inner.metadataProvider }
        set { inner.metadataProvider = newValue }
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { inner[metadataKey: key] }
        set { inner[metadataKey: key] = newValue.map(Self.escaped) }
    }

    func log(event: LogEvent) {
        var event = event
        event.message = Logger.Message(stringLiteral: Self.escape(event.message.description))
        event.metadata = event.metadata?.mapValues(Self.escaped)
        inner.log(event: event)
    }

    /// Control characters only: backslashes are left alone, so text escaped where it was
    /// logged (LogEscaping) is not escaped twice.
    static func escape(_ text: String) -> String {
        LogEscaping.escape(text, limit: limit, doublingBackslashes: false)
    }

    static func escaped(_ value: Logger.Metadata.Value) -> Logger.Metadata.Value {
        switch value {
        case .string(let text): return .string(escape(text))
        case .stringConvertible(let item): return .string(escape(item.description))
        case .dictionary(let dictionary): return .dictionary(dictionary.mapValues(escaped))
        case .array(let array): return .array(array.map(escaped))
        @unknown default: return .string(escape("\(value)"))
        }
    }
}
