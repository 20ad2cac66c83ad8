import IMAPProtocol

extension IMAPSession {
    /// RFC 4978 §3 COMPRESS, in the authenticated and selected states (the prose names
    /// no state, but §5 adds `compress` to `command-auth`; before login it is a BAD like
    /// any authenticated-state command). The session only
    /// decides; the connection handler writes the tagged OK uncompressed and puts the
    /// compression handler in place in the same event-loop turn, so every byte after
    /// the OK's CRLF is compressed in both directions (the client sends nothing after
    /// COMPRESS before it has seen the result, §3; what it sent anyway goes through the
    /// inflater).
    func handleCompress(tag: String, mechanism: String) -> CommandOutcome {
        guard mechanism.uppercased() == "DEFLATE" else {
            fail(tag, .unknownCompression)
            return .done
        }
        guard !connection.isCompressed else {
            fail(tag, .compressionActive)
            return .done
        }
        connection.isCompressed = true
        return .startCompression(tag: tag)
    }
}
