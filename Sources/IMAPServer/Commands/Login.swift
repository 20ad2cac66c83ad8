import Auth
import IMAPProtocol
import MaildirStore

extension IMAPSession {
    /// RFC 9051 §6.2.3 LOGIN.
    func handleLogin(tag: String, username: String, password: Secret) async -> CommandOutcome {
        guard plaintextAuthAllowed else {
            writer.tagged(tag, .no, .privacyRequired, "Plaintext authentication disallowed on non-secure connections.")
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
            logger.notice("authentication failed", metadata: ["user": "\(username.prefix(64))"])
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
        logger[metadataKey: "user"] = "\(username)"
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
