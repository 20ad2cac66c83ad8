import CoreMetrics
import IMAPProtocol

/// The server's metrics through swift-metrics: no-ops until the executable bootstraps a
/// backend (`--metrics-listen` bootstraps Prometheus). Names follow Prometheus
/// conventions; `result` is the tagged status (ok/no/bad).
/// Instruments are created on first use, after the backend was bootstrapped.
enum ServerMetrics {
    static let connections = Counter(label: "imap_connections_total")
    static let sessionsActive = Meter(label: "imap_sessions_active")
    static let authAttempts = Counter(label: "imap_auth_attempts_total")
    static let authFailures = Counter(label: "imap_auth_failures_total")
    static let bytesSent = Counter(label: "imap_bytes_sent_total")
    static let fetchResponses = Counter(label: "imap_messages_sent_total")

    /// A command that ended with a CommandError, counted by kind (user, syntax, server).
    static func commandError(_ kind: CommandError.Kind) {
        Counter(label: "imap_command_errors_total", dimensions: [("kind", kind.rawValue)]).increment()
    }

    /// One finished command: counted by name and result, timed by name.
    static func command(_ name: String, result: ResponseStatus?, nanoseconds: Int64) {
        let status = result.map { $0.rawValue.lowercased() } ?? "none"
        Counter(label: "imap_commands_total", dimensions: [("command", name), ("result", status)]).increment()
        Timer(label: "imap_command_duration_seconds", dimensions: [("command", name)])
            .recordNanoseconds(nanoseconds)
        if name == authLogin || name == authAuthenticate, let result {
            authAttempts.increment()
            if result != .ok { authFailures.increment() }
        }
    }

    /// One finished command that started at `started`.
    static func command(_ name: String, result: ResponseStatus?, since started: ContinuousClock.Instant) {
        let elapsed = ContinuousClock.now - started
        let nanoseconds =
            elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000
        command(name, result: result, nanoseconds: nanoseconds)
    }

    /// Tracing span names: `imap.command.<name>`.
    static let spanPrefix = "imap.command."
    static let authLogin = "LOGIN"
    static let authAuthenticate = "AUTHENTICATE"
    static let idle = "IDLE"
}
