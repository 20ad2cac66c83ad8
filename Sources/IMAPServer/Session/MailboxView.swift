import IMAPProtocol
import MaildirStore

/// One session's view of its selected folder (RFC 9051 §2.3.1.2): the message sequence
/// numbers it has been told about, and what it knows of each message.
///
/// Invariant: `records[i]` is message sequence number i+1 as this client knows it. The
/// list only changes when the session reports the change (EXISTS, EXPUNGE), so sequence
/// numbers stay stable between the points RFC 9051 §7.5.1 allows. A message another
/// session expunged stays in the view, marked in `expungedUnreported`, until an EXPUNGE
/// may be sent.
struct MailboxView {
    private(set) var records: [MessageRecord]
    /// UIDs expunged in storage whose EXPUNGE this client has not been sent yet.
    private(set) var expungedUnreported: Set<StoreUID> = []
    private(set) var keywords: [String]
    private(set) var uidValidity: StoreUIDValidity
    /// Highest UIDNEXT seen, so a UID never appears below it.
    private(set) var uidNext: StoreUID

    init(snapshot: FolderSnapshot) {
        records = snapshot.messages
        keywords = snapshot.keywords
        uidValidity = snapshot.uidValidity
        uidNext = snapshot.uidNext
    }

    var count: Int { records.count }
    var lastUID: StoreUID? { records.last?.uid }

    /// Binary search: the sequence number (1-based) of `uid`, if in the view.
    func sequenceNumber(of uid: StoreUID) -> Int? {
        var lo = 0
        var hi = records.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if records[mid].uid < uid { lo = mid + 1 } else { hi = mid }
        }
        return lo < records.count && records[lo].uid == uid ? lo + 1 : nil
    }

    func record(at sequenceNumber: Int) -> MessageRecord { records[sequenceNumber - 1] }

    func isExpunged(_ uid: StoreUID) -> Bool { expungedUnreported.contains(uid) }

    mutating func setFlags(_ flags: MessageFlags, forSequenceNumber n: Int) {
        records[n - 1].flags = flags
    }

    /// What applying a batch of storage changes produced for the client.
    struct Update {
        var expunged: [Int] = []  // sequence numbers, each valid at the time it is sent
        var exists: Int? = nil
        var flagChanges: [(sequenceNumber: Int, record: MessageRecord)] = []
        var keywordsChanged = false
        /// The folder's directory vanished (`FolderChange.folderGone`).
        var folderGone = false
    }

    /// Applies changes in order. Changes already reflected (our own STORE, or a
    /// snapshot taken after the change) are no-ops, which makes application idempotent:
    /// the observer may deliver a change the SELECT snapshot already contained.
    /// `allowExpunge` false (during FETCH/STORE/SEARCH, RFC 9051 §7.5.1) keeps expunged
    /// messages in place and remembers them.
    mutating func apply(_ changes: [FolderChange], allowExpunge: Bool) -> Update {
        var update = Update()
        for change in changes {
            switch change {
            case .added(let added):
                for record in added where record.uid > (records.last?.uid ?? StoreUID(0)) {
                    records.append(record)
                    update.exists = records.count
                }
                if let last = added.last, last.uid >= uidNext { uidNext = StoreUID(last.uid.rawValue + 1) }
            case .expunged(let uids):
                for uid in uids where sequenceNumber(of: uid) != nil {
                    expungedUnreported.insert(uid)
                }
            case .flagsChanged(let changed):
                for (uid, flags) in changed {
                    guard let n = sequenceNumber(of: uid), records[n - 1].flags != flags else { continue }
                    records[n - 1].flags = flags
                    update.flagChanges.append((n, records[n - 1]))
                }
            case .keywordsChanged(let all):
                if all != keywords {
                    keywords = all
                    update.keywordsChanged = true
                }
            case .folderGone:
                update.folderGone = true
            }
        }
        if allowExpunge { update.expunged = reportExpunges() }
        // A FETCH for a message reported expunged in the same batch must not be sent
        // with a stale sequence number: drop flag changes of expunged messages and
        // renumber the rest after the expunges.
        if !update.expunged.isEmpty || !update.flagChanges.isEmpty {
            update.flagChanges = update.flagChanges.compactMap { change in
                guard let n = sequenceNumber(of: change.record.uid) else { return nil }
                return (n, records[n - 1])
            }
        }
        if update.exists != nil { update.exists = records.count }
        return update
    }

    /// Removes every expunged-but-unreported message; returns the sequence numbers to
    /// send, in order, each one valid after the previous EXPUNGE (RFC 9051 §7.5.1).
    mutating func reportExpunges() -> [Int] {
        guard !expungedUnreported.isEmpty else { return [] }
        var numbers: [Int] = []
        var kept: [MessageRecord] = []
        kept.reserveCapacity(records.count)
        for record in records {
            if expungedUnreported.contains(record.uid) {
                // Sequence number in the list as it stands after earlier EXPUNGEs.
                numbers.append(kept.count + 1)
            } else {
                kept.append(record)
            }
        }
        records = kept
        expungedUnreported = []
        return numbers
    }
}
