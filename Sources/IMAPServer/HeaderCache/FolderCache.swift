// One folder's header cache in memory (HeaderCache.swift has the whole): its two files
// as this process last read or wrote them, and the thread file (ThreadCacheFormat)
// that saves THREAD's keys across restarts.
//
// The thread file is only ever a shortcut. It names the headers file state it was
// derived from (device, inode, size, mtime); it is used only when the headers file is
// exactly that now, and only for THREAD, which needs no text. Anything that needs the
// texts (SORT, a compaction) reads the headers file itself.
import MailMessage
import MaildirStore
import Synchronization

final class FolderCache: Sendable {
    let files: [HeaderCacheFile]
    let threadsPath: String
    /// Who the files belong to (the thread file is written at shutdown too).
    let owner: FileOwner?
    let state = Mutex(FolderCacheState())
    let lastUse = Atomic<UInt64>(0)
    /// The size of the files as read or written (for the memory budget).
    let bytes = Atomic<Int>(0)

    /// Folders with fewer cached messages get no thread file: deriving their keys
    /// takes less than reading one.
    static let threadFileMinimum = 1000
    static let maxThreadFileBytes = 256 * 1024 * 1024

    init(directory: String, owner: FileOwner?) {
        files = [
            HeaderCacheFile(
                kind: .dates, path: directory + "/" + HeaderCacheNames.dates, maxBytes: HeaderCache.maxDatesFileBytes),
            HeaderCacheFile(
                kind: .headers, path: directory + "/" + HeaderCacheNames.headers,
                maxBytes: HeaderCache.maxHeadersFileBytes),
        ]
        threadsPath = directory + "/" + HeaderCacheNames.threads
        self.owner = owner
    }

    private static func index(_ kind: HeaderCacheFormat.Kind) -> Int { kind == .dates ? 0 : 1 }

    /// Reads the file when it was not read yet or another process changed it since.
    /// Without `texts` (THREAD) the headers table may come from the thread file and
    /// hold only the thread entries.
    func load(
        _ kind: HeaderCacheFormat.Kind, _ state: inout FolderCacheState, uidValidity: UInt32, owner: HeaderCache,
        texts: Bool = true
    ) {
        let i = Self.index(kind)
        let now = files[i].currentMark()
        let current = state.tables[i]
        if current.loaded && now == current.seen && (current.textsLoaded || !texts) { return }
        owner.fileLoads.add(1, ordering: .relaxed)
        if kind == .headers && !texts, let now, let table = readThreadFile(source: now, uidValidity: uidValidity) {
            owner.threadFileLoads.add(1, ordering: .relaxed)
            owner.logger.debug("thread keys loaded from imapd-cache.threads")
            state.tables[i] = table
            noteSize(state)
            return
        }
        var table = decodeFile(kind, uidValidity: uidValidity)
        if kind == .headers {
            // The same file again (texts wanted after a THREAD): its thread file is
            // still the one on disk.
            if table.known == current.threadFileSource { table.threadFileSource = current.threadFileSource }
            saveThreads(&table, uidValidity: uidValidity)
        }
        state.tables[i] = table
        noteSize(state)
    }

    /// A table of everything the file holds (empty when it is missing, foreign or of
    /// another UIDVALIDITY).
    private func decodeFile(_ kind: HeaderCacheFormat.Kind, uidValidity: UInt32) -> FolderCacheState.Table {
        let (bytes, mark) = files[Self.index(kind)].readBytes()
        var table = FolderCacheState.Table(kind: kind)
        table.loaded = true
        table.seen = mark
        var count = 0
        var filled = FolderCacheState.Table(kind: kind)
        if kind == .dates {
            filled.dates.reserveCapacity(bytes.count / 16)
        } else {
            filled.headers.reserveCapacity(bytes.count / 128)
            filled.threads.reserveCapacity(bytes.count / 128)
            filled.ids.reserveCapacity(messages: bytes.count / 128)
        }
        // Straight into the table: no array of every entry on the way.
        let decoded = HeaderCacheFormat.decode(kind, bytes) { entry in
            count += 1
            filled.put(entry)
        }
        if let decoded, decoded.uidValidity == uidValidity {
            filled.normalize()
            filled.loaded = true
            filled.seen = mark
            filled.fileEntries = count
            // A torn tail is not "known": the next append decodes it under the lock
            // and cuts it off before writing.
            if let mark, decoded.validEnd == mark.size { filled.known = mark }
            return filled
        }
        return table
    }

