import IMAPProtocol
import MaildirStore

extension IMAPSession {
    /// RFC 9051 §6.4.6 STORE and UID STORE, with RFC 7162 §3.1.3's UNCHANGEDSINCE. Every
    /// flag change is renamed into place on disk before the FETCH responses and the
    /// tagged OK.
    func handleStore(
        tag: String, mailbox: SelectedMailbox, set: MessageSet, modifiers: StoreModifiers, action: StoreAction,
        spec: CommandSpec
    ) async {
        // RFC 7162 §3.1: CONDSTORE-enabling.
        if modifiers.unchangedSince != nil { enableCondstore() }
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
        // The UNCHANGEDSINCE test runs under the folder lock with the rename (SharedFolder).
        let unchangedSince = modifiers.unchangedSince.map { ModSeq($0) }
        let outcome: StoreOutcome
        do {
            outcome = try await synchronizeSelected {
                try folder.store(operation, flags: flags, uids: uids, unchangedSince: unchangedSince)
            }
        } catch {
            sendStoreFailure(tag, error, name: MailboxName(""))
            return
        }
        for change in outcome.changed {
            if let n = mailbox.view.sequenceNumber(of: change.uid) {
                mailbox.view.setFlags(change, forSequenceNumber: n)
            }
        }
        if !mailbox.liveSearches.isEmpty { mailbox.liveDirty.formUnion(outcome.changed.map(\.uid)) }
        // Other sessions' changes and new keywords (FLAGS/PERMANENTFLAGS) first, so the
        // FETCH responses below never use a keyword the client was not told of.
        reportUpdates(allowExpunge: spec.mayReportExpunge)
        sendStoreResponses(mailbox, uids: uids, outcome: outcome, isUID: set.isUID, silent: action.silent)
        // §3.1.3: the messages that failed the UNCHANGEDSINCE test, in the numbering
        // the command used.
        let modified = outcome.modified.compactMap { uid in
            set.isUID ? uid.rawValue : mailbox.view.sequenceNumber(of: uid)?.rawValue
        }
        let code: ResponseCode? = modified.isEmpty ? nil : .modified(mergedRanges(modified))
        let text = modified.isEmpty ? "Store completed." : "Conditional STORE failed."
        await finish(tag, .ok, code, text, reportExpunge: spec.mayReportExpunge)
    }

    /// The FETCH responses of a STORE: the new flags of every message the STORE did not
    /// skip; with CONDSTORE enabled also UID and MODSEQ, and for .SILENT still the
    /// MODSEQ of each message it changed (RFC 7162 §3.1.3: the client's cache needs
    /// the new mod-sequence).
    private func sendStoreResponses(
        _ mailbox: SelectedMailbox, uids: [StoreUID], outcome: StoreOutcome, isUID: Bool, silent: Bool
    ) {
        guard !silent || (condstoreEnabled && !outcome.changed.isEmpty) else { return }
        let skipped = Set(outcome.modified)
        let changed = Set(outcome.changed.map(\.uid))
        for uid in uids where !skipped.contains(uid) && (!silent || changed.contains(uid)) {
            guard let n = mailbox.view.sequenceNumber(of: uid), !mailbox.view.isExpunged(uid) else { continue }
            let record = mailbox.view.record(at: n)
            var items: [FetchResponseItem] = silent ? [] : [.flags(wireFlags(record, mailbox))]
            if isUID || condstoreEnabled { items.insert(.uid(uid.wire), at: 0) }
            if condstoreEnabled {
                items.append(.modSeq(record.modSeq.rawValue))
                noteModSeqSent(record.modSeq)
            }
            writer.untagged(.fetch(n, items))
        }
    }
}
