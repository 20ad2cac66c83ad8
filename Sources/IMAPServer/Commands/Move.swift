import IMAPProtocol
import MaildirStore

extension IMAPSession {
    /// RFC 6851 MOVE and UID MOVE: copy (as COPY), then expunge the originals. The
    /// COPYUID goes in an untagged OK before the EXPUNGE responses (RFC 6851 §4.3); the
    /// EXPUNGEs come from the folder's change report like any other expunge.
    /// Interrupted, every message is in the source, the destination or both, never
    /// in neither (the store links before it unlinks).
    func handleMove(tag: String, set: MessageSet, destination name: MailboxName) async {
        if let mailbox = state.selected, mailbox.readOnly {
            writer.tagged(tag, .no, .readOnly, "Mailbox is read-only.")
            return
        }
        guard let (mailbox, uids, destination) = await prepareTransfer(tag: tag, set: set, destination: name) else {
            return
        }
        let source = mailbox.folder
        let registry = context.registry
        let pairs: [(StoreUID, StoreUID)]
        let validity: StoreUIDValidity
        do {
            (pairs, validity) = try await context.blocking {
                defer { registry.release(destination) }
                let pairs = try source.move(uids, to: destination)
                return (pairs, destination.snapshot.uidValidity)
            }
        } catch {
            sendStoreFailure(tag, error, name: name)
            return
        }
        if let code = Self.copyUID(pairs, validity) {
            writer.untagged(.status(.ok, code: code, text: "Moved UIDs."))
        }
        await finish(tag, "Move completed.")
    }
}
