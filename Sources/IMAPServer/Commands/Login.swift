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
            guard let path = maildirPath(for: username, home: "") else { return nil }
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
        guard let entry, let path = maildirPath(for: username, home: entry.home) else { return nil }
        return Mailstore(root: path, logger: logger)
    }

    /// The user's Maildir (UserDirectory), or nil with the reason logged: a name that
    /// would lead outside the spool is an ordinary failed login for the client.
    private func maildirPath(for username: String, home: String) -> String? {
        switch UserDirectory.path(for: username, home: home, config: context.config) {
        case .success(let path): return path
        case .failure(let refusal):
            logger.notice(
                "no Maildir for this user name", metadata: ["user": .client(username), "reason": "\(refusal)"])
            return nil
        }
    }
}
