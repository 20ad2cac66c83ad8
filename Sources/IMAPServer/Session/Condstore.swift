import IMAPProtocol
import MaildirStore

/// CONDSTORE and QRESYNC (RFC 7162) state of the session.
extension IMAPSession {
    /// RFC 7162 §3.1: from the first CONDSTORE-enabling command on, every untagged
    /// FETCH of a flag change carries UID and MODSEQ.
    var condstoreEnabled: Bool { enabled.contains(Capability.condstore) }
    /// RFC 7162 §3.2.3: VANISHED instead of EXPUNGE, [CLOSED] on a re-SELECT.
    var qresyncEnabled: Bool { enabled.contains(Capability.qresync) }

    /// A CONDSTORE-enabling command (RFC 7162 §3.1: ENABLE CONDSTORE or QRESYNC,
    /// SELECT/EXAMINE (CONDSTORE), FETCH MODSEQ or CHANGEDSINCE, SEARCH MODSEQ, STORE
    /// UNCHANGEDSINCE). Issued with a mailbox selected, the first one is answered with
    /// the folder's HIGHESTMODSEQ (§3.1.2.1), as Dovecot does, so the client knows
    /// where its cache stands without a new SELECT.
    func enableCondstore() {
        guard !condstoreEnabled else { return }
        enabled.insert(Capability.condstore)
        if let mailbox = state.selected { sendHighestModSeq(mailbox) }
    }

    /// `* OK [HIGHESTMODSEQ n]` with the highest mod-sequence this client may be given.
    func sendHighestModSeq(_ mailbox: SelectedMailbox) {
        let claimable = mailbox.view.claimableHighestModSeq
        writer.untagged(.status(.ok, code: .highestModSeq(claimable.rawValue), text: "Highest"))
        if mailbox.view.lowestUnreportedExpungeModSeq == nil { mailbox.highestModSeqTold = claimable }
    }

    /// The items of an untagged FETCH reporting a flag change: UID and FLAGS, and
    /// MODSEQ once CONDSTORE is enabled (RFC 7162 §3.1).
    func flagChangeItems(_ record: MessageRecord, _ mailbox: SelectedMailbox) -> [FetchResponseItem] {
        var items: [FetchResponseItem] = [.uid(record.uid.wire), .flags(wireFlags(record, mailbox))]
        if condstoreEnabled {
            items.append(.modSeq(record.modSeq.rawValue))
            noteModSeqSent(record.modSeq)
        }
        return items
    }

    /// A MODSEQ value (FETCH item, SEARCH/ESEARCH MODSEQ) went out to the client.
    func noteModSeqSent(_ modSeq: ModSeq) {
        guard let mailbox = state.selected, modSeq > mailbox.highestModSeqSent else { return }
        mailbox.highestModSeqSent = modSeq
    }

    /// The HIGHESTMODSEQ to send at this completion (a tagged reply, or a report while
    /// idling), nil for none; as Dovecot decides (imap-sync.c):
    /// - Expunges are pending and a MODSEQ at or above the lowest of them went out: a
    ///   client that keeps the highest MODSEQ it saw would skip them on its next
    ///   resync. RFC 5162 errata 1810 / RFC 7162 §3.2.10: send one below them.
    /// - Nothing pending, and the folder's mod-sequence rose past what the client was
    ///   told and saw in MODSEQ items (VANISHED/EXPUNGE or EXISTS went out): send it,
    ///   so the client's cache can say it is current.
    func takeHighestModSeqReport() -> ModSeq? {
        guard condstoreEnabled, let mailbox = state.selected else { return nil }
        defer { mailbox.highestModSeqSent = ModSeq(0) }
        let view = mailbox.view
        if let pending = view.lowestUnreportedExpungeModSeq {
            return mailbox.highestModSeqSent >= pending ? view.claimableHighestModSeq : nil
        }
        let highest = view.highestModSeq
        let due = highest > mailbox.highestModSeqTold && highest > mailbox.highestModSeqSent
        mailbox.highestModSeqTold = highest
        return due ? highest : nil
    }

    /// `* OK [HIGHESTMODSEQ n]` when due, where no tagged OK carries it (IDLE, a
    /// command that failed).
    func sendHighestModSeqIfDue() {
        guard let modSeq = takeHighestModSeqReport() else { return }
        writer.untagged(.status(.ok, code: .highestModSeq(modSeq.rawValue), text: "Highest"))
    }

    /// Expunged messages for the client: `* VANISHED uids` once QRESYNC is enabled
    /// (RFC 7162 §3.2.10), else one `* n EXPUNGE` per message.
    func sendExpunges(_ update: MailboxView.Update) {
        if qresyncEnabled {
            writer.untagged(.vanished(earlier: false, mergedRanges(update.expungedUIDs.map(\.rawValue))))
        } else {
            for n in update.expunged { writer.untagged(.expunge(n)) }
        }
    }
}
