import Auth
import IMAPProtocol
import MaildirStore

extension IMAPSession {
    /// RFC 9051 §6.2.3 LOGIN.
    func handleLogin(tag: String, username: String, password: Secret) async -> CommandOutcome {
        guard plaintextAuthAllowed else {
            fail(tag, .plaintextDisallowed)
            return .done
        }
        return await logIn(tag: tag, username: username, password: password.bytes)
    }

    /// Shared end of LOGIN and AUTHENTICATE: verify under the login throttle, enforce
    /// the session limits, enter the authenticated state.
    ///
    /// Slot invariant: the session slot is taken in `ConnectionLimits.logIn`, which
    /// refuses a connection whose socket has closed (the handler closes the slot the
    /// moment it sees the close, and the two happen under one lock). The password
    /// check suspends, and the client may go away meanwhile: the login then takes
    /// nothing, so no slot is ever held by a closed connection (issue 11 item 4).
    func logIn(tag: String, username: String, password: [UInt8]) async -> CommandOutcome {
        let address = connection.peerAddress
        // Dovecot's auth penalty, across connections: attempts from one address take
        // turns, failures make the next attempt wait (Auth/LoginThrottle.swift).
        let mailstore = await context.throttle.attempt(address: address, user: username) {
            () -> (LoginThrottle.Outcome, Mailstore?) in
            guard !closed else { return (.abandoned, nil) }
            let store = await verifyCredentials(username: username, password: password)
            return (store == nil ? .failed : .succeeded, store)
        }
        guard !closed else { return .close }
        guard let mailstore else {
            logger.notice("authentication failed", metadata: ["user": .client(username)])
            writer.tagged(tag, .no, .authenticationFailed, "Authentication failed.")
            return .done
        }
        switch context.limits.logIn(connection.slot, user: username) {
        case nil: break
        case .closed?: return .close
        case .perUserAddress(let limit)?:
            writer.tagged(
                tag, .no, .limit, "Maximum number of connections for this user from your address exceeded (\(limit)).")
            return .done
        case .perUser(let limit)?:
            writer.tagged(tag, .no, .limit, "Maximum number of connections for this user exceeded (\(limit)).")
            return .done
        }
        state = .authenticated(UserSession(username: username, mailstore: mailstore))
        logger[metadataKey: "user"] = .client(username)
        logger.info("logged in")
        writer.tagged(tag, .ok, .capability(capabilities), "Logged in.")
        return .loggedIn
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
        let entry = try? await context.authentication { passwd.verify(user: username, password: password) }
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
