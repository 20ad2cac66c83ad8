import Glibc
import Logging
import Synchronization

/// The passwd file, re-read when it changes (its mtime/size/inode checked at most once
/// per second at lookup time, no restart needed). A file that fails to parse on reload
/// keeps the previous contents and logs an error. Never logs a password.
///
/// Races: lookups and reloads run under one mutex, so a lookup sees either the old or
/// the new file, never a mix. A file caught mid-write is detected by the reader (its
/// fstat changes while reading) and retried at the next check. crypt(3) runs outside the
/// mutex so slow verifications never block lookups.
public final class PasswdDatabase: Sendable {
    private struct State {
        var entries: [String: PasswdEntry]
        /// What was at the path at the last check; a reload happens when it changes.
        var observed: Observation
        var lastCheck: ContinuousClock.Instant
        /// Users already warned about (unsupported scheme, malformed hash), so each
        /// problem is logged once per file version rather than at every login.
        var warnedUsers: Set<String> = []
        /// A stored hash checked for unknown users, so their answer costs about as much
        /// as a known user's (see `verify`).
        var decoyHash: String?

        init(entries: [String: PasswdEntry], observed: Observation, lastCheck: ContinuousClock.Instant) {
            self.entries = entries
            self.observed = observed
            self.lastCheck = lastCheck
            self.decoyHash = Self.decoy(in: entries)
        }

        mutating func replaceEntries(_ newEntries: [String: PasswdEntry]) {
            entries = newEntries
            warnedUsers = []
            decoyHash = Self.decoy(in: newEntries)
        }

        private static func decoy(in entries: [String: PasswdEntry]) -> String? {
            entries.values.first { StoredPassword(parsing: $0.password).isCrypt }?.password
        }
    }

    /// What the last check found at the path.
    private enum Observation: Equatable {
        case file(FileSignature)
        case unreadable(errno: Int32)
        /// Read while being written; the next check must look again.
        case unsettled
    }

    /// Attempts at start-up to get a stable read of a file that keeps changing.
    private static let initialReadAttempts = 3

    public let path: String
    private let logger: Logger
    private let checkInterval: Duration
    private let now: @Sendable () -> ContinuousClock.Instant
    private let resolver: PasswdFileParser.NameResolver
    private let state: Mutex<State>

    /// Reads the file now. Throws `AuthError.cannotRead` when it cannot be read and
    /// `PasswdFileSyntaxError` when a line is invalid (see `PasswdFileParser`).
    public convenience init(path: String, logger: Logger) throws {
        try self.init(path: path, logger: logger, checkInterval: .seconds(1), now: { .now })
    }

    /// As `init(path:logger:)` with the change-check interval and the clock injected
    /// (tests advance a fake clock instead of sleeping).
    public convenience init(
        path: String, logger: Logger, checkInterval: Duration,
        now: @escaping @Sendable () -> ContinuousClock.Instant
    ) throws {
        try self.init(path: path, logger: logger, checkInterval: checkInterval, now: now, resolver: .system)
    }

    init(
        path: String, logger: Logger, checkInterval: Duration,
        now: @escaping @Sendable () -> ContinuousClock.Instant, resolver: PasswdFileParser.NameResolver
    ) throws {
        var logger = logger
        logger[metadataKey: "passwd-file"] = "\(path)"
        self.path = path
        self.logger = logger
        self.checkInterval = checkInterval
        self.now = now
        self.resolver = resolver

        var attempt = 0
        while true {
            attempt += 1
            switch PasswdFileReader.read(path: path) {
            case .failure(.system(let code)):
                throw AuthError.cannotRead(path: path, errno: code)
            case .failure(.changedWhileReading):
                guard attempt < Self.initialReadAttempts else { throw AuthError.cannotRead(path: path, errno: EAGAIN) }
                continue
            case .success(var read):
                defer { secureZero(&read.bytes) }
                switch PasswdFileParser.parse(read.bytes, resolver: resolver) {
                case .failure(let failure):
                    throw PasswdFileSyntaxError(path: path, line: failure.line, reason: failure.reason)
                case .success(let parsed):
                    Self.logWarnings(parsed.warnings, logger: logger)
                    logger.info("passwd file loaded", metadata: ["users": "\(parsed.entries.count)"])
                    state = Mutex(State(entries: parsed.entries, observed: .file(read.signature), lastCheck: now()))
                    return
                }
            }
        }
    }

    public func entry(for user: String) -> PasswdEntry? {
        state.withLock { state in
            refreshIfDue(&state)
            return state.entries[user]
        }
    }

