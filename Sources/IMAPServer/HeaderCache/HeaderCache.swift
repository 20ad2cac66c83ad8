// The persistent header cache of SORT and THREAD (issue 15 item 4): per folder, what
// they read of each message's header, kept in two files beside dovecot-uidlist
// (HeaderCacheFormat, MAILDIR-FORMATS.md) and in memory for the folders used last.
// After a restart a SORT or THREAD of a folder whose cache is complete opens no message
// file: it reads `imapd-cache.dates` (a date-only SORT) or `imapd-cache.headers`.
//
// The Maildir stays the truth:
// - Entries are keyed by UID under the folder's UIDVALIDITY (a file of another one is
//   started again) and carry a hash of the message's base name; a message the cache
//   does not know, or knows under another name, is read from its file and appended.
// - Expunged messages' entries are never asked for; a compaction drops them once the
//   file holds more than twice the folder's messages (+1024).
// - A torn or damaged file is cut back to its intact frames, a foreign one started
//   again (HeaderCacheFile); what is missing is read from the message files again.
// - The files have hard size caps; beyond them the cache stops growing (and SORT reads
//   the rest from the files, as without a cache).
import MailMessage
import MaildirStore
import Synchronization

final class HeaderCache: Sendable {
    /// Folders kept in memory; the least recently used beyond this are dropped (their
    /// files stay and are read again when needed).
    static let maxFolders = 64
    /// The folders kept in memory together hold at most this much of their files
    /// (in memory a headers file takes a few times its size): older folders are dropped
    /// when a new one is opened.
    static let maxFileBytesInMemory = 128 * 1024 * 1024
    static let maxDatesFileBytes = 64 * 1024 * 1024
    static let maxHeadersFileBytes = 256 * 1024 * 1024
    /// Stale entries tolerated before a compaction: `factor` × messages + `slack`.
    static let compactionFactor = 2
    static let compactionSlack = 1024

    private struct Folders {
        var byDirectory: [String: FolderCache] = [:]
        var clock: UInt64 = 0
    }
    private let folders = Mutex(Folders())
    /// Files read or rewritten and frames appended (tests; the metrics endpoint's
    /// statistics are SearchStatistics').
    let fileLoads = Atomic<Int>(0)
    let appends = Atomic<Int>(0)
    let compactions = Atomic<Int>(0)

    init() {}

    /// What `lookup` found: per record, its cached headers trimmed to the fields
    /// asked for (nil for a message not cached, or cached under another name).
    struct Found {
        var entries: [Entry?]
        /// The table the threading keys are numbers of (THREAD only).
        var ids: Threading.IDTable?
    }

    struct Entry {
        var headers: SortHeaders
        /// THREAD: the keys derived from the threading fields, which are left out of
        /// `headers`.
        var keys: Threading.Keys?
        /// SORT by SUBJECT: the base subject, derived once when the entry was cached.
        var baseSubject: [UInt8]?
    }

