// The server's cache of what was parsed of each message (issue 3 item 4): the MIME
// tree (header and body offsets of every part, sizes and line counts: the header index
// that BODY[1.2], HEADER.FIELDS, MIME and BINARY.SIZE use), ENVELOPE and
// BODYSTRUCTURE. A message list `UID FETCH 1:* (FLAGS ENVELOPE BODYSTRUCTURE
// RFC822.SIZE)` parses each file once per server, not once per request or session;
// when every item a FETCH needs is cached, the file is not even opened.
//
// Design:
// - One cache per server (ServerContext), shared by every session and folder, with one
//   byte budget (`ServerConfiguration.messageCacheBytes`, default 256 MiB). It lives in
//   memory only: a restart starts cold.
// - Keyed by folder directory, UIDVALIDITY and UID. Invariant that makes this safe:
//   Maildir message bytes never change (delivery writes tmp/ and renames; a flag change
//   renames; nothing rewrites a file in place), and a UID is never reused under one
//   UIDVALIDITY (RFC 9051 §2.3.1.1). So an entry is either exactly right or belongs to
//   a message that no longer exists, which no request can name (a session's view only
//   holds UIDs present when it last synchronized; a message expunged since then fails
//   to open before its entry is used, see FetchJob).
// - A folder met with a different UIDVALIDITY (uidlist recreated) drops all its entries.
// - Expunge: the cache observes each SharedFolder it serves and drops the entries of
//   expunged UIDs when the folder reports them. Expunges made while no session has the
//   folder open are not reported: those entries are never served (see above) and leave
//   through eviction.
// - Budget: every entry has an estimated cost (`CacheCost`); when the total exceeds
//   the budget, the least recently used entries go until the total is at most
//   `evictionTarget` of the budget (hysteresis, so the O(n log n) sort is amortised
//   over many insertions). An entry costing more than the budget is not kept.
// - Concurrency: the folders are spread over `shardCount` shards by directory, each
//   with its own Mutex and an equal share of the budget (one shard below
//   `shardingThreshold`), so FETCHes of different folders on different threads do
//   not queue on one lock (issue 12: one lock cost 10% of the CPU at 50 clients);
//   lookups and stores are dictionary operations, never file work. The observer callback takes the same Mutex briefly
//   and never calls back into the folder (SharedFolder's observer rule). Two sessions
//   parsing the same message at once both store it: the second store replaces an
//   equal entry (harmless, counted twice in `parses`).
import IMAPProtocol
import MailMessage
import MaildirStore
import Synchronization

/// What was parsed of one message. Envelope and structure are filled in when first
/// asked for; the tree whenever the file was parsed (an entry made from the listing
/// cache has none until a FETCH needs the file).
struct ParsedMessage: Sendable {
    var tree: MessageTree?
    var envelope: Envelope?
    /// The BODYSTRUCTURE form (with extension data); BODY is the same value encoded
    /// without it (ResponseEncoder ignores extension data when not extensible).
    var bodyStructure: BodyStructure?
    /// What SORT and THREAD read of the header (SortFields.all, capped): a second SORT
    /// of a folder opens no file.
    var sortHeaders: SortHeaders?
    /// Top-level HEADER.FIELDS sections' bytes, by `SectionSpec.headerKey`.
    var headerSections: [String: [UInt8]] = [:]
}

final class ParsedMessageCache: Sendable {
    /// Counters for tests and metrics.
    struct Statistics: Sendable, Equatable {
        /// MIME parses done on behalf of the cache (files parsed).
        var parses = 0
        var hits = 0
        var misses = 0
        var evictions = 0
        /// Estimated bytes held now.
        var bytes = 0
        var entries = 0
    }

    /// What eviction shrinks the total to, as a fraction of the budget (3/4).
    static let evictionTargetNumerator = 3
    static let evictionTargetDenominator = 4

    private struct Entry {
        var message: ParsedMessage
        var cost: Int
        var lastUse: UInt64
    }

    private struct FolderEntries {
        var uidValidity: StoreUIDValidity
        var entries: [UInt32: Entry] = [:]
        /// The SharedFolder instance observed for expunges (weak: the registry owns it).
        weak var observed: SharedFolder?
    }

    private struct State {
        var folders: [String: FolderEntries] = [:]
        var clock: UInt64 = 0
        var statistics = Statistics()
    }

    private final class Shard: Sendable {
        let state = Mutex(State())
    }

    let budget: Int
    /// Each shard's share of the budget: what eviction and the largest entry go by.
    let shardBudget: Int
    private let shards: [Shard]
    static let shardCount = 16
    /// Smaller budgets keep one shard (and the whole budget for one entry).
    static let shardingThreshold = 64 * 1024 * 1024

