import IMAPProtocol
import MaildirStore

extension IMAPSession {
    /// RFC 9051 §6.4.3 EXPUNGE and §6.4.9 UID EXPUNGE: remove the messages marked
    /// \Deleted (within the UID set for UID EXPUNGE). The EXPUNGE responses come from the
    /// folder's own change report, the same path that reports other sessions' expunges,
    /// so this session's numbering can never diverge from what it was told.
    func handleExpunge(tag: String, mailbox: SelectedMailbox, uids set: SequenceSet<UID>?) async {
        guard !mailbox.readOnly else {
            fail(tag, .readOnly)
            return
        }
        await synchronizeSelected()
        var candidates = Set(mailbox.view.records.map(\.uid))
        if let set {
            guard let numbers = mailbox.view.resolve(.uids(set), saved: mailbox.savedSearch) else {
                fail(tag, .invalidUIDSet)
                return
            }
            candidates = Set(numbers.map { mailbox.view.record(at: $0).uid })
        }
        do {
            try await expungeDeleted(mailbox, among: candidates)
        } catch {
            sendStoreFailure(tag, error, name: MailboxName(""))
            return
        }
        await finish(tag, "Expunge completed.")
    }

    /// Expunges the messages among `candidates` that carry \Deleted on disk now (the
    /// folder's snapshot, fresher than the view's flags).
    func expungeDeleted(_ mailbox: SelectedMailbox, among candidates: Set<StoreUID>) async throws {
        let folder = mailbox.folder
        let quota = state.user?.quota
        try await context.blocking {
            let deleted = folder.snapshot.messages
                .filter { $0.flags.system.contains(.deleted) && candidates.contains($0.uid) }
                .map(\.uid)
            guard !deleted.isEmpty else { return }
            let (_, freed) = try folder.expungeFreeing(deleted)
            // `maildirsize` gets what the unlinked files held (a negative line).
            quota?.record(bytes: -freed.bytes, messages: -freed.messages)
        }
    }
}
