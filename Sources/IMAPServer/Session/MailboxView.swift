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
///
/// Memory: `records` is stored as `base`, the folder snapshot's array (copy-on-write,
/// never written here, so every session that selected the same folder state shares one
/// buffer), plus what diverges for this session alone: messages added since
/// (`appended`) and flags that differ from `base` (`flagOverrides`). Only reporting
/// EXPUNGE, or many flag changes, gives the session its own copy.
struct MailboxView {
    /// Shared with the snapshot it came from; never mutated in place.
    private var base: [MessageRecord]
    /// `base` is a snapshot's array (false once the view made a private copy: after
    /// reporting EXPUNGE, or many flag changes).
    private var baseIsShared = true
    /// Messages reported (EXISTS) after `base` was taken, ascending UID, all above base's.
    private var appended: [MessageRecord] = []
    /// Index in `base` → the flags this client knows, where they differ from `base`.
    private var flagOverrides: [Int: MessageFlags] = [:]
    /// UIDs expunged in storage whose EXPUNGE this client has not been sent yet.
    private(set) var expungedUnreported: Set<StoreUID> = []
    private(set) var keywords: [String]
    private(set) var uidValidity: StoreUIDValidity
    /// Highest UIDNEXT seen, so a UID never appears below it.
    private(set) var uidNext: StoreUID

    init(snapshot: FolderSnapshot) {
        base = snapshot.messages
        keywords = snapshot.keywords
        uidValidity = snapshot.uidValidity
        uidNext = snapshot.uidNext
    }

    /// Every message in sequence-number order (built on demand when the view diverged).
    var records: [MessageRecord] {
        if appended.isEmpty && flagOverrides.isEmpty { return base }
        var all = base
        for (index, flags) in flagOverrides { all[index].flags = flags }
        all += appended
        return all
    }

    var count: Int { base.count + appended.count }
    var lastUID: StoreUID? { appended.last?.uid ?? base.last?.uid }

    /// Binary search: the sequence number (1-based) of `uid`, if in the view.
    func sequenceNumber(of uid: StoreUID) -> SequenceNumber? {
        if let first = appended.first, uid >= first.uid {
            return Self.index(of: uid, in: appended).map { Self.sequenceNumber(atIndex: base.count + $0) }
        }
        return Self.index(of: uid, in: base).map { Self.sequenceNumber(atIndex: $0) }
    }

    /// Sequence numbers are positions + 1 (RFC 9051 §2.3.1.2); these two functions are
    /// the only places that convert, so an index is never sent as a number or back.
    static func sequenceNumber(atIndex index: Int) -> SequenceNumber { SequenceNumber(UInt32(index + 1)) }
    static func index(of sequenceNumber: SequenceNumber) -> Int { Int(sequenceNumber.rawValue) - 1 }

