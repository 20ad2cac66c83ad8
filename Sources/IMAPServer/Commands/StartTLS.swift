import IMAPProtocol

extension IMAPSession {
    /// RFC 9051 §6.2.1 STARTTLS. The session only decides; the connection handler
    /// writes the tagged OK, discards every byte the client sent after the command
    /// (CVE-2011-0411, the STARTTLS command-injection class) and puts TLS in front, in
    /// one event-loop turn, so the client's ClientHello (sent after it reads the OK)
    /// can only reach the TLS handler, and pipelined plaintext only the discard.
    ///
    /// `isTLS` is set before the handshake: no command runs until the handshake has
    /// completed (the handler drops input until then), and a failed handshake closes
    /// the connection, so no command ever sees the flag without TLS underneath.
    /// Capabilities change with it; the client must ask again (§6.2.1).
    func handleStartTLS(tag: String) async -> CommandOutcome {
        guard !connection.isTLS else {
            fail(tag, .tlsAlreadyActive)
            return .done
        }
        guard context.tls != nil else {
            fail(tag, .tlsNotConfigured)
            return .done
        }
        connection.isTLS = true
        return .startTLS(tag: tag)
    }
}
