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
/// (`appended`) and flags and mod-sequences that differ from `base` (`overrides`). Only
/// reporting EXPUNGE, or many flag changes, gives the session its own copy.
///
/// Mod-sequences (RFC 7162) live in the records like the flags: a flag change the
/// session hears of (`FlagChange`) overrides both, so CHANGEDSINCE and MODSEQ answer
/// from the view without a copy of the folder's array per change.
struct MailboxView {
    /// Shared with the snapshot it came from; never mutated in place.
    private var base: [MessageRecord]
    /// `base` is a snapshot's array (false once the view made a private copy: after
    /// reporting EXPUNGE, or many flag changes).
    private var baseIsShared = true
    /// Messages reported (EXISTS) after `base` was taken, ascending UID, all above base's.
    private var appended: [MessageRecord] = []
    /// Index in `base` → the flags and mod-sequence this client knows, where they
    /// differ from `base`.
    private var overrides: [Int: Override] = [:]
    struct Override {
        var flags: MessageFlags
        var modSeq: ModSeq
    }
    /// UIDs expunged in storage whose EXPUNGE this client has not been sent yet.
    private(set) var expungedUnreported: Set<StoreUID> = []
    private(set) var keywords: [String]
    private(set) var uidValidity: StoreUIDValidity
    /// Highest UIDNEXT seen, so a UID never appears below it.
    private(set) var uidNext: StoreUID
    /// The highest mod-sequence of the folder this view heard of: the folder's at
    /// SELECT, raised by every change applied (changes arrive in folder order, so every
    /// change at or below it was applied). While expunges wait to be reported it is
    /// more than the client may be told: see `claimableHighestModSeq`.
    private(set) var highestModSeq: ModSeq
    /// The lowest mod-sequence among the expunges in `expungedUnreported` (nil when
    /// none): kept as they arrive, so no per-message scan is needed to find it.
    private(set) var lowestUnreportedExpungeModSeq: ModSeq?

    init(snapshot: FolderSnapshot) {
        base = snapshot.messages
        keywords = snapshot.keywords
        uidValidity = snapshot.uidValidity
        uidNext = snapshot.uidNext
        highestModSeq = snapshot.highestModSeq
    }

