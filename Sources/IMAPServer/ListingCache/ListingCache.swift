// The persistent listing cache (issue 15 item 4): per folder, each message's ENVELOPE,
// BODYSTRUCTURE and top-level HEADER.FIELDS sections, and the header texts SEARCH
// matched (ListingEntry), in `imapd-cache.listing` beside dovecot-uidlist, found by
// offset (ListingFormat). After a restart, a webmail's page `UID FETCH 1:50 (ENVELOPE
// BODYSTRUCTURE …)` reads one or two runs of that file instead of 50 message files, and
// `SEARCH FROM x` of a folder searched that way before opens no message.
//
// Unlike the header cache's files, which SORT and THREAD read whole, this file is never
// read whole after the first time: memory holds only UID → offset tables per folder
// (eight bytes a message and kind of frame), loaded from `imapd-cache.listing-offsets`
// plus the frames appended after it was saved. SEARCH keeps texts field by field, as
// searches need them (as Dovecot's cache adds the header fields searches use).
//
// The Maildir stays the truth, as in HeaderCache: entries are keyed by UID under the
// folder's UIDVALIDITY and carry the hash of the base name they were read from; an
// entry under another name, a damaged frame, or an offset that no longer leads to the
// UID's frame is a miss, and the message is read from its file (and cached again).
// A compaction drops the frames of messages gone and stale ones once the file holds
// more than two of each kind a message (+1024); the file has a hard size cap beyond
// which it stops growing.
import Logging
import MaildirStore
import Synchronization

final class ListingCache: Sendable {
    static let maxFolders = 64
    static let maxFileBytes = 1024 * 1024 * 1024
    static let compactionFactor = 2
    static let compactionSlack = 1024

    /// Frames a file of a folder of `messages` may hold before it is compacted:
    /// `compactionFactor` of each kind per message, plus the slack.
    static func compactionLimit(messages: Int) -> Int {
        compactionFactor * ListingKind.allCases.count * messages + compactionSlack
    }
    /// Frames appended since the offsets were saved before they are saved again: after
    /// a crash, at most this many frames are found by reading the tail.
    static let saveEvery = 20_000

    private struct Folders {
        var byDirectory: [String: ListingFolder] = [:]
        var clock: UInt64 = 0
    }
    private let folders = Mutex(Folders())

    /// Counters (tests and the debug log): loads of a folder's table, entries found
    /// and not found, appends, compactions.
    let loads = Atomic<Int>(0)
    let hits = Atomic<Int>(0)
    let misses = Atomic<Int>(0)
    let appends = Atomic<Int>(0)
    let compactions = Atomic<Int>(0)
    let logger: Logger

    init(logger: Logger = Logger(label: "imapd.listing-cache", factory: { _ in SwiftLogNoOpLogHandler() })) {
        self.logger = logger
    }

    /// The cached entries of these messages (nil where there is none for the message's
    /// file now), decoded as far as `decoding` says, or whole when they lack part of
    /// it (ListingCodec.decode).
    func lookup(
        _ folder: SharedFolder, uidValidity: StoreUIDValidity, messages: [(uid: StoreUID, baseName: String)],
        decoding: ListingCodec.Decoding
    ) -> [ListingEntry?] {
        guard !messages.isEmpty else { return [] }
        let cache = folderCache(folder)
        let found = try? folder.owner.perform { () -> [ListingEntry?] in
            let wanted = cache.state.withLock { state -> [ListingFile.Wanted?] in
                cache.ensureLoaded(&state, uidValidity: uidValidity.rawValue, owner: self)
                let kind = ListingKind(decoding.parts)
                let offsets = state.contents.offsets.lookup(messages.map(\.uid.rawValue), kind)
                return zip(messages, offsets).map { message, offset in
                    offset.map { (message.uid.rawValue, HeaderCacheFormat.nameHash(message.baseName), $0) }
                }
            }
            // Read outside the lock: a frame is checked against its UID and name hash.
            let present = wanted.indices.filter { wanted[$0] != nil }
            let read = cache.file.read(present.map { wanted[$0]! }, decoding: decoding)
            var found = [ListingEntry?](repeating: nil, count: messages.count)
            for (index, entry) in zip(present, read) { found[index] = entry }
            return found
        }
        let result = found ?? Array(repeating: nil, count: messages.count)
        let hitCount = result.reduce(0) { $0 + ($1 == nil ? 0 : 1) }
        hits.add(hitCount, ordering: .relaxed)
        misses.add(messages.count - hitCount, ordering: .relaxed)
        return result
    }

    /// Appends these entries (each already merged with what was cached before).
    func store(_ folder: SharedFolder, uidValidity: StoreUIDValidity, _ entries: [ListingEntry]) {
        guard !entries.isEmpty else { return }
        let cache = folderCache(folder)
        _ = try? folder.owner.perform {
            cache.state.withLock { state in
                cache.ensureLoaded(&state, uidValidity: uidValidity.rawValue, owner: self)
                cache.append(entries, &state, uidValidity: uidValidity.rawValue, folder: folder, owner: self)
            }
        }
    }

