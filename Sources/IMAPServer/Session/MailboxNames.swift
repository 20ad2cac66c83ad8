import IMAPProtocol
import MaildirStore

/// RFC 9051 §5.1 mailbox names on the wire ↔ folder components in storage. Clients
/// that enabled IMAP4rev2 or UTF8=ACCEPT send and receive UTF-8; the others modified
/// UTF-7 (§5.1.3). The hierarchy delimiter is the configured one.
extension IMAPSession {
    var delimiter: Character { context.config.delimiter }

    /// Folder components for a wire name, nil when the name is not valid in the
    /// session's encoding. INBOX is case-insensitive (§5.1); one trailing delimiter is
    /// ignored, as Dovecot does.
    func components(of name: MailboxName) -> [String]? {
        guard let unicode = decodeWire(name.rawValue) else { return nil }
        var text = Substring(unicode)
        if text.count > 1, text.last == delimiter { text = text.dropLast() }
        guard !text.isEmpty else { return nil }
        var parts = text.split(separator: delimiter, omittingEmptySubsequences: false).map(String.init)
        if parts[0].uppercased() == "INBOX" { parts[0] = "INBOX" }
        return parts
    }

    /// The wire name of a folder.
    func wireName(_ components: [String]) -> MailboxName {
        let joined = components.joined(separator: String(delimiter))
        return MailboxName(utf8Enabled ? joined : ModifiedUTF7.encode(joined))
    }

    /// A client string (name or LIST pattern) as Unicode. A rev1 client's modified
    /// UTF-7 is decoded; ASCII without `&` is the same in both.
    func decodeWire(_ text: String) -> String? {
        if utf8Enabled { return text }
        guard text.utf8.allSatisfy({ $0 < 0x80 }) else { return nil }
        return text.contains("&") ? ModifiedUTF7.decode(text) : text
    }

    /// The answer for a mailbox the store refused.
    func sendStoreFailure(_ tag: String, _ error: Error, name: MailboxName) {
        fail(tag, .of(error, name: name))
    }
}
