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
        let verified = await context.throttle.attempt(address: address, user: username) {
            () -> (LoginThrottle.Outcome, UserMaildir?) in
            guard !closed else { return (.abandoned, nil) }
            let found = await verifyCredentials(username: username, password: password)
            return (found == nil ? .failed : .succeeded, found)
        }
        guard !closed else { return .close }
        let mailstore: Mailstore
        let quota: QuotaLimits
        switch verified {
        case nil:
            logger.notice("authentication failed", metadata: ["user": .client(username)])
            fail(tag, .authenticationFailed)
            return .done
        case .unavailable(let reason)?:
            // The password was right; the administrator must hear why the mail is not
            // there (issue 13 item 2), the client gets a clear text without paths.
            logger.error(
                "login refused: the user's Maildir is not available",
                metadata: ["user": .client(username), "reason": "\(reason)"])
            fail(tag, .mailboxUnavailable)
            return .done
        case .invalidQuotaRule(let error)?:
            logger.error(
                "login refused: the user's quota rule is not supported",
                metadata: ["user": .client(username), "reason": .client(error.message)])
            fail(tag, .mailboxUnavailable)
            return .done
        case .available(let store, let limits)?:
            mailstore = store
            quota = limits
        }
        switch context.limits.logIn(connection.slot, user: username) {
        case nil: break
        case .closed?: return .close
        case .perUserAddress(let limit)?:
            fail(tag, .tooManyConnectionsFromAddress(limit))
            return .done
        case .perUser(let limit)?:
            fail(tag, .tooManyConnectionsForUser(limit))
            return .done
        }
        enterAuthenticated(UserSession(username: username, mailstore: mailstore, quota: quota))
        logger[metadataKey: "user"] = .client(username)
        logger.info("logged in")
        writer.tagged(tag, .ok, .capability(capabilities), "Logged in.")
        return .loggedIn
    }

    /// What a login found: the user's Mailstore, with the file-system ids its files are
    /// handled with (MaildirStore/FileOwner.swift), or why the Maildir cannot be served.
    enum UserMaildir: Sendable {
        case available(Mailstore, QuotaLimits)
        case unavailable(MaildirUnavailable)
        /// A passwd `quota_rule…` field this server cannot apply (a per-folder rule):
        /// refused rather than served without the limit the administrator meant.
        case invalidQuotaRule(QuotaRuleError)
    }

    /// The user's limits: the server's default rules with the passwd entry's own.
    private func quotaLimits(extraFields: [String: String]) -> Result<QuotaLimits, QuotaRuleError> {
        let rules = QuotaRule.rules(defaults: context.config.quotaRules, extraFields: extraFields)
        do throws(QuotaRuleError) {
            return .success(try QuotaRule.limits(rules))
        } catch {
            return .failure(error)
        }
    }

    /// The user's Maildir when the password is right (or when --any-password is on and
    /// the Maildir exists or may be created), nil otherwise.
    private func verifyCredentials(username: String, password: [UInt8]) async -> UserMaildir? {
        let config = context.config
        let logger = self.logger
        guard UserDirectory.isAcceptableUsername(username) else { return nil }
        if config.anyPassword {
            guard let path = maildirPath(for: username, home: "") else { return nil }
            guard case .success(let limits) = quotaLimits(extraFields: [:]) else { return nil }
            return try? await context.blocking { () -> UserMaildir? in
                if config.createUsers, FileOwner.owner(of: path) == nil {
                    // Testing only: a new Maildir belongs to the owner of the spool.
                    let owner = FileOwner.switchingEnabled ? FileOwner.owner(of: config.root) : nil
                    try Mailstore(root: path, logger: logger, owner: owner).createIfMissing()
                }
                do {
                    return .available(try Mailstore.forUser(root: path, uid: nil, gid: nil, logger: logger), limits)
                } catch {
                    return nil
                }
            }
        }
        guard let passwd = context.passwd else { return nil }
        let entry = try? await context.authentication { passwd.verify(user: username, password: password) }
        guard let entry, let path = maildirPath(for: username, home: entry.home) else { return nil }
        let limits: QuotaLimits
        switch quotaLimits(extraFields: entry.extraFields) {
        case .success(let found): limits = found
        case .failure(let error): return .invalidQuotaRule(error)
        }
        return try? await context.blocking { () -> UserMaildir in
            do throws(MaildirUnavailable) {
                return .available(
                    try Mailstore.forUser(root: path, uid: entry.uid, gid: entry.gid, logger: logger), limits)
            } catch {
                return .unavailable(error)
            }
        }
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
