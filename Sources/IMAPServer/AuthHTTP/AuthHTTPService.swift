import Auth
import Logging

/// The decision behind `--auth-http-listen` (issue 17 item 1): checks a login nginx
/// forwards exactly as IMAP LOGIN would (the same passwd database and verification,
/// under the same LoginThrottle, keyed by the real client's address from `Client-IP`),
/// then names the user's backend: the passwd entry's `backend=` field, else the shard
/// map (Auth/ShardMap.swift).
struct AuthHTTPService: Sendable {
    let context: ServerContext
    let shardMap: ShardMapFile?
    let logger: Logger

    /// Attempts of one nginx session answered with `Auth-Wait`; later ones get none,
    /// so nginx closes the session (its documentation: 10–20).
    static let maximumAttemptsPerSession = 10

    func answer(_ request: AuthHTTPRequest) async -> AuthHTTPAnswer {
        guard let passwd = context.passwd else { return .temporaryFailure }
        let user = request.user
        let password = request.password
        let (checked, delay) = await context.throttle.attemptDeferringAnswer(address: request.clientIP, user: user) {
            await Self.check(user: user, password: password, passwd: passwd, context: context)
        }
        let metadata: Logger.Metadata = ["user": .client(user), "client": .client(request.clientIP)]
        switch checked {
        case .broken:
            logger.error("auth_http: the password check could not run", metadata: metadata)
            return .temporaryFailure
        case .wrong:
            logger.notice(
                "auth_http: authentication failed",
                metadata: metadata.merging(["attempt": "\(request.loginAttempt)"]) { $1 })
            let wait = request.loginAttempt < Self.maximumAttemptsPerSession
            return .invalid(waitSeconds: wait ? AuthHTTPAnswer.waitSeconds(for: delay) : nil)
        case .entry(let entry):
            return route(entry, metadata: metadata)
        }
    }

    enum Checked: Sendable {
        case entry(PasswdEntry)
        case wrong
        case broken
    }

    private static func check(
        user: String, password: [UInt8], passwd: PasswdDatabase, context: ServerContext
    ) async -> (LoginThrottle.Outcome, Checked) {
        // The same names IMAP LOGIN refuses fail here too, before any crypt.
        guard UserDirectory.isAcceptableUsername(user) else { return (.failed, .wrong) }
        do {
            guard let entry = try await context.authentication({ passwd.verify(user: user, password: password) })
            else { return (.failed, .wrong) }
            return (.succeeded, .entry(entry))
        } catch {
            return (.abandoned, .broken)
        }
    }

    private func route(_ entry: PasswdEntry, metadata: Logger.Metadata) -> AuthHTTPAnswer {
        let map = shardMap?.current ?? ShardMap()
        switch map.backend(for: entry.user, passwdField: entry.extraFields[ShardMap.passwdField]) {
        case .found(let backend):
            logger.info(
                "auth_http: routed", metadata: metadata.merging(["backend": "\(backend)"]) { $1 })
            return .route(host: backend.host, port: backend.port)
        case .none:
            logger.error("auth_http: no backend for this user in the shard map", metadata: metadata)
            return .temporaryFailure
        case .invalidPasswdField:
            logger.error(
                "auth_http: the user's passwd field backend= is not IPv4:PORT or [IPv6]:PORT", metadata: metadata)
            return .temporaryFailure
        }
    }
}
