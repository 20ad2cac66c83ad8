import IMAPProtocol
import MaildirStore

extension IMAPSession {
    /// RFC 9051 §6.4.7 COPY and UID COPY, with COPYUID (RFC 4315 §3). Messages are
    /// hard-linked into the destination's tmp/ and renamed into cur/ with their flags
    /// (keywords re-mapped to the destination's letters); INTERNALDATE is the shared
    /// mtime. A missing destination gets NO [TRYCREATE] (Transfer.swift).
    func handleCopy(tag: String, mailbox: SelectedMailbox, set: MessageSet, destination name: MailboxName) async {
        guard
            let (pairs, validity) = await transferMessages(
                tag: tag, mailbox: mailbox, set: set, destination: name, move: false)
        else { return }
        await finish(tag, .ok, Self.copyUID(pairs, validity), "Copy completed.")
    }
}
