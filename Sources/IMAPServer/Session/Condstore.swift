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

    /// `* OK [HIGHESTMODSEQ n]` with the highest mod-sequence this session was told of.
    func sendHighestModSeq(_ mailbox: SelectedMailbox) {
        writer.untagged(
            .status(.ok, code: .highestModSeq(mailbox.view.highestModSeq.rawValue), text: "Highest"))
    }

    /// The items of an untagged FETCH reporting a flag change: UID and FLAGS, and
    /// MODSEQ once CONDSTORE is enabled (RFC 7162 §3.1).
    func flagChangeItems(_ record: MessageRecord, _ mailbox: SelectedMailbox) -> [FetchResponseItem] {
        var items: [FetchResponseItem] = [.uid(record.uid.wire), .flags(wireFlags(record, mailbox))]
        if condstoreEnabled { items.append(.modSeq(record.modSeq.rawValue)) }
        return items
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
