import IMAPProtocol

extension IMAPSession {
    /// RFC 2971 ID: log what the client says it is; tell it what we are.
    func handleID(tag: String, fields: [(key: String, value: String?)]?) async {
        if let fields {
            // Client-chosen strings: bounded and escaped before they reach a log line.
            let summary = fields.prefix(30).map {
                LogEscaping.escape($0.key, limit: 30) + "=" + LogEscaping.escape($0.value ?? "NIL", limit: 100)
            }
            logger.info("client id", metadata: ["id": "\(summary.joined(separator: " "))"])
        }
        writer.untagged(.id([(key: "name", value: "imapd-maildir"), (key: "vendor", value: "imapd-maildir")]))
        await finish(tag, "ID completed.")
    }
}
