import IMAPProtocol
import MaildirStore

extension IMAPSession {
    /// RFC 9051 §6.4.6 STORE and UID STORE. Every flag change is renamed into place on
    /// disk before the FETCH responses and the tagged OK.
    func handleStore(
        tag: String, mailbox: SelectedMailbox, set: MessageSet, modifiers: StoreModifiers, action: StoreAction,
        spec: CommandSpec
    ) async {
        if modifiers.unchangedSince != nil {
            fail(tag, .unchangedSinceNeedsCondstore)
            return
        }
        guard !mailbox.readOnly else {
            fail(tag, .readOnly)
            return
        }
        // Sequence numbers and UIDs name what the client was told of, so the set is
        // resolved before the synchronize, which then runs in the same pool job as
        // the renames (one hop, not two).
        guard let numbers = mailbox.view.resolve(set, saved: mailbox.savedSearch) else {
            fail(tag, .invalidMessageSet(in: set.isUID ? "UID STORE" : "STORE"))
            return
        }
        let uids = numbers.map { mailbox.view.record(at: $0).uid }.filter { !mailbox.view.isExpunged($0) }
        let flags = MessageFlags(wire: action.flags)
        let operation: FlagOperation
        switch action.operation {
        case .replace: operation = .replace
        case .add: operation = .add
        case .remove: operation = .remove
        }
        let folder = mailbox.folder
        let changed: [FlagChange]
        do {
            changed = try await synchronizeSelected { try folder.store(operation, flags: flags, uids: uids) }.changed
        } catch {
            sendStoreFailure(tag, error, name: MailboxName(""))
            return
        }
        for change in changed {
            if let n = mailbox.view.sequenceNumber(of: change.uid) {
                mailbox.view.setFlags(change.flags, forSequenceNumber: n)
            }
        }
        // Other sessions' changes and new keywords (FLAGS/PERMANENTFLAGS) first, so the
        // FETCH responses below never use a keyword the client was not told of.
        reportUpdates(allowExpunge: spec.mayReportExpunge)
        if !action.silent {
            for uid in uids {
                guard let n = mailbox.view.sequenceNumber(of: uid), !mailbox.view.isExpunged(uid) else { continue }
                let record = mailbox.view.record(at: n)
                var items: [FetchResponseItem] = [.flags(wireFlags(record, mailbox))]
                if set.isUID { items.insert(.uid(uid.wire), at: 0) }
                writer.untagged(.fetch(n, items))
            }
        }
        await finish(tag, "Store completed.", reportExpunge: spec.mayReportExpunge)
    }
}