    /// The cached headers of `records`, trimmed to `fields`. A date-only SORT reads
    /// the small file. With `threadKeys` false, a THREAD's fields are handed on as
    /// texts (keys derived by the caller).
    func lookup(
        _ folder: SharedFolder, uidValidity: StoreUIDValidity,
        records: ArraySlice<MessageRecord>, fields: SortFields, threadKeys: Bool = true
    ) -> Found {
        let datesOnly = fields == .date
        let cache = folderCache(folder.directory)
        let found = try? folder.owner.perform {
            cache.state.withLock { state -> Found in
                state.reset(ifNot: uidValidity.rawValue)
                let kind: HeaderCacheFormat.Kind = datesOnly ? .dates : .headers
                cache.load(kind, &state, uidValidity: uidValidity.rawValue, owner: self)
                let table = state.tables[kind == .dates ? 0 : 1]
                // By index, not by zipping records: a zip copies every MessageRecord (two
                // reference counts each, 100,000 times).
                let uids = records.map(\.uid.rawValue)
                let start = records.startIndex
                if datesOnly {
                    // The small table: a date and a hash per message, nothing to copy.
                    let entries = table.dates.lookup(uids).enumerated().map { offset, entry -> Entry? in
                        guard let entry, entry.nameHash == HeaderCacheFormat.nameHash(records[start + offset].baseName)
                        else { return nil }
                        var headers = SortHeaders()
                        headers.sentDate = entry.date == HeaderCacheFormat.absentDate ? nil : entry.date
                        return Entry(headers: headers)
                    }
                    return Found(entries: entries)
                }
                // THREAD reads Subject, Message-ID, In-Reply-To and References only
                // through the keys derived from them: the texts themselves are not
                // handed on (each would be retained and released per message, several
                // times over, on the way to Threading).
                let threading = fields.contains(.threading) && threadKeys
                let kept = threading ? fields.subtracting([.subject, .threading]) : fields
                let ids = table.ids
                let entries = table.headers.lookup(uids).enumerated().map { offset, box -> Entry? in
                    guard let box, box.entry.nameHash == HeaderCacheFormat.nameHash(records[start + offset].baseName)
                    else { return nil }
                    var found = Entry(headers: kept.trim(box.entry.headers))
                    if threading {
                        found.keys = box.keys
                    } else if fields.contains(.subject) {
                        found.baseSubject = ids.subjects[Int(box.keys.subject)]
                    }
                    return found
                }
                return Found(entries: entries, ids: threading ? ids : nil)
            }
        }
        return found ?? Found(entries: Array(repeating: nil, count: records.count))
    }

    /// Remembers what was read of these messages: appended to both files.
    /// The folder has `liveCount` messages; `live` (called only when a compaction is
    /// due) names them.
    func store(
        _ folder: SharedFolder, uidValidity: StoreUIDValidity, _ read: [(record: MessageRecord, headers: SortHeaders)],
        liveCount: Int, live: () -> Set<UInt32>
    ) {
        guard !read.isEmpty else { return }
        let cache = folderCache(folder.directory)
        let entries = read.map {
            HeaderCacheFormat.Entry(
                uid: $0.record.uid.rawValue, nameHash: HeaderCacheFormat.nameHash($0.record.baseName),
                headers: $0.headers)
        }
        _ = try? folder.owner.perform {
            cache.state.withLock { state in
                state.reset(ifNot: uidValidity.rawValue)
                for kind in [HeaderCacheFormat.Kind.dates, .headers] {
                    cache.load(kind, &state, uidValidity: uidValidity.rawValue, owner: self)
                    cache.append(
                        kind, entries, &state, uidValidity: uidValidity.rawValue, liveCount: liveCount, live: live,
                        owner: self)
                }
            }
        }
    }

    /// Folders held in memory now (tests).
    var folderCount: Int { folders.withLock { $0.byDirectory.count } }

    private func folderCache(_ directory: String) -> FolderCache {
        folders.withLock { folders in
            folders.clock += 1
            if let found = folders.byDirectory[directory] {
                found.lastUse.store(folders.clock, ordering: .relaxed)
                return found
            }
            // Beyond the folder count or the byte budget, the least recently used go
            // (the one asked for now is never among them).
            var total = folders.byDirectory.values.reduce(0) { $0 + $1.bytes.load(ordering: .relaxed) }
            while folders.byDirectory.count >= Self.maxFolders || (total > Self.maxFileBytesInMemory),
                let oldest = folders.byDirectory.min(by: {
                    $0.value.lastUse.load(ordering: .relaxed) < $1.value.lastUse.load(ordering: .relaxed)
                })
            {
                total -= oldest.value.bytes.load(ordering: .relaxed)
                folders.byDirectory[oldest.key] = nil
            }
            let created = FolderCache(directory: directory)
            created.lastUse.store(folders.clock, ordering: .relaxed)
            folders.byDirectory[directory] = created
            return created
        }
    }
}

