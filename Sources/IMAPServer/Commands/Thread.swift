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
        let messages = found.map { message in
            var input = Threading.Message(
                number: kind == .uid ? message.uid.rawValue : message.sequenceNumber.rawValue,
                sentDate: message.sentDate, subject: message.headers.subject)
            input.messageID = message.headers.messageID
            input.inReplyTo = message.headers.inReplyTo
            input.references = message.headers.references
            input.keys = message.threadKeys
            return input
        }
        let algorithm = thread.algorithm
        let threads: [ThreadNode]
        do {
            threads = try await context.content { Threading.thread(messages, algorithm: algorithm) }
        } catch {
            sendStoreFailure(tag, error, name: MailboxName(""))
            return
        }
        writer.untagged(.thread(threads))
        await finish(tag, "Thread completed.", reportExpunge: spec.mayReportExpunge)
    }
}
