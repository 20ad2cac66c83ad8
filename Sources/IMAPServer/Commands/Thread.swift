import IMAPProtocol
import MailMessage
import MaildirStore

extension IMAPSession {
    /// RFC 5256 §3 THREAD and UID THREAD: ORDEREDSUBJECT, REFERENCES and Dovecot's
    /// REFS (Threading). Only the messages the search criteria match are threaded; a
    /// reference to any other message is a missing parent (a dummy).
    func handleThread(
        tag: String, mailbox: SelectedMailbox, kind: MessageSetKind, _ thread: ThreadCommand, spec: CommandSpec
    ) async {
        guard
            let found = await collectSortMessages(
                tag: tag, mailbox: mailbox, charset: thread.charset, key: thread.key, fields: .thread,
                needsDetails: false)
        else { return }
        // Keys the header cache derived are numbers of its table; a message it did not
        // have adds its own to this copy of the table (never handed back).
        var ids = found.ids ?? Threading.IDTable()
        let messages = found.messages.map { message in
            Threading.Item(
                number: kind == .uid ? message.uid.rawValue : message.sequenceNumber.rawValue,
                sentDate: message.sentDate, keys: message.threadKeys ?? ids.keys(of: message.headers))
        }
        let algorithm = thread.algorithm
        let threads: [ThreadNode]
        do {
            threads = try await context.content { [ids] in Threading.thread(messages, ids: ids, algorithm: algorithm) }
        } catch {
            sendStoreFailure(tag, error, name: MailboxName(""))
            return
        }
        writer.untagged(.thread(threads))
        await finish(tag, "Thread completed.", reportExpunge: spec.mayReportExpunge)
    }
}