    /// Verifies with crypt(3) (blocking, costs up to ~200 ms: call off the event loop).
    /// Schemes: {CRYPT} {SHA512-CRYPT} {SHA256-CRYPT} {BLF-CRYPT} {MD5-CRYPT} prefixes
    /// and bare $y$ $6$ $5$ $2b$ (also $2a$ $2y$) $1$ strings; {PLAIN} and
    /// {CLEARTEXT} compared in constant time. Unknown scheme → false (logged once).
    /// Returns the entry when the password matches.
    ///
    /// For an unknown user a stored hash of another user is checked anyway and the
    /// result thrown away, so the answer takes about as long as for a known user.
    public func verify(user: String, password: [UInt8]) -> PasswdEntry? {
        let (found, decoy) = state.withLock { state -> (PasswdEntry?, String?) in
            refreshIfDue(&state)
            if let entry = state.entries[user] { return (entry, nil) }
            return (nil, state.decoyHash)
        }
        guard let entry = found else {
            if let decoy { _ = checkPassword(password, against: decoy) }
            return nil
        }
        let outcome = checkPassword(password, against: entry.password)
        switch outcome {
        case .match:
            return entry
        case .mismatch:
            return nil
        case .noPassword:
            warnOnce(user: user, "user has no password and cannot log in")
        case .invalidHash:
            warnOnce(user: user, "stored password of user is not a hash libcrypt accepts")
        case .unsupportedScheme(let scheme):
            warnOnce(user: user, "stored password of user uses an unsupported scheme", scheme: scheme)
        }
        return nil
    }

    /// Users whose entries use {PLAIN}/{CLEARTEXT} (the server warns at start), sorted.
    public var plaintextUsers: [String] {
        state.withLock { state in
            refreshIfDue(&state)
            return state.entries.values.filter(\.hasPlaintextPassword).map(\.user).sorted()
        }
    }

    /// Number of users currently loaded.
    public var userCount: Int {
        state.withLock { state in
            refreshIfDue(&state)
            return state.entries.count
        }
    }

    /// Checks the file now, regardless of the interval (e.g. on SIGHUP).
    public func reloadIfChanged() {
        state.withLock { state in reload(&state) }
    }

    private func refreshIfDue(_ state: inout State) {
        let instant = now()
        guard instant - state.lastCheck >= checkInterval else { return }
        reload(&state)
    }

    private func reload(_ state: inout State) {
        state.lastCheck = now()
        let current: Observation
        switch PasswdFileReader.signature(of: path) {
        case .success(let signature): current = .file(signature)
        case .failure(.system(let code)): current = .unreadable(errno: code)
        case .failure(.changedWhileReading): current = .unsettled
        }
        guard current != state.observed else { return }

        if case .unreadable(let code) = current {
            state.observed = current
            logger.error(
                "cannot examine passwd file; keeping the users loaded before",
                metadata: ["error": "\(systemErrorMessage(code))"])
            return
        }
        switch PasswdFileReader.read(path: path) {
        case .failure(.changedWhileReading):
            state.observed = .unsettled
        case .failure(.system(let code)):
            let failed = Observation.unreadable(errno: code)
            if failed != state.observed {
                logger.error(
                    "cannot read passwd file; keeping the users loaded before",
                    metadata: ["error": "\(systemErrorMessage(code))"])
            }
            state.observed = failed
        case .success(var read):
            defer { secureZero(&read.bytes) }
            state.observed = .file(read.signature)
            switch PasswdFileParser.parse(read.bytes, resolver: resolver) {
            case .failure(let failure):
                logger.error(
                    "passwd file is invalid; keeping the users loaded before",
                    metadata: ["line": "\(failure.line)", "reason": "\(failure.reason)"])
            case .success(let parsed):
                Self.logWarnings(parsed.warnings, logger: logger)
                state.replaceEntries(parsed.entries)
                logger.info("passwd file reloaded", metadata: ["users": "\(parsed.entries.count)"])
            }
        }
    }

    private func warnOnce(user: String, _ message: Logger.Message, scheme: String? = nil) {
        let first = state.withLock { state in state.warnedUsers.insert(user).inserted }
        guard first else { return }
        var metadata: Logger.Metadata = ["user": "\(user)"]
        if let scheme { metadata["scheme"] = "\(scheme)" }
        logger.warning(message, metadata: metadata)
    }

    private static func logWarnings(_ warnings: [PasswdFileParser.Warning], logger: Logger) {
        for warning in warnings {
            logger.warning("\(warning.message)")
        }
    }
}
