import IMAPProtocol
import MaildirStore

extension IMAPSession {
    /// RFC 9051 §6.4.2 CLOSE (expunges \Deleted silently when read-write) and §6.4.7
    /// UNSELECT (never expunges).
    func handleClose(tag: String, mailbox: SelectedMailbox, expunge: Bool) async {
        if expunge && !mailbox.readOnly {
            do {
                try await expungeDeleted(mailbox, among: Set(mailbox.view.records.map(\.uid)))
            } catch {
                logger.error("expunge on CLOSE failed", metadata: ["error": .client("\(error)")])
            }
        }
        deselect()
        writer.tagged(tag, .ok, nil, expunge ? "Close completed." : "Unselect completed.")
    }
}