    /// The files' sizes, and what THREAD's tables add (the thread entries and the
    /// interned texts), for the memory budget.
    private func noteSize(_ state: FolderCacheState) {
        let files = state.tables.reduce(0) { $0 + ($1.seen?.size ?? 0) }
        let headers = state.tables[1]
        let threads = headers.threads.count * MemoryLayout<(UInt32, ThreadEntry)>.stride
        bytes.store(files + threads + headers.ids.estimatedBytes, ordering: .relaxed)
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
        // A compaction writes every entry's texts: a table read from the thread file
        // reads the headers file first.
        let compacts = state.tables[i].fileEntries + kept.count > compactionLimit(liveCount)
        if compacts && !state.tables[i].textsLoaded { load(kind, &state, uidValidity: uidValidity, owner: owner) }
        // Moved out, not copied: a copy would make the first change below copy the
        // whole table (every append of a 100,000-message folder's first SORT).
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
        table.normalize()
        table.fileEntries += kept.count
        table.known = appended.mark
        table.seen = appended.mark ?? file.currentMark()
        table.loaded = true
        if table.fileEntries > compactionLimit(liveCount) && table.textsLoaded {
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
        table.normalize()
        state.tables[i] = table
        noteSize(state)
    }

    private func compactionLimit(_ liveCount: Int) -> Int {
        HeaderCache.compactionFactor * liveCount + HeaderCache.compactionSlack
    }

    // MARK: The thread file

    /// The headers table as the thread file saved it for the headers file `source`
    /// (only thread entries, no texts); nil when there is none, it is damaged, or it
    /// was derived from another state of the headers file.
    private func readThreadFile(source: HeaderCacheFile.Mark, uidValidity: UInt32) -> FolderCacheState.Table? {
        guard let (bytes, _) = CacheFileIO.read(threadsPath, maxBytes: Self.maxThreadFileBytes),
            let contents = ThreadCacheFormat.decode(bytes),
            contents.uidValidity == uidValidity, contents.source == source
        else { return nil }
        var table = FolderCacheState.Table(kind: .headers)
        table.threads = UIDTable(ascending: contents.uids, values: contents.entries)
        table.ids = contents.ids
        table.textsLoaded = false
        table.loaded = true
        table.seen = source
        // Written only for a whole headers file, which it still is.
        table.known = source
        table.threadFileSource = source
        table.fileEntries = contents.headersFileEntries
        return table
    }

    /// Writes the thread file for the headers table when it is large enough and the
    /// file on disk describes another state (or none). Inside the owner's `perform`.
    func saveThreads(_ table: inout FolderCacheState.Table, uidValidity: UInt32) {
        guard table.kind == .headers, let known = table.known, known != table.threadFileSource,
            table.threads.count >= Self.threadFileMinimum
        else { return }
        let bytes = ThreadCacheFormat.encode(
            uidValidity: uidValidity, source: known, headersFileEntries: table.fileEntries,
            uids: table.threads.columns.uids, entries: table.threads.columns.values, ids: table.ids)
        guard bytes.count <= Self.maxThreadFileBytes, CacheFileIO.replace(threadsPath, with: bytes) != nil else {
            return
        }
        table.threadFileSource = known
    }
}

/// An entry in a box: a lookup copies one reference, not the ten strings and arrays of
/// its header fields (a SORT looks up every message of the folder).
final class EntryBox: Sendable {
    let entry: HeaderCacheFormat.Entry
    init(_ entry: HeaderCacheFormat.Entry) { self.entry = entry }
}

struct FolderCacheState: Sendable {
    struct Table: Sendable {
        let kind: HeaderCacheFormat.Kind
        var loaded = false
        /// The headers file's entries by UID (the last one of a UID wins), when
        /// `textsLoaded`.
        var headers = UIDTable<EntryBox>()
        /// Of the headers file: what THREAD reads of each entry; complete whenever
        /// the table is loaded.
        var threads = UIDTable<ThreadEntry>()
        /// What the thread entries' keys are numbers of. Started again with the
        /// entries (`removeAll`): a THREAD that saw the old one in an earlier slice
        /// sees the new generation and collects again.
        var ids = Threading.IDTable()
        /// Whether `headers` holds the entries (false for a table read from the
        /// thread file: until a SORT or a compaction needs the texts).
        var textsLoaded = true
        /// The headers file state the thread file on disk was written for.
        var threadFileSource: HeaderCacheFile.Mark?
        /// The dates file's, kept small: what a date-only SORT reads per message.
        var dates = UIDTable<(nameHash: UInt32, date: Int64)>()

        init(kind: HeaderCacheFormat.Kind) { self.kind = kind }

        mutating func put(_ entry: HeaderCacheFormat.Entry) {
            let date = entry.headers.sentDate ?? HeaderCacheFormat.absentDate
            if kind == .dates {
                dates.put(entry.uid, (entry.nameHash, date))
                return
            }
            let keys = ids.keys(of: entry.headers)
            threads.put(entry.uid, ThreadEntry(nameHash: entry.nameHash, date: date, keys: keys))
            if textsLoaded { headers.put(entry.uid, EntryBox(entry)) }
        }

        mutating func normalize() {
            headers.normalize()
            threads.normalize()
            dates.normalize()
        }

        mutating func removeAll() {
            headers.removeAll()
            threads.removeAll()
            dates.removeAll()
            ids = Threading.IDTable()
            textsLoaded = true
        }

        /// Every entry (after `normalize`: one per UID; the headers table only when
        /// `textsLoaded`).
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