    /// `budget`: estimated bytes the cache may hold; 0 disables it.
    init(budget: Int) {
        self.budget = max(0, budget)
        let count = budget >= Self.shardingThreshold ? Self.shardCount : 1
        shards = (0..<count).map { _ in Shard() }
        shardBudget = self.budget / count
    }

    /// The shard holding the folder of `directory`.
    private func shard(_ directory: String) -> Shard {
        shards.count == 1 ? shards[0] : shards[Int(UInt(bitPattern: directory.hashValue) % UInt(shards.count))]
    }

    var statistics: Statistics {
        shards.reduce(into: Statistics()) { total, shard in
            let part = shard.state.withLock { $0.statistics }
            total.parses += part.parses
            total.hits += part.hits
            total.misses += part.misses
            total.evictions += part.evictions
            total.bytes += part.bytes
            total.entries += part.entries
        }
    }

    /// The cached parse of `uid`, if any; marks it recently used. Also makes sure the
    /// folder's expunges reach the cache.
    func lookup(_ folder: SharedFolder, uidValidity: StoreUIDValidity, uid: StoreUID) -> ParsedMessage? {
        guard budget > 0 else { return nil }
        let (found, mustObserve) = shard(folder.directory).state.withLock { state -> (ParsedMessage?, Bool) in
            state.clock += 1
            let clock = state.clock
            var mustObserve = false
            let found = Self.withFolder(&state, folder, uidValidity, mustObserve: &mustObserve) { entries in
                guard var entry = entries.entries[uid.rawValue] else { return nil as ParsedMessage? }
                entry.lastUse = clock
                entries.entries[uid.rawValue] = entry
                return entry.message
            }
            if found != nil { state.statistics.hits += 1 } else { state.statistics.misses += 1 }
            return (found, mustObserve)
        }
        if mustObserve { observe(folder) }
        return found
    }

    /// The cached parse of `uid` without counting a hit or a miss or marking it used:
    /// for looking ahead at messages a FETCH will `lookup` when it reaches them.
    func peek(_ folder: SharedFolder, uidValidity: StoreUIDValidity, uid: StoreUID) -> ParsedMessage? {
        guard budget > 0 else { return nil }
        return shard(folder.directory).state.withLock { state in
            guard let entries = state.folders[folder.directory], entries.uidValidity == uidValidity else { return nil }
            return entries.entries[uid.rawValue]?.message
        }
    }

    /// Counts one MIME parse of a message file (the counter tests rely on).
    func countParse(_ folder: SharedFolder) { shard(folder.directory).state.withLock { $0.statistics.parses += 1 } }

    /// Keeps (or replaces) the parse of `uid`, then evicts if over budget.
    func store(_ message: ParsedMessage, folder: SharedFolder, uidValidity: StoreUIDValidity, uid: StoreUID) {
        let cost = CacheCost.of(message)
        guard budget > 0, cost <= shardBudget else { return }
        let mustObserve = shard(folder.directory).state.withLock { state -> Bool in
            state.clock += 1
            let clock = state.clock
            var mustObserve = false
            let previous = Self.withFolder(&state, folder, uidValidity, mustObserve: &mustObserve) { entries in
                entries.entries.updateValue(Entry(message: message, cost: cost, lastUse: clock), forKey: uid.rawValue)
            }
            state.statistics.bytes += cost - (previous?.cost ?? 0)
            if previous == nil { state.statistics.entries += 1 }
            if state.statistics.bytes > shardBudget { evict(&state) }
            return mustObserve
        }
        if mustObserve { observe(folder) }
    }

    /// A HEADER.FIELDS section longer than this is not kept (read from the file).
    static let maxHeaderSectionBytes = 16 * 1024

    /// A parse with its tree, which `ParsedMessage` may lack.
    struct Parsed {
        var message: ParsedMessage
        var tree: MessageTree
    }

    /// The parse of `raw` (the bytes of message `uid`): `cached` completed with the
    /// tree, envelope and structure when asked for, or a fresh parse (counted); stored
    /// back when anything was added, unless `probe` says the file shrank under the parse
    /// (a parse of zeros must never be served to anyone).
    func parse(
        _ raw: UnsafeRawBufferPointer, probe: ShrinkProbe, cached: ParsedMessage?, envelope: Bool, structure: Bool,
        sortHeaders: Bool = false, headerSections: [FetchPlan.HeaderSection] = [], folder: SharedFolder,
        uidValidity: StoreUIDValidity, uid: StoreUID
    ) -> Parsed {
        var parsed = cached ?? ParsedMessage()
        var changed = false
        let tree: MessageTree
        if let known = parsed.tree {
            tree = known
        } else {
            countParse(folder)
            tree = MessageTree.parse(raw)
            parsed.tree = tree
            changed = true
        }
        if envelope && parsed.envelope == nil {
            parsed.envelope = tree.envelope(raw)
            changed = true
        }
        if structure && parsed.bodyStructure == nil {
            parsed.bodyStructure = tree.bodyStructure(raw, extensible: true)
            changed = true
        }
        if sortHeaders && parsed.sortHeaders == nil {
            parsed.sortHeaders = SortFields.all.trim(tree.sortHeaders(raw))
            changed = true
        }
        for section in headerSections {
            guard parsed.headerSections[section.key] == nil,
                case .bytes(let bytes) = tree.section(section.spec, raw), bytes.count <= Self.maxHeaderSectionBytes
            else { continue }
            parsed.headerSections[section.key] = bytes
            changed = true
        }
        if changed && !probe.fileShrank { store(parsed, folder: folder, uidValidity: uidValidity, uid: uid) }
        return Parsed(message: parsed, tree: tree)
    }