    /// Saves the offsets of every folder held whose file grew since (at shutdown: the
    /// next start reads the offsets instead of the file).
    func saveOffsets() {
        let held = folders.withLock { Array($0.byDirectory.values) }
        for cache in held { cache.saveOffsets() }
    }

    private func folderCache(_ folder: SharedFolder) -> ListingFolder {
        let directory = folder.directory
        var evicted: [ListingFolder] = []
        defer { for cache in evicted { cache.saveOffsets() } }
        return folders.withLock { folders in
            folders.clock += 1
            if let found = folders.byDirectory[directory] {
                found.lastUse.store(folders.clock, ordering: .relaxed)
                return found
            }
            while folders.byDirectory.count >= Self.maxFolders,
                let oldest = folders.byDirectory.min(by: {
                    $0.value.lastUse.load(ordering: .relaxed) < $1.value.lastUse.load(ordering: .relaxed)
                })
            {
                evicted.append(oldest.value)
                folders.byDirectory[oldest.key] = nil
            }
            let created = ListingFolder(directory: directory, owner: folder.owner)
            created.lastUse.store(folders.clock, ordering: .relaxed)
            folders.byDirectory[directory] = created
            return created
        }
    }
}

/// One folder's listing file as this process knows it.
final class ListingFolder: Sendable {
    let file: ListingFile
    let owner: FileOwner?
    let state = Mutex(ListingFolderState())
    let lastUse = Atomic<UInt64>(0)

    init(directory: String, owner: FileOwner?) {
        file = ListingFile(directory: directory, maxBytes: ListingCache.maxFileBytes)
        self.owner = owner
    }

    /// Reads the file's table when not read yet, or when another process changed the
    /// file since (its mark differs from what this process last saw).
    func ensureLoaded(_ state: inout ListingFolderState, uidValidity: UInt32, owner: ListingCache) {
        if state.uidValidity != uidValidity {
            state = ListingFolderState()
            state.uidValidity = uidValidity
        }
        if state.loaded && file.currentMark() == state.contents.mark { return }
        owner.loads.add(1, ordering: .relaxed)
        state.contents = file.load(uidValidity: uidValidity)
        state.loaded = true
        owner.logger.debug(
            "listing offsets loaded",
            metadata: [
                "entries": "\(state.contents.offsets.count)", "tail": "\(state.contents.end - state.contents.saved)",
            ])
    }

    func append(
        _ entries: [ListingEntry], _ state: inout ListingFolderState, uidValidity: UInt32, folder: SharedFolder,
        owner: ListingCache
    ) {
        let appended = file.append(entries, uidValidity: uidValidity, known: state.contents.known)
        if let reloaded = appended.contents { state.contents = reloaded }
        guard let mark = appended.mark else {
            // Nothing written: what is on disk is read again next time.
            state.loaded = false
            return
        }
        owner.appends.add(1, ordering: .relaxed)
        for frame in appended.written { state.contents.offsets.put(frame.uid, frame.offset, frame.kind) }
        state.contents.offsets.normalize()
        state.contents.frames += appended.written.count
        state.contents.end = appended.end
        state.contents.mark = mark
        state.contents.known = mark
        let live = folder.snapshot.messages
        if state.contents.frames > max(ListingCache.compactionLimit(messages: live.count), state.noCompactionBelow) {
            compact(&state, live: live.map(\.uid.rawValue), uidValidity: uidValidity, owner: owner)
        } else if state.contents.frames - state.contents.savedFrames >= ListingCache.saveEvery {
            file.saveOffsets(&state.contents)
        }
    }

    /// Rewrites the file with the entries of the folder's messages only.
    private func compact(_ state: inout ListingFolderState, live: [UInt32], uidValidity: UInt32, owner: ListingCache) {
        var wanted: [ListingFile.Wanted] = []
        for kind in ListingKind.allCases {
            for (uid, offset) in zip(live, state.contents.offsets.lookup(live, kind)) {
                guard let offset else { continue }
                // The name hash is not known here: the frame's own is kept.
                wanted.append((uid, nil, offset))
            }
        }
        owner.compactions.add(1, ordering: .relaxed)
        guard let contents = file.compact(keeping: wanted, uidValidity: uidValidity) else {
            // Not replaced (no room, a file planted at the temporary path): not tried
            // again at every append, only once the file has grown as much again.
            state.noCompactionBelow = 2 * state.contents.frames
            return
        }
        state.contents = contents
    }

    func saveOffsets() {
        _ = try? owner.perform {
            state.withLock { state in
                guard state.loaded, state.contents.header != nil, state.contents.saved < state.contents.end,
                    state.contents.known == file.currentMark()
                else { return }
                file.saveOffsets(&state.contents)
            }
        }
    }
}

struct ListingFolderState: Sendable {
    var uidValidity: UInt32?
    var loaded = false
    var contents = ListingFile.Contents()
    /// After a compaction that could not replace the file: frames below which none is
    /// tried again.
    var noCompactionBelow = 0
}
