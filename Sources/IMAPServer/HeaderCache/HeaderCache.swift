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
import Logging
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
    /// Headers tables read from a thread file instead of the headers file (tests).
    let threadFileLoads = Atomic<Int>(0)

    /// Debug lines only (which file a table came from); never a header's text.
    let logger: Logger

    init(logger: Logger = Logger(label: "imapd.header-cache", factory: { _ in SwiftLogNoOpLogHandler() })) {
        self.logger = logger
    }

    /// What `lookup` found: per record, its cached headers trimmed to the fields
    /// asked for (nil for a message not cached, or cached under another name).
    struct Found {
        var entries: [Entry?]
        /// The table the threading keys are numbers of (THREAD only).
        var ids: Threading.IDTable?
    }

    /// Small, and without texts free of references (a SORT by date or a THREAD looks
    /// up every message of the folder).
    struct Entry {
        /// The Date: field; nil when absent or unparsable.
        var date: Int64?
        /// The text fields asked for (SORT; none for THREAD and a date-only SORT), with
        /// the base subject when SUBJECT is asked for.
        var texts: SortTexts?
        /// THREAD: the keys derived from the threading fields, which are not handed on.
        var keys: Threading.Keys?

        init(date: Int64, texts: SortTexts? = nil, keys: Threading.Keys? = nil) {
            self.date = date == HeaderCacheFormat.absentDate ? nil : date
            self.texts = texts
            self.keys = keys
        }
    }

    /// The cached headers of `records`, trimmed to `fields`. A date-only SORT reads
    /// the small file. With `threadKeys` false, a THREAD's fields are handed on as
    /// texts (keys derived by the caller).
    func lookup(
        _ folder: SharedFolder, uidValidity: StoreUIDValidity,
        records: ArraySlice<MessageRecord>, fields: SortFields, threadKeys: Bool = true
    ) -> Found {
        let datesOnly = fields == .date
        // THREAD reads Subject, Message-ID, In-Reply-To and References only through
        // the keys derived from them, and the date: the thread entries, no text.
        let threading = fields.contains(.threading) && threadKeys
        let cache = folderCache(folder)
        let found = try? folder.owner.perform {
            cache.state.withLock { state -> Found in
                state.reset(ifNot: uidValidity.rawValue)
                let kind: HeaderCacheFormat.Kind = datesOnly ? .dates : .headers
                cache.load(kind, &state, uidValidity: uidValidity.rawValue, owner: self, texts: !threading)
                let table = state.tables[kind == .dates ? 0 : 1]
                // By index, not by zipping records: a zip copies every MessageRecord (two
                // reference counts each, 100,000 times).
                let uids = records.map(\.uid.rawValue)
                let start = records.startIndex
                // Each value found, kept only when its name hash is that of the record's
                // file now.
                func entries<Value>(
                    _ found: [Value?], _ nameHash: (Value) -> UInt32, _ entry: (Int, Value) -> Entry
                ) -> [Entry?] {
                    found.enumerated().map { offset, value in
                        guard let value, nameHash(value) == HeaderCacheFormat.nameHash(records[start + offset].baseName)
                        else { return nil }
                        return entry(offset, value)
                    }
                }
                if datesOnly {
                    // The small table: a date and a hash per message, nothing to copy.
                    return Found(entries: entries(table.dates.lookup(uids), \.nameHash) { Entry(date: $1.date) })
                }
                if threading {
                    // Plain values: nothing retained per message on the way to Threading.
                    let found = entries(table.threads.lookup(uids), \.nameHash) { Entry(date: $1.date, keys: $1.keys) }
                    return Found(entries: found, ids: table.ids)
                }
                // SORT by SUBJECT takes the base subject derived when the entry was put.
                let threads = fields.contains(.subject) ? table.threads.lookup(uids) : nil
                let found = entries(table.headers.lookup(uids), \.entry.nameHash) { offset, box in
                    let baseSubject = threads?[offset].map { table.ids.subjects[Int($0.keys.subject)] }
                    let (date, texts) = SortTexts.split(fields.trim(box.entry.headers), baseSubject: baseSubject)
                    return Entry(date: date ?? HeaderCacheFormat.absentDate, texts: texts)
                }
                return Found(entries: found)
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
        let cache = folderCache(folder)
        let entries = read.map {
            HeaderCacheFormat.Entry(
                uid: $0.record.uid.rawValue, nameHash: HeaderCacheFormat.nameHash($0.record.baseName),
                headers: $0.headers)
        }
        _ = try? folder.owner.perform {
            cache.state.withLock { state in
                state.reset(ifNot: uidValidity.rawValue)
                for kind in [HeaderCacheFormat.Kind.dates, .headers] {
                    cache.load(kind, &state, uidValidity: uidValidity.rawValue, owner: self, texts: false)
                    cache.append(
                        kind, entries, &state, uidValidity: uidValidity.rawValue, liveCount: liveCount, live: live,
                        owner: self)
                }
            }
        }
    }

    /// Folders held in memory now (tests).
    var folderCount: Int { folders.withLock { $0.byDirectory.count } }

    /// What the folders held count against `maxFileBytesInMemory` (tests).
    var heldBytes: Int {
        folders.withLock { $0.byDirectory.values.reduce(0) { $0 + $1.bytes.load(ordering: .relaxed) } }
    }

    /// Writes the thread file of each folder held whose file on disk is missing or
    /// describes an older state (at shutdown: the next start's first THREAD of a
    /// large folder reads it instead of deriving every message's keys).
    func saveThreadFiles() {
        let held = folders.withLock { Array($0.byDirectory.values) }
        for cache in held {
            _ = try? cache.owner.perform {
                cache.state.withLock { state in
                    guard let uidValidity = state.uidValidity else { return }
                    cache.saveThreads(&state.tables[1], uidValidity: uidValidity)
                }
            }
        }
    }

    private func folderCache(_ folder: SharedFolder) -> FolderCache {
        let directory = folder.directory
        return folders.withLock { folders in
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
            let created = FolderCache(directory: directory, owner: folder.owner)
            created.lastUse.store(folders.clock, ordering: .relaxed)
            folders.byDirectory[directory] = created
            return created
        }
    }
}