    /// Keeps what SORT and THREAD read of `uid`'s header (from its top-level header
    /// alone, MessageFile.withTopHeader) with whatever else is cached of it.
    func keep(sortHeaders: SortHeaders, folder: SharedFolder, uidValidity: StoreUIDValidity, uid: StoreUID) {
        guard budget > 0 else { return }
        var parsed = peek(folder, uidValidity: uidValidity, uid: uid) ?? ParsedMessage()
        guard parsed.sortHeaders == nil else { return }
        parsed.sortHeaders = sortHeaders
        store(parsed, folder: folder, uidValidity: uidValidity, uid: uid)
    }

    /// Drops the entries of expunged messages.
    func remove(directory: String, uids: [StoreUID]) {
        shard(directory).state.withLock { state in
            guard var folder = state.folders[directory] else { return }
            for uid in uids {
                guard let entry = folder.entries.removeValue(forKey: uid.rawValue) else { continue }
                state.statistics.bytes -= entry.cost
                state.statistics.entries -= 1
            }
            state.folders[directory] = folder
        }
    }

    /// Runs `body` on the entries of `folder`, creating them, or starting afresh when the
    /// UIDVALIDITY changed. `mustObserve` is set when this folder instance is not yet
    /// observed for expunges (the caller registers after unlocking).
    private static func withFolder<T>(
        _ state: inout State, _ folder: SharedFolder, _ uidValidity: StoreUIDValidity, mustObserve: inout Bool,
        _ body: (inout FolderEntries) -> T
    ) -> T {
        var entries = state.folders.removeValue(forKey: folder.directory) ?? FolderEntries(uidValidity: uidValidity)
        if entries.uidValidity != uidValidity {
            state.statistics.bytes -= entries.entries.values.reduce(0) { $0 + $1.cost }
            state.statistics.entries -= entries.entries.count
            entries = FolderEntries(uidValidity: uidValidity, observed: entries.observed)
        }
        if entries.observed !== folder {
            entries.observed = folder
            mustObserve = true
        }
        let result = body(&entries)
        state.folders[folder.directory] = entries
        return result
    }

    /// Registers for the folder's expunges. The callback holds the cache weakly and only
    /// takes the cache's Mutex (it never calls into the folder).
    private func observe(_ folder: SharedFolder) {
        let directory = folder.directory
        _ = folder.addObserver { [weak self] changes in
            for case .expunged(let uids, _) in changes { self?.remove(directory: directory, uids: uids) }
        }
    }

    /// Drops least recently used entries until the total is at most the eviction target.
    private func evict(_ state: inout State) {
        let target = shardBudget / Self.evictionTargetDenominator * Self.evictionTargetNumerator
        var all: [(lastUse: UInt64, directory: String, uid: UInt32, cost: Int)] = []
        all.reserveCapacity(state.statistics.entries)
        for (directory, folder) in state.folders {
            for (uid, entry) in folder.entries { all.append((entry.lastUse, directory, uid, entry.cost)) }
        }
        all.sort { $0.lastUse < $1.lastUse }
        for victim in all {
            guard state.statistics.bytes > target else { break }
            state.folders[victim.directory]?.entries[victim.uid] = nil
            state.statistics.bytes -= victim.cost
            state.statistics.entries -= 1
            state.statistics.evictions += 1
        }
    }
}

extension MessageFile {
    /// Files up to this size are read with one pread into memory; larger ones are mapped.
    static let readWholeLimit = 1024 * 1024

    /// Runs `body` on the whole file: read into memory when small (fewer system calls
    /// than a mapping: no dup, fstat, mmap, munmap), mapped read-only when large. The
    /// probe tells whether the file shrank under the read (MessageFile.withMappedBytes).
    func withContents<R>(_ body: (UnsafeRawBufferPointer, ShrinkProbe) throws -> R) throws -> R {
        guard size <= MessageFile.readWholeLimit else { return try withMappedBytes(body) }
        let bytes = try read(offset: 0, count: size)
        return try bytes.withUnsafeBytes { try body($0, ShrinkProbe(shortRead: bytes.count < size)) }
    }
}
