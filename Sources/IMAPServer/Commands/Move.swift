import IMAPProtocol
import MaildirStore

extension IMAPSession {
    /// RFC 6851 MOVE and UID MOVE: copy (as COPY), then expunge the originals. The
    /// COPYUID goes in an untagged OK before the EXPUNGE responses (RFC 6851 §4.3); the
    /// EXPUNGEs come from the folder's change report like any other expunge.
    /// Interrupted, every message is in the source, the destination or both, never
    /// in neither (the store links before it unlinks).
    func handleMove(tag: String, mailbox: SelectedMailbox, set: MessageSet, destination name: MailboxName) async {
        if mailbox.readOnly {
            fail(tag, .readOnly)
            return
        }
        guard
            let (pairs, validity) = await transferMessages(
                tag: tag, mailbox: mailbox, set: set, destination: name, move: true)
        else { return }
        if let code = Self.copyUID(pairs, validity) {
            writer.untagged(.status(.ok, code: code, text: "Moved UIDs."))
        }
        await finish(tag, "Move completed.")
    }
}
