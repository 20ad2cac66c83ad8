// The in-memory state of one open folder, kept inside SharedFolder's Mutex. Plain
// data: the algorithms that change it are extensions of FolderContext (FolderSync.swift,
// UIDListSync.swift, FlagStore.swift, Expunge.swift).

/// Where a message's file is right now.
struct MessageLocation: Sendable {
    /// In new/ (not yet seen by any IMAP server) rather than cur/.
    var inNew: Bool
    var name: MaildirFileName
}

/// A batch of changes waiting to be delivered to the observers registered when it
/// happened (delivery is in SharedFolder.swift).
struct PendingBatch: Sendable {
    var changes: [FolderChange]
    var observers: [UInt64]
}

struct FolderState: Sendable {
    // dovecot-uidlist as last read or written.
    var header: UIDListHeader
    /// Records in file order (ascending UID), including stale ones (files gone).
    var records: [UIDListRecord] = []
    /// Base name → UID of every record (the first record wins if a name repeats).
    var recordUIDs: LazyNameTable<UInt32> = [:]
    /// The file we parsed (identity, size) and how far: appended records are read from
    /// `uidListConsumed` on, without a lock (Dovecot never rewrites bytes in place).
    var uidListFile: FileStatus?
    var uidListConsumed = 0
    /// The file's tail is an incomplete line (crashed writer): rewrite, never append.
    var uidListHasPartialLine = false
    /// The file is missing, damaged or old-format: rewrite it at the next chance.
    var uidListNeedsRewrite = false
    /// The file's UIDVALIDITY changed: every message must be dropped and re-read.
    var pendingUIDValidityReset = false
    /// A file judged impossible (UIDListSync): not read again until we replace it.
    var discardedUIDListFile: FileStatus?
    /// max(N, highest record UID + 1, anything we assigned + 1); never decreases.
    var nextUID: UInt32 = 1

    // dovecot-keywords as last read or written.
    var keywords = KeywordTable()
    var keywordsFile: FileStatus?
    /// Keyword indexes found on files without a name in dovecot-keywords: never given to
    /// a new keyword (that would silently set it on those messages).
    var orphanKeywordIndexes = Set<Int>()

    // Messages present on disk.
    /// Ascending UID.
    var messages: [MessageRecord] = []
    /// Base name → current file (with the digest of the names, NameDigest.swift).
    var locations: LocationTable = [:]
    /// The highest UID ever shown to observers: a file reappearing with a lower UID is
    /// given a new one (UIDs of new messages must grow, RFC 9051 §2.3.1.1).
    var highestExposedUID: UInt32 = 0

    /// IMAP4rev1 \Recent (Recent.swift): every message with this UID or above is recent
    /// for no session yet (Dovecot's `first_recent_uid`). Only grows, except when the
    /// UIDVALIDITY changes.
    var firstRecentUID: UInt32 = 1

    /// Mod-sequences (ModSeqState.swift). Until the log is read (`loadState`), a folder
    /// without history.
    var modSeqs = ModSeqState(start: ModSeqState.freshStart())

    // Cheap synchronize: the directory mtimes of the last scan and when it started.
    var curMtime: Timestamp?
    var newMtime: Timestamp?
    var lastScanStart: Timestamp?
    /// Something went wrong or was left half done: the next synchronize rescans.
    var forceRescan = true

    // Observers.
    var observers: [UInt64: @Sendable ([FolderChange]) -> Void] = [:]
    var nextObserverID: UInt64 = 1
    var pendingBatches: [PendingBatch] = []
    /// pthread_self() of the thread currently delivering batches, if any.
    var deliveringThread: UInt?

    init(header: UIDListHeader) {
        self.header = header
    }

    var uidValidity: UInt32 { header.uidValidity }

    var snapshot: FolderSnapshot {
        FolderSnapshot(
            uidValidity: StoreUIDValidity(header.uidValidity), uidNext: StoreUID(nextUID), messages: messages,
            keywords: keywords.list, canCreateKeywords: canCreateKeywords, firstRecentUID: StoreUID(firstRecentUID),
            highestModSeq: modSeqs.highest)
    }

    /// A letter is free: neither named nor found on a file.
    var canCreateKeywords: Bool {
        keywords.names.indices.contains { keywords.names[$0] == nil && !orphanKeywordIndexes.contains($0) }
    }