/// One folder's two files and what this process holds of them.
final class FolderCache: Sendable {
    let files: [HeaderCacheFile]
    let state = Mutex(FolderCacheState())
    let lastUse = Atomic<UInt64>(0)
    /// The size of the files as read or written (for the memory budget).
    let bytes = Atomic<Int>(0)

    init(directory: String) {
        files = [
            HeaderCacheFile(
                kind: .dates, path: directory + "/" + HeaderCacheNames.dates, maxBytes: HeaderCache.maxDatesFileBytes),
            HeaderCacheFile(
                kind: .headers, path: directory + "/" + HeaderCacheNames.headers,
                maxBytes: HeaderCache.maxHeadersFileBytes),
        ]
    }

    private static func index(_ kind: HeaderCacheFormat.Kind) -> Int { kind == .dates ? 0 : 1 }

    /// Reads the file when it was not read yet or another process changed it since.
    func load(_ kind: HeaderCacheFormat.Kind, _ state: inout FolderCacheState, uidValidity: UInt32, owner: HeaderCache)
    {
        let i = Self.index(kind)
        let file = files[i]
        let now = file.currentMark()
        if state.tables[i].loaded && now == state.tables[i].seen { return }
        owner.fileLoads.add(1, ordering: .relaxed)
        let (bytes, mark) = file.readBytes()
        var table = FolderCacheState.Table(kind: kind)
        table.loaded = true
        table.seen = mark
        var count = 0
        var filled = FolderCacheState.Table(kind: kind)
        if kind == .dates {
            filled.dates.reserveCapacity(bytes.count / 16)
        } else {
            filled.headers.reserveCapacity(bytes.count / 128)
            filled.ids.reserveCapacity(messages: bytes.count / 128)
        }
        // Straight into the table: no array of every entry on the way.
        let decoded = HeaderCacheFormat.decode(kind, bytes) { entry in
            count += 1
            filled.put(entry)
        }
        if let decoded, decoded.uidValidity == uidValidity {
            filled.dates.normalize()
            filled.headers.normalize()
            table.headers = filled.headers
            table.dates = filled.dates
            table.ids = filled.ids
            table.fileEntries = count
            // A torn tail is not "known": the next append decodes it under the lock
            // and cuts it off before writing.
            if let mark, decoded.validEnd == mark.size { table.known = mark }
        }
        state.tables[i] = table
        noteSize(state)
    }

    private func noteSize(_ state: FolderCacheState) {
        bytes.store(state.tables.reduce(0) { $0 + ($1.seen?.size ?? 0) }, ordering: .relaxed)
    }

    func append(
        _ kind: HeaderCacheFormat.Kind, _ entries: [HeaderCacheFormat.Entry], _ state: inout FolderCacheState,
        uidValidity: UInt32, liveCount: Int, live: () -> Set<UInt32>, owner: HeaderCache
    ) {
        let i = Self.index(kind)
        let file = files[i]
        let kept =
            kind == .dates
            ? entries.map { entry in
                var dateOnly = SortHeaders()
                dateOnly.sentDate = entry.headers.sentDate
                return HeaderCacheFormat.Entry(uid: entry.uid, nameHash: entry.nameHash, headers: dateOnly)
            } : entries
        // Moved out, not copied: a copy would make the first change below copy the
        // whole dictionary (every append of a 100,000-message folder's first SORT).
        var table = FolderCacheState.Table(kind: kind)
        swap(&table, &state.tables[i])
        let appended = file.append(kept, uidValidity: uidValidity, known: table.known)
        if let reloaded = appended.reloaded {
            table.removeAll()
            for entry in reloaded { table.put(entry) }
            table.fileEntries = reloaded.count
        }
        owner.appends.add(1, ordering: .relaxed)
        for entry in kept { table.put(entry) }
        table.dates.normalize()
        table.headers.normalize()
        table.fileEntries += kept.count
        table.known = appended.mark
        table.seen = appended.mark ?? file.currentMark()
        table.loaded = true
        if table.fileEntries > HeaderCache.compactionFactor * liveCount + HeaderCache.compactionSlack {
            let liveUIDs = live()
            // Compaction: only the folder's messages, in UID order.
            let keep = table.all().filter { liveUIDs.contains($0.uid) }.sorted { $0.uid < $1.uid }
            owner.compactions.add(1, ordering: .relaxed)
            table.known = file.rewrite(keep, uidValidity: uidValidity)
            table.seen = table.known ?? file.currentMark()
            table.removeAll()
            for entry in keep { table.put(entry) }
            table.fileEntries = keep.count
        }
        table.dates.normalize()
        table.headers.normalize()
        state.tables[i] = table
        noteSize(state)
    }
}

