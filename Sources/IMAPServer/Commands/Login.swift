import Auth
import IMAPProtocol
import MaildirStore

extension IMAPSession {
    /// RFC 9051 §6.2.3 LOGIN.
    func handleLogin(tag: String, username: String, password: Secret) async {
        guard plaintextAuthAllowed else {
            writer.tagged(tag, .no, .privacyRequired, "Plaintext authentication disallowed on non-secure connections.")
            return
        }
        await logIn(tag: tag, username: username, password: password.bytes)
    }

    /// Shared end of LOGIN and AUTHENTICATE: verify, apply the failure delay, enforce
    /// the per-user connection limit, enter the authenticated state.
    func logIn(tag: String, username: String, password: [UInt8]) async {
        let address = connection.peerAddress
        guard let mailstore = await verifyCredentials(username: username, password: password) else {
            // Dovecot's auth penalty: each failure from this address or for this user
            // doubles the wait before the answer, which slows guessing.
            let delay = context.throttle.delayForFailure(address: address, user: username)
            logger.notice("authentication failed", metadata: ["user": .client(username)])
            try? await Task.sleep(for: delay)
            writer.tagged(tag, .no, .authenticationFailed, "Authentication failed.")
            return
        }
        context.throttle.recordSuccess(address: address, user: username)
        guard context.connections.acquire(username, limit: context.config.maxConnectionsPerUser) else {
            writer.tagged(
                tag, .no, .limit,
                "Maximum number of connections for this user exceeded (\(context.config.maxConnectionsPerUser)).")
            return
        }
        state = .authenticated(UserSession(username: username, mailstore: mailstore))
        logger[metadataKey: "user"] = .client(username)
        logger.info("logged in")
        writer.tagged(tag, .ok, .capability(capabilities), "Logged in.")
    }

    /// The user's Mailstore when the password is right (or when --any-password is on and
    /// the Maildir exists or may be created), nil otherwise.
    private func verifyCredentials(username: String, password: [UInt8]) async -> Mailstore? {
        let config = context.config
        let logger = self.logger
        guard UserDirectory.isAcceptableUsername(username) else { return nil }
        if config.anyPassword {
            guard let path = UserDirectory.path(for: username, home: "", config: config) else { return nil }
            let store = Mailstore(root: path, logger: logger)
            let ok = try? await context.blocking { () -> Bool in
                if store.exists { return true }
                guard config.createUsers else { return false }
                try store.createIfMissing()
                return true
            }
            return ok == true ? store : nil
        }
        guard let passwd = context.passwd else { return nil }
        let entry = try? await context.blocking { passwd.verify(user: username, password: password) }
        guard let entry, let path = UserDirectory.path(for: username, home: entry.home, config: config) else {
            return nil
        }
        return Mailstore(root: path, logger: logger)
    }
}

/// Where a user's Maildir is: the passwd entry's home when set, else the
/// `--user-path` template under the root (Dovecot's %u, %n, %d).
enum UserDirectory {
    /// Login names that cannot escape the root through the path template.
    static func isAcceptableUsername(_ name: String) -> Bool {
        guard !name.isEmpty, name.utf8.count <= 255, !name.hasPrefix("."), name != ".." else { return false }
        return !name.unicodeScalars.contains { $0 == "/" || $0.value < 0x20 || $0.value == 0x7f }
    }

    static func path(for username: String, home: String, config: ServerConfiguration) -> String? {
        if !home.isEmpty { return home }
        let at = username.lastIndex(of: "@")
        let local = at.map { String(username[..<$0]) } ?? username
        let domain = at.map { String(username[username.index(after: $0)...]) } ?? ""
        var result = ""
        var iterator = config.userPathTemplate.makeIterator()
        while let c = iterator.next() {
            guard c == "%" else {
                result.append(c)
                continue
            }
            switch iterator.next() {
            case "u": result += username
            case "n": result += local
            case "d": result += domain
            case "%": result += "%"
            default: return nil
            }
        }
        guard !result.isEmpty, !result.split(separator: "/").contains(where: { $0 == ".." }) else { return nil }
        if result.hasPrefix("/") { return result }
        return config.root.hasSuffix("/") ? config.root + result : config.root + "/" + result
    }
}