    /// Index in `messages` of `uid` (binary search).
    func messageIndex(_ uid: StoreUID) -> Int? {
        var low = 0
        var high = messages.count
        while low < high {
            let mid = (low + high) / 2
            if messages[mid].uid < uid {
                low = mid + 1
            } else {
                high = mid
            }
        }
        return low < messages.count && messages[low].uid == uid ? low : nil
    }

    /// Adds records (any UID order) keeping `messages` ascending.
    mutating func insertMessages(_ added: [MessageRecord]) {
        insertAscending(Self.isAscending(added) ? added : added.sorted { $0.uid < $1.uid })
    }

    /// `insertMessages` of records already in ascending UID order. Copies of 100,000s of
    /// records on a first scan cost: the array itself is taken into an empty folder.
    private mutating func insertAscending(_ sorted: [MessageRecord]) {
        guard !sorted.isEmpty else { return }
        if messages.isEmpty {
            messages = sorted
        } else if let last = messages.last, let first = sorted.first, last.uid < first.uid {
            messages += sorted
        } else {
            messages = (messages + sorted).sorted { $0.uid < $1.uid }
        }
        if let top = sorted.last?.uid.rawValue { highestExposedUID = max(highestExposedUID, top) }
    }

    /// Adds new messages with their files, stamping their mod-sequences; returns the
    /// records ascending (for .added).
    mutating func admit(_ added: [(MessageRecord, MessageLocation)]) -> [MessageRecord] {
        locations.reserveCapacity(locations.count + added.count)
        var records: [MessageRecord] = []
        records.reserveCapacity(added.count)
        for (var record, location) in added {
            locations[record.baseName] = location
            record.modSeq = modSeqs.stampAdmitted(uid: record.uid, letters: location.name.letters)
            records.append(record)
        }
        if !Self.isAscending(records) { records.sort { $0.uid < $1.uid } }
        insertAscending(records)
        return records
    }

    private static func isAscending(_ records: [MessageRecord]) -> Bool {
        records.indices.dropFirst().allSatisfy { records[$0 - 1].uid < records[$0].uid }
    }

    /// Removes these UIDs from `messages` and their files from `locations`, recording
    /// the expunges' mod-sequence; returns it (nil when `uids` is empty).
    @discardableResult
    mutating func removeMessages(_ uids: Set<StoreUID>) -> ModSeq? {
        guard !uids.isEmpty else { return nil }
        let modSeq = modSeqs.recordExpunges(uids.sorted())
        for message in messages where uids.contains(message.uid) { locations[message.baseName] = nil }
        messages.removeAll { uids.contains($0.uid) }
        return modSeq
    }

    /// Takes a record read from the uidlist; false if its base name already has a UID.
    mutating func addRecord(_ record: UIDListRecord) -> Bool {
        guard recordUIDs[record.baseName] == nil else { return false }
        // The table first: a loaded one lets go of the records' array (RecordUIDs),
        // which the append then changes in place instead of copying.
        recordUIDs[record.baseName] = record.uid
        records.append(record)
        nextUID = max(nextUID, record.uid &+ 1)
        return true
    }

    var highestRecordUID: UInt32 { records.last?.uid ?? 0 }

    /// The record of `uid` (binary search: records ascend).
    func record(uid: UInt32) -> UIDListRecord? {
        var low = 0
        var high = records.count
        while low < high {
            let mid = (low + high) / 2
            if records[mid].uid < uid {
                low = mid + 1
            } else {
                high = mid
            }
        }
        return low < records.count && records[low].uid == uid ? records[low] : nil
    }

    /// Records whose file is not on disk any more (as of the last scan). O(records):
    /// see `wantsCompaction` for the per-command check.
    var staleRecordCount: Int { records.count(where: { locations[$0.baseName] == nil }) }

    /// More than a quarter of the records are stale (Dovecot's compaction rule). Every
    /// message has one record, so records − messages is a lower bound of the stale
    /// count, free to compute: enough on every call. The exact count (a lookup per
    /// record) only when `exact` (after a rescan), not on every command.
    func wantsCompaction(exact: Bool) -> Bool {
        let lowerBound = records.count - messages.count
        if lowerBound > 0 && lowerBound * 4 > records.count { return true }
        guard exact else { return false }
        let stale = staleRecordCount
        return stale > 0 && stale * 4 > records.count
    }
}
