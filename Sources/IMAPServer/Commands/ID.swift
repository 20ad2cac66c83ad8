import IMAPProtocol

extension IMAPSession {
    /// RFC 2971 ID: log what the client says it is; tell it what we are.
    func handleID(tag: String, fields: [(key: String, value: String?)]?) async {
        if let fields {
            // Client-chosen strings: bounded before they reach a log line.
            let summary = fields.prefix(30).map { "\($0.key.prefix(30))=\(($0.value ?? "NIL").prefix(100))" }
            logger.info("client id", metadata: ["id": "\(summary.joined(separator: " "))"])
        }
        writer.untagged(.id([(key: "name", value: "imapd-maildir"), (key: "vendor", value: "imapd-maildir")]))
        await finish(tag, "ID completed.")
    }
}