    /// Every message in sequence-number order (built on demand when the view diverged).
    var records: [MessageRecord] {
        if appended.isEmpty && overrides.isEmpty { return base }
        var all = base
        for (index, override) in overrides {
            all[index].flags = override.flags
            all[index].modSeq = override.modSeq
        }
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
        if let override = overrides[index] {
            record.flags = override.flags
            record.modSeq = override.modSeq
        }
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
                modSeq: appended[i].modSeq, internalDate: appended[i].internalDate,
                virtualSize: appended[i].virtualSize)
        }
        let override = overrides.isEmpty ? nil : overrides[index]
        return FetchJob.Message(
            sequenceNumber: sequenceNumber, uid: base[index].uid, flags: override?.flags ?? base[index].flags,
            modSeq: override?.modSeq ?? base[index].modSeq, internalDate: base[index].internalDate,
            virtualSize: base[index].virtualSize)
    }

    /// The UID at position `index` (0-based), without copying the record.
    func uid(atIndex index: Int) -> StoreUID {
        index < base.count ? base[index].uid : appended[index - base.count].uid
    }

    /// The mod-sequence of message `sequenceNumber` as this client knows it.
    func modSeq(at sequenceNumber: SequenceNumber) -> ModSeq {
        let index = Self.index(of: sequenceNumber)
        guard index < base.count else { return appended[index - base.count].modSeq }
        return overrides.isEmpty ? base[index].modSeq : overrides[index]?.modSeq ?? base[index].modSeq
    }

    /// Records a change the client is being told of: its flags and mod-sequence.
    mutating func setFlags(_ change: FlagChange, forSequenceNumber n: SequenceNumber) {
        highestModSeq = max(highestModSeq, change.modSeq)
        let index = Self.index(of: n)
        guard index < base.count else {
            appended[index - base.count].flags = change.flags
            appended[index - base.count].modSeq = change.modSeq
            return
        }
        let same = base[index].flags == change.flags && base[index].modSeq == change.modSeq
        overrides[index] = same ? nil : Override(flags: change.flags, modSeq: change.modSeq)
        // Overrides cost more per entry than a private copy: past a quarter, copy.
        if overrides.count > Self.overrideCopyMinimum && overrides.count * 4 > base.count {
            base = records
            baseIsShared = false
            appended = []
            overrides = [:]
        }
    }

    static let overrideCopyMinimum = 64

    /// For tests: the view's base is `array`'s buffer (nothing was copied).
    func sharesStorage(with array: [MessageRecord]) -> Bool {
        base.withUnsafeBufferPointer { mine in array.withUnsafeBufferPointer { $0.baseAddress == mine.baseAddress } }
    }

    func isExpunged(_ uid: StoreUID) -> Bool { expungedUnreported.contains(uid) }

    /// The HIGHESTMODSEQ this client may be given (RFC 7162 §3.1.2.1): `highestModSeq`,
    /// but below the lowest expunge not reported yet. RFC 5162 errata 1810, carried
    /// into RFC 7162 §3.2.10: a client that keeps the highest value it saw and resyncs
    /// from it must not skip an EXPUNGE/VANISHED it was never sent.
    var claimableHighestModSeq: ModSeq {
        guard let pending = lowestUnreportedExpungeModSeq, pending.rawValue > 0 else { return highestModSeq }
        return min(highestModSeq, ModSeq(pending.rawValue - 1))
    }

    /// What applying a batch of storage changes produced for the client.
    struct Update {
        var expunged: [SequenceNumber] = []  // each valid at the time it is sent
        /// The same messages' UIDs, ascending (QRESYNC's VANISHED, RFC 7162 §3.2.10).
        var expungedUIDs: [StoreUID] = []
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
                    highestModSeq = max(highestModSeq, record.modSeq)
                }
                if let last = added.last, last.uid >= uidNext { uidNext = StoreUID(last.uid.rawValue + 1) }
            case .expunged(let uids, let modSeq):
                highestModSeq = max(highestModSeq, modSeq)
                for uid in uids {
                    guard let n = sequenceNumber(of: uid) else { continue }
                    if Self.index(of: n) >= told {
                        appended.remove(at: Self.index(of: n) - base.count)
                    } else {
                        expungedUnreported.insert(uid)
                        lowestUnreportedExpungeModSeq = min(lowestUnreportedExpungeModSeq ?? modSeq, modSeq)
                    }
                }
            case .flagsChanged(let changed):
                for change in changed {
                    guard let n = sequenceNumber(of: change.uid) else { continue }
                    let current = record(at: n)
                    // Older than what the view holds (the SELECT snapshot already had a
                    // later change): stale.
                    guard change.modSeq >= current.modSeq else { continue }
                    setFlags(change, forSequenceNumber: n)
                    // Only other flags are news; a newer mod-sequence alone (a keyword
                    // letter gaining its name) is kept without a FETCH.
                    if current.flags != change.flags { update.flagChanges.append((n, record(at: n))) }
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
        if allowExpunge { (update.expunged, update.expungedUIDs) = reportExpunges() }
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
    /// send, in order, each one valid after the previous EXPUNGE (RFC 9051 §7.5.1), and
    /// the same messages' UIDs, ascending.
    mutating func reportExpunges() -> ([SequenceNumber], [StoreUID]) {
        guard !expungedUnreported.isEmpty else { return ([], []) }
        var numbers: [SequenceNumber] = []
        var uids: [StoreUID] = []
        var kept: [MessageRecord] = []
        kept.reserveCapacity(count)
        for record in records {
            if expungedUnreported.contains(record.uid) {
                // Sequence number in the list as it stands after earlier EXPUNGEs.
                numbers.append(Self.sequenceNumber(atIndex: kept.count))
                uids.append(record.uid)
            } else {
                kept.append(record)
            }
        }
        base = kept
        baseIsShared = false
        appended = []
        overrides = [:]
        expungedUnreported = []
        lowestUnreportedExpungeModSeq = nil
        return (numbers, uids)
    }
}

// Compaction (issue 11 §14): an IDLE session that hears of every delivery appends each
// record to `appended` and would keep them until it re-selects (about 100 B per message
// per session); after an EXPUNGE it holds a private copy of every record. Once the client
// has been told everything, the view says exactly what the folder's snapshot says: it
// then takes the snapshot's array as its base again, shared with every other session.
extension MailboxView {
    /// Records held for this session alone rather than shared with a snapshot.
    var privateRecordCount: Int { appended.count + overrides.count + (baseIsShared ? 0 : base.count) }

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
            let (uid, flags, modSeq): (StoreUID, MessageFlags, ModSeq)
            if index < base.count {
                let override = overrides.isEmpty ? nil : overrides[index]
                (uid, flags, modSeq) = (
                    base[index].uid, override?.flags ?? base[index].flags, override?.modSeq ?? base[index].modSeq
                )
            } else {
                let record = appended[index - base.count]
                (uid, flags, modSeq) = (record.uid, record.flags, record.modSeq)
            }
            guard messages[index].uid == uid, messages[index].flags == flags, messages[index].modSeq == modSeq
            else { return false }
        }
        base = messages
        baseIsShared = true
        appended = []
        overrides = [:]
        return true
    }
}
