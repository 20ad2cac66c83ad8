import IMAPProtocol
import MaildirStore

/// The messages that are \Recent in this session (IMAP4rev1, RFC 3501 §2.3.2): the UID
/// ranges the folder gave it (MaildirStore/Recent.swift), kept apart from the
/// MailboxView. A range holds only UIDs the session was told of, so the messages of a
/// range are those of the view within it; a range with none left (expunged) can never
/// regain one (new messages come above every range) and is dropped.
struct RecentUIDs: Sendable {
    /// Ascending, disjoint.
    private(set) var ranges: [ClosedRange<StoreUID>] = []
    /// The count the client was last sent in `* n RECENT`.
    var reportedCount = 0

    var isEmpty: Bool { ranges.isEmpty }

    mutating func insert(_ range: ClosedRange<StoreUID>) {
        // Claims arrive in UID order: a new range extends or follows the last one.
        if let last = ranges.last, range.lowerBound.rawValue <= last.upperBound.rawValue &+ 1,
            range.lowerBound >= last.lowerBound
        {
            ranges[ranges.count - 1] = last.lowerBound...max(last.upperBound, range.upperBound)
            return
        }
        ranges.append(range)
        if ranges.count > 1 && ranges[ranges.count - 2].lowerBound > range.lowerBound {
            ranges.sort { $0.lowerBound < $1.lowerBound }
            ranges = ranges.reduce(into: []) { merged, next in
                if let last = merged.last, next.lowerBound.rawValue <= last.upperBound.rawValue &+ 1 {
                    merged[merged.count - 1] = last.lowerBound...max(last.upperBound, next.upperBound)
                } else {
                    merged.append(next)
                }
            }
        }
    }

    func contains(_ uid: StoreUID) -> Bool {
        var low = 0
        var high = ranges.count
        while low < high {
            let mid = (low + high) / 2
            if ranges[mid].upperBound < uid { low = mid + 1 } else { high = mid }
        }
        return low < ranges.count && ranges[low].contains(uid)
    }

    /// The number of recent messages in `view`; ranges with none are dropped.
    mutating func count(in view: MailboxView) -> Int {
        var total = 0
        ranges.removeAll { range in
            let inView =
                Self.firstIndex(in: view) { $0 > range.upperBound }
                - Self.firstIndex(in: view) { $0 >= range.lowerBound }
            total += inView
            return inView == 0
        }
        return total
    }

    /// The position (0-based) of the first message whose UID satisfies `isPast` (the
    /// count when none): binary search over the view, which ascends by UID.
    private static func firstIndex(in view: MailboxView, where isPast: (StoreUID) -> Bool) -> Int {
        var low = 0
        var high = view.count
        while low < high {
            let mid = (low + high) / 2
            if isPast(view.record(at: MailboxView.sequenceNumber(atIndex: mid)).uid) {
                high = mid
            } else {
                low = mid + 1
            }
        }
        return low
    }
}

extension IMAPSession {
    /// IMAP4rev1 sessions are told of \Recent; after ENABLE IMAP4rev2 nothing of it
    /// appears (RFC 9051 Appendix E).
    var reportsRecent: Bool { !rev2Enabled }

    /// Wherever EXISTS is sent (RFC 3501 §7.3.2): takes \Recent for the messages of
    /// the view no session took yet, and sends `* n RECENT` to an IMAP4rev1 client when
    /// the count changed, or always (`always`, SELECT/EXAMINE). As Dovecot does, an
    /// unchanged count is not repeated after EXISTS.
    func reportRecent(_ mailbox: SelectedMailbox, always: Bool) {
        let count = updateRecent(mailbox)
        guard reportsRecent, always || count != mailbox.recent.reportedCount else { return }
        mailbox.recent.reportedCount = count
        writer.untagged(.recent(count))
    }

    /// Takes \Recent for every message the view now holds that no session took yet
    /// (a read-only session only notes them, RFC 3501 §2.3.2), and returns how many
    /// messages of the view are recent in this session. An IMAP4rev2 session claims
    /// too (Dovecot's read-write sessions do whatever the protocol), it is just never
    /// told.
    private func updateRecent(_ mailbox: SelectedMailbox) -> Int {
        if let last = mailbox.view.lastUID {
            let claim = mailbox.folder.claimRecent(through: last, claiming: !mailbox.readOnly)
            if let uids = claim.uids {
                mailbox.recent.insert(uids)
                if claim.needsPersisting { persistClaimedRecent(mailbox.folder, uids) }
            }
        }
        return mailbox.recent.count(in: mailbox.view)
    }

    /// Moves claimed messages out of new/ on the thread pool, without holding up the
    /// command: until it ran, a restart would make them recent once more.
    private func persistClaimedRecent(_ folder: SharedFolder, _ uids: ClosedRange<StoreUID>) {
        let context = context
        let logger = logger
        Task {
            do {
                try await context.blocking { try folder.persistClaimedRecent(uids) }
            } catch {
                logger.warning("could not move recent messages to cur/", metadata: ["error": "\(error)"])
            }
        }
    }

    /// The FLAGS of a message as this session shows them: with `\Recent` for a recent
    /// message of an IMAP4rev1 session.
    func wireFlags(_ record: MessageRecord, _ mailbox: SelectedMailbox) -> [Flag] {
        let recent = reportsRecent && mailbox.recent.contains(record.uid)
        return record.flags.wireFlags(recent: recent)
    }
}

extension MessageFlags {
    /// `wireFlags` with `\Recent` when `recent`: after the system flags, before the
    /// keywords, where Dovecot writes it.
    func wireFlags(recent: Bool) -> [Flag] {
        var flags = wireFlags
        if recent {
            flags.insert(.recent, at: flags.firstIndex { if case .keyword = $0 { true } else { false } } ?? flags.count)
        }
        return flags
    }
}

extension Flag {
    /// IMAP4rev1's `\Recent` (RFC 3501 §2.3.2), a `flag-extension` in RFC 9051.
    static let recent = Flag.extension("Recent")
}