/// An entry in a box: a lookup copies one reference, not the ten strings and arrays of
/// its header fields (a SORT or THREAD looks up every message of the folder).
/// Threading's keys are derived once, here, and shared by every THREAD.
final class EntryBox: Sendable {
    let entry: HeaderCacheFormat.Entry
    /// Numbers of the table's `ids`.
    let keys: Threading.Keys
    init(_ entry: HeaderCacheFormat.Entry, ids: inout Threading.IDTable) {
        self.entry = entry
        let h = entry.headers
        keys = ids.keys(subject: h.subject, messageID: h.messageID, inReplyTo: h.inReplyTo, references: h.references)
    }
}

struct FolderCacheState: Sendable {
    struct Table: Sendable {
        let kind: HeaderCacheFormat.Kind
        var loaded = false
        /// The headers file's entries by UID (the last one of a UID wins).
        var headers = UIDTable<EntryBox>()
        /// The dates file's, kept small: what a date-only SORT reads per message.
        var dates = UIDTable<(nameHash: UInt32, date: Int64)>()
        /// What the headers entries' threading keys are numbers of. Started again
        /// with the entries (`removeAll`): a THREAD that saw the old one in an
        /// earlier slice sees the new generation and collects again.
        var ids = Threading.IDTable()

        mutating func put(_ entry: HeaderCacheFormat.Entry) {
            if kind == .dates {
                dates.put(entry.uid, (entry.nameHash, entry.headers.sentDate ?? HeaderCacheFormat.absentDate))
            } else {
                headers.put(entry.uid, EntryBox(entry, ids: &ids))
            }
        }

        mutating func removeAll() {
            headers.removeAll()
            dates.removeAll()
            ids = Threading.IDTable()
        }

        /// Every entry (after `normalize`: one per UID).
        func all() -> [HeaderCacheFormat.Entry] {
            guard kind == .dates else { return headers.entries.map(\.1.entry) }
            return dates.entries.map { uid, value in
                var headers = SortHeaders()
                headers.sentDate = value.date == HeaderCacheFormat.absentDate ? nil : value.date
                return HeaderCacheFormat.Entry(uid: uid, nameHash: value.nameHash, headers: headers)
            }
        }
        /// Entries in the file, stale ones and duplicates included (for compaction).
        var fileEntries = 0
        /// The file as last read or written (a change means another process wrote it).
        var seen: HeaderCacheFile.Mark?
        /// The file as last read or written whole; nil when it must be decoded again
        /// under the lock before an append (missing, torn, foreign, or failed write).
        var known: HeaderCacheFile.Mark?
    }
    var uidValidity: UInt32?
    var tables = [Table(kind: .dates), Table(kind: .headers)]

    /// A new UIDVALIDITY: nothing held is about the same messages.
    mutating func reset(ifNot uidValidity: UInt32) {
        guard self.uidValidity != uidValidity else { return }
        self = FolderCacheState()
        self.uidValidity = uidValidity
    }
}
