import IMAPProtocol

extension IMAPSession {
    /// RFC 9051 §6.2.1 STARTTLS. Not advertised: this build has no TLS listener
    /// configured, so the command is refused rather than pretending.
    func handleStartTLS(tag: String) async {
        writer.tagged(tag, .no, nil, "TLS is not configured on this server.")
    }
}
