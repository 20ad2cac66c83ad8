import IMAPProtocol

extension IMAPSession {
    /// RFC 9051 §6.1.3 LOGOUT: BYE, then the tagged OK. Nothing is expunged (RFC 9051
    /// and Dovecot agree: only EXPUNGE, CLOSE and UID EXPUNGE remove messages).
    func handleLogout(tag: String) async -> CommandOutcome {
        writer.untagged(.status(.bye, code: nil, text: "Logging out."))
        writer.tagged(tag, .ok, nil, "Logout completed.")
        connectionClosed()
        return .close
    }
}