    private static func index(of uid: StoreUID, in list: [MessageRecord]) -> Int? {
        var lo = 0
        var hi = list.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if list[mid].uid < uid { lo = mid + 1 } else { hi = mid }
        }
        return lo < list.count && list[lo].uid == uid ? lo : nil
    }

    func record(at sequenceNumber: SequenceNumber) -> MessageRecord {
        let index = Self.index(of: sequenceNumber)
        guard index < base.count else { return appended[index - base.count] }
        var record = base[index]
        if let flags = flagOverrides[index] { record.flags = flags }
        return record
    }

    /// What FETCH needs of message `sequenceNumber`, read field by field in place: a
    /// copy of the whole record would touch its base name's reference count.
    func fetchMessage(at sequenceNumber: SequenceNumber) -> FetchJob.Message {
        let index = Self.index(of: sequenceNumber)
        guard index < base.count else {
            let i = index - base.count
            return FetchJob.Message(
                sequenceNumber: sequenceNumber, uid: appended[i].uid, flags: appended[i].flags,
                internalDate: appended[i].internalDate, virtualSize: appended[i].virtualSize)
        }
        let flags = flagOverrides.isEmpty ? base[index].flags : flagOverrides[index] ?? base[index].flags
        return FetchJob.Message(
            sequenceNumber: sequenceNumber, uid: base[index].uid, flags: flags,
            internalDate: base[index].internalDate, virtualSize: base[index].virtualSize)
    }

    mutating func setFlags(_ flags: MessageFlags, forSequenceNumber n: SequenceNumber) {
        let index = Self.index(of: n)
        guard index < base.count else {
            appended[index - base.count].flags = flags
            return
        }
        flagOverrides[index] = base[index].flags == flags ? nil : flags
        // Overrides cost more per entry than a private copy: past a quarter, copy.
        if flagOverrides.count > Self.overrideCopyMinimum && flagOverrides.count * 4 > base.count {
            base = records
            baseIsShared = false
            appended = []
            flagOverrides = [:]
        }
    }

    static let overrideCopyMinimum = 64

    /// For tests: the view's base is `array`'s buffer (nothing was copied).
    func sharesStorage(with array: [MessageRecord]) -> Bool {
        base.withUnsafeBufferPointer { mine in array.withUnsafeBufferPointer { $0.baseAddress == mine.baseAddress } }
    }

    func isExpunged(_ uid: StoreUID) -> Bool { expungedUnreported.contains(uid) }

    /// What applying a batch of storage changes produced for the client.
    struct Update {
        var expunged: [SequenceNumber] = []  // each valid at the time it is sent
        var exists: Int? = nil
        var flagChanges: [(sequenceNumber: SequenceNumber, record: MessageRecord)] = []
        var keywordsChanged = false
        /// The folder's directory vanished (`FolderChange.folderGone`).
        var folderGone = false
    }

    /// Applies changes in order. Changes already reflected (our own STORE, or a
    /// snapshot taken after the change) are no-ops, which makes application idempotent:
    /// the observer may deliver a change the SELECT snapshot already contained.
    /// `allowExpunge` false (during FETCH/STORE/SEARCH, RFC 9051 §7.5.1) keeps expunged
    /// messages in place and remembers them.
    ///
    /// A message added and expunged within one batch (the inbox gathers every change
    /// since the last report, e.g. a delivery another session expunged at once) is
    /// dropped without a word: the client was never told it exists, so an EXPUNGE for
    /// it would name a sequence number above the client's count (RFC 9051 §7.5.1).
    mutating func apply(_ changes: [FolderChange], allowExpunge: Bool) -> Update {
        var update = Update()
        // Messages at positions from `told` on were added by this batch: not told yet.
        let told = count
        for change in changes {
            switch change {
            case .added(let added):
                for record in added where record.uid > (lastUID ?? StoreUID(0)) {
                    appended.append(record)
                }
                if let last = added.last, last.uid >= uidNext { uidNext = StoreUID(last.uid.rawValue + 1) }
            case .expunged(let uids):
                for uid in uids {
                    guard let n = sequenceNumber(of: uid) else { continue }
                    if Self.index(of: n) >= told {
                        appended.remove(at: Self.index(of: n) - base.count)
                    } else {
                        expungedUnreported.insert(uid)
                    }
                }
            case .flagsChanged(let changed):
                for change in changed {
                    guard let n = sequenceNumber(of: change.uid), record(at: n).flags != change.flags else { continue }
                    setFlags(change.flags, forSequenceNumber: n)
                    update.flagChanges.append((n, record(at: n)))
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
                return (n, record(at: n))
            }
        }
        // Added messages that survived the batch: EXISTS, after the EXPUNGEs (which
        // only name messages the client knew).
        if count > told - update.expunged.count { update.exists = count }
        return update
    }

    /// Removes every expunged-but-unreported message; returns the sequence numbers to
    /// send, in order, each one valid after the previous EXPUNGE (RFC 9051 §7.5.1).
    mutating func reportExpunges() -> [SequenceNumber] {
        guard !expungedUnreported.isEmpty else { return [] }
        var numbers: [SequenceNumber] = []
        var kept: [MessageRecord] = []
        kept.reserveCapacity(count)
        for record in records {
            if expungedUnreported.contains(record.uid) {
                // Sequence number in the list as it stands after earlier EXPUNGEs.
                numbers.append(Self.sequenceNumber(atIndex: kept.count))
            } else {
                kept.append(record)
            }
        }
        base = kept
        baseIsShared = false
        appended = []
        flagOverrides = [:]
        expungedUnreported = []
        return numbers
    }
}

// Compaction (issue 11 §14): an IDLE session that hears of every delivery appends each
// record to `appended` and would keep them until it re-selects (about 100 B per message
// per session); after an EXPUNGE it holds a private copy of every record. Once the client
// has been told everything, the view says exactly what the folder's snapshot says: it
// then takes the snapshot's array as its base again, shared with every other session.
extension MailboxView {
    /// Records held for this session alone rather than shared with a snapshot.
    var privateRecordCount: Int { appended.count + flagOverrides.count + (baseIsShared ? 0 : base.count) }

    /// Worth comparing with the folder's snapshot: the private part passed a bound
    /// that grows with the folder (an O(n) comparison every n/32 changes at most,
    /// and the private part stays within about 3% of the shared array), and
    /// no expunge waits to be reported (the view then differs from any snapshot).
    var wantsRebase: Bool {
        expungedUnreported.isEmpty
            && privateRecordCount > max(Self.rebaseMinimum, count / Self.rebaseFraction)
    }

    static let rebaseMinimum = 32
    static let rebaseFraction = 32

    /// Takes `snapshot.messages` as the base when it holds exactly the messages and
    /// flags this client was told of (same UIDVALIDITY): returns false and changes
    /// nothing otherwise (changes still on their way to the session's inbox; a later
    /// report tries again). Applying those changes afterwards is unaffected: a change
    /// the snapshot already has is a no-op (`apply`).
    @discardableResult
    mutating func rebase(onto snapshot: FolderSnapshot) -> Bool {
        let messages = snapshot.messages
        guard expungedUnreported.isEmpty, snapshot.uidValidity == uidValidity, messages.count == count,
            messages.last?.uid == lastUID
        else { return false }
        for index in messages.indices {
            let (uid, flags) =
                index < base.count
                ? (
                    base[index].uid,
                    flagOverrides.isEmpty ? base[index].flags : flagOverrides[index] ?? base[index].flags
                )
                : (appended[index - base.count].uid, appended[index - base.count].flags)
            guard messages[index].uid == uid, messages[index].flags == flags else { return false }
        }
        base = messages
        baseIsShared = true
        appended = []
        flagOverrides = [:]
        return true
    }
}
