import IMAPProtocol

extension IMAPSession {
    /// RFC 9051 §6.3.10 NAMESPACE: one personal namespace with an empty prefix (INBOX
    /// and its siblings are top-level, as in Dovecot's Maildir++ default).
    func handleNamespace(tag: String) async {
        writer.untagged(.namespace(NamespaceResponse(personal: [.init(prefix: "", delimiter: delimiter)])))
        await finish(tag, "Namespace completed.")
    }
}
