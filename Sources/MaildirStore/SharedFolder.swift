// Shared state of one open folder, used by every session that has it selected.
//
// Concurrency:
// - Two sessions (threads) of this server on one folder: every operation runs under one
//   Mutex, so they are serialised and each sees the other's effects. A second process
//   (Dovecot, another imapd-maildir) is coordinated through dovecot-uidlist.lock.
// - Observers are never called under the Mutex (a callback reading `snapshot` cannot
//   deadlock). Each change batch is queued under the Mutex, in the order the changes
//   happened, with the observers registered at that moment; after unlocking, the thread
//   delivers everything queued while holding a separate delivery lock, so batches reach
//   every observer in order and a thread's own batch is delivered before its call
//   returns. A callback that (against the rules) changes the folder does not deadlock:
//   its batch is delivered by the loop already running on its thread.
import Dispatch
import Glibc
import Logging
import Synchronization

/// Shared state of one open folder. Thread-safe (a Mutex inside).
public final class SharedFolder: Sendable {
    public let directory: String
    let context: FolderContext
    private let state: Mutex<FolderState>
    private let delivery = Mutex(())
    /// The state came from imapd-index rather than a full build (for tests).
    let openedFromIndex: Bool

    /// Loads imapd-index, or reads (or creates) dovecot-uidlist and scans the folder
    /// once, as the folder's owner.
    init(context: FolderContext) throws {
        self.directory = context.directory
        self.context = context
        let (initial, fromIndex) = try context.owner.perform { try Self.initialState(context) }
        self.state = Mutex(initial)
        self.openedFromIndex = fromIndex
    }

    /// Whose file-system ids the folder's operations run with (nil: the process's own).
    public var owner: FileOwner? { context.owner }

    /// The saved state (imapd-index) brought up to date, else the state built from the
    /// uidlist, the modseq log and a full scan (then saved for the next time).
    private static func initialState(_ context: FolderContext) throws -> (FolderState, fromIndex: Bool) {
        guard (try POSIX.status(context.curPath))?.isDirectory == true else {
            throw StoreError.nonexistent(context.directory)
        }
        if var indexed = context.loadIndexedState() {
            context.logger.debug("folder state loaded from imapd-index")
            let unclaimed = indexed.firstRecentUID
            try bringUpToDate(&indexed, context, force: false)
            // Messages nobody claimed before the restart stay recent (Recent.swift).
            indexed.firstRecentUID = min(indexed.firstRecentUID, unclaimed)
            return (indexed, true)
        }
        var initial = try context.loadState()
        context.loadModSeqs(&initial)
        try bringUpToDate(&initial, context, force: true)
        context.writeIndex(initial)
        return (initial, false)
    }

    /// The first synchronize of a state just loaded, then \Recent and the modseq log.
    private static func bringUpToDate(_ state: inout FolderState, _ context: FolderContext, force: Bool) throws {
        let firstNewUID = state.nextUID
        var ignored: [FolderChange] = []
        do {
            try context.synchronize(&state, force: force, moveNewToCur: false, changes: &ignored)
        } catch StoreError.locked(let path) {
            // Messages without UIDs yet stay out until the lock can be had.
            context.logger.warning("folder opened without its newest messages", metadata: ["lock": "\(path)"])
            state.forceRescan = true
        }
        state.startRecent(firstNewUID: firstNewUID)
        context.finishModSeqLoad(&state)
    }

    /// Saves the folder's state to imapd-index after a synchronize (at shutdown: the next
    /// start loads it). Errors are logged, never thrown: the index is an optimisation.
    ///
    /// Only while the folder is still the one this state was built from: its
    /// dovecot-uidlist the file the state read, with the same header, unchanged or only
    /// appended to. A folder deleted and created again under its name has another
    /// uidlist (another UIDVALIDITY in its header, even when its cur/ got the old inode
    /// number back), and one whose uidlist another program rewrote is left to a full
    /// build at the next start too, as FolderRegistry builds afresh rather than reuse
    /// such a parked folder.
    public func saveIndex() {
        do {
            try perform { context, state, changes in
                guard try context.uidListContinues(state) else { return }
                try context.synchronize(&state, force: false, moveNewToCur: false, changes: &changes)
                // The index must match the log: what the synchronize stamped goes first.
                context.commitModSeqs(&state)
                context.writeIndex(state)
            }
        } catch {
            context.logger.debug("imapd-index not saved", metadata: ["error": "\(error)"])
        }
    }

    /// Rescans new/ and cur/ (cheaply: when neither directory changed since the last
    /// scan, no readdir), assigns UIDs to new files under dovecot-uidlist.lock,
    /// notices renamed (flag) and vanished (expunged) files, and when `moveNewToCur`
    /// renames files found in new/ into cur/ with ":2,". Notifies observers of the
    /// changes, then returns the current snapshot.
    public func synchronize(moveNewToCur: Bool) throws -> FolderSnapshot {
        try perform { context, state, changes in
            try context.synchronize(&state, force: false, moveNewToCur: moveNewToCur, changes: &changes)
            return state.snapshot
        }
    }

    /// True when `synchronize` would change nothing, found without waiting: the lock
    /// is only tried (another session's long rescan holds it: false), and a batch
    /// queued or being delivered by another thread answers false too, since this
    /// caller must not return before it reached every observer (`deliverPending`).
    /// Lets a session skip the pool round trip of a synchronize on the common path
    /// where nothing changed (issue 12: cheap commands stay cheap).
    public func isSynchronized(moveNewToCur: Bool) -> Bool {
        let answer: Bool? = state.withLockIfAvailable { state in
            guard state.pendingBatches.isEmpty, state.deliveringThread == nil else { return false }
            let current = state
            return (try? context.owner.perform { context.isSynchronized(current, moveNewToCur: moveNewToCur) })
                ?? false
        }
        return answer ?? false
    }

    /// The state after the last synchronize, without touching the disk.
    public var snapshot: FolderSnapshot { state.withLock { $0.snapshot } }

    /// Registers a callback for every batch of changes. Called on the thread that made
    /// the change; it must not block or call back into the folder.
    public func addObserver(_ callback: @escaping @Sendable ([FolderChange]) -> Void) -> ObserverToken {
        state.withLock { state in
            let id = state.nextObserverID
            state.nextObserverID += 1
            state.observers[id] = callback
            return ObserverToken(id: id)
        }
    }

    public func removeObserver(_ token: ObserverToken) {
        state.withLock { _ = $0.observers.removeValue(forKey: token.id) }
    }

    /// Changes flags by renaming files (letters in ASCII order, P/unknown letters and
    /// ",field" suffixes kept). New keywords get the next free letter in
    /// dovecot-keywords (under the lock). Returns the new flags of every message whose
    /// flags actually changed; UIDs no longer present are skipped. Throws
    /// .tooManyKeywords before changing anything if a letter is needed and none is free.
    /// With `unchangedSince` (CONDSTORE), messages whose mod-sequence is above it are
    /// left alone and listed in `modified`.
    public func store(
        _ operation: FlagOperation, flags: MessageFlags, uids: [StoreUID], unchangedSince: ModSeq? = nil
    ) throws -> StoreOutcome {
        try perform { context, state, changes in
            try context.store(
                &state, operation, flags: flags, uids: uids, unchangedSince: unchangedSince, changes: &changes)
        }
    }

    /// UIDs expunged after `modSeq` (QRESYNC's VANISHED (EARLIER), RFC 7162 §3.2.5.2),
    /// ascending; nil when the folder no longer remembers every expunge since then (the
    /// caller answers from the client's known UIDs instead).
    public func expunged(since modSeq: ModSeq) -> [StoreUID]? {
        state.withLock { $0.modSeqs.expunged(since: modSeq) }
    }

    /// Unlinks the files of these UIDs. Returns the UIDs actually removed (ascending).
    public func expunge(_ uids: [StoreUID]) throws -> [StoreUID] {
        try perform { context, state, changes in
            try context.expunge(&state, uids, changes: &changes)
        }
    }

    /// `expunge`, also answering what the removed files held (for the quota).
    public func expungeFreeing(_ uids: [StoreUID]) throws -> (removed: [StoreUID], freed: QuotaUsage) {
        try perform { context, state, changes in
            var freed = QuotaUsage(bytes: 0, messages: 0)
            let removed = try context.expunge(&state, uids, freed: &freed, changes: &changes)
            return (removed, freed)
        }
    }

    /// Opens the message file, finding it by base name if it was renamed since the
    /// scan (rescanning cur/ and new/ once). nil when the message is gone (expunged).
    public func openMessage(_ uid: StoreUID) throws -> MessageFile? {
        try perform { context, state, changes in
            for attempt in 0..<2 {
                guard let index = state.messageIndex(uid),
                    let location = state.locations.location(of: state.messages[index].baseName, messageIndex: index)
                else { return nil }
                let path = context.path(of: location)
                if let (fd, status) = try POSIX.openRegularFile(path) {
                    return MessageFile(record: state.messages[index], descriptor: fd, status: status, path: path)
                }
                // Renamed or expunged by another program since our scan.
                if attempt == 0 { try context.synchronize(&state, force: true, moveNewToCur: false, changes: &changes) }
            }
            return nil
        }
    }

    /// The base names of `uids` as the folder knows them now (nil for a message gone):
    /// what a cache entry read from a file is tied to.
    public func baseNames(of uids: [StoreUID]) -> [String?] {
        state.withLock { state in
            uids.map { uid in state.messageIndex(uid).map { state.messages[$0].baseName } }
        }
    }

    /// Has the files of `uids` read into the page cache, several at once, before they are
    /// opened one by one: right after a restart each file costs the disk a directory
    /// block, an inode and its data, and a FETCH of a page of messages waited for them
    /// one message at a time. Advisory only: a file gone or renamed since is skipped.
    public func prefetch(_ uids: [StoreUID]) {
        let paths: [String] =
            (try? perform { context, state, _ in
                uids.compactMap { uid -> String? in
                    guard let index = state.messageIndex(uid),
                        let location = state.locations.location(
                            of: state.messages[index].baseName, messageIndex: index)
                    else { return nil }
                    return context.path(of: location)
                }
            }) ?? []
        guard paths.count > 1 else { return }
        let owner = context.owner
        let lanes = min(paths.count, Self.prefetchLanes)
        DispatchQueue.concurrentPerform(iterations: lanes) { lane in
            try? owner.perform {
                for index in stride(from: lane, to: paths.count, by: lanes) { POSIX.readAhead(paths[index]) }
            }
        }
    }

    /// Files `prefetch` opens at once (its threads wait for the disk, not the CPU).
    static let prefetchLanes = 4

    /// Runs `body` under the Mutex with the folder owner's file-system ids (every folder
    /// operation passes here, on whichever thread calls it: pool or inotify watcher),
    /// queues the changes it collected (also when it throws: what happened on disk must
    /// be reported), then delivers them (as the caller: observers do no file work).
    func perform<T: Sendable>(
        _ body: (FolderContext, inout FolderState, inout [FolderChange]) throws -> T
    ) throws -> T {
        let (outcome, enqueued): (Result<T, any Error>, Bool) = state.withLock { state in
            var changes: [FolderChange] = []
            let result = Result {
                try context.owner.perform {
                    context.refreshModSeqs(&state)
                    let outcome = Result { try body(context, &state, &changes) }
                    // Logged before anyone hears of the changes (ModSeqFile.swift).
                    context.commitModSeqs(&state)
                    return try outcome.get()
                }
            }
            if !changes.isEmpty {
                state.pendingBatches.append(PendingBatch(changes: changes, observers: Array(state.observers.keys)))
            }
            return (result, !changes.isEmpty)
        }
        deliverPending(enqueued: enqueued)
        return try outcome.get()
    }

    /// Delivers queued batches in order. A thread that queued a batch waits for the
    /// delivery lock even when another thread already took its batch: that thread is
    /// still delivering it, and ours must be delivered before our call returns. So does
    /// a call that found nothing new while another thread is delivering: what that
    /// thread applied (say, the inotify watcher's synchronize of a delivery) is part of
    /// the state this call saw, so it must reach every observer before this call
    /// returns, or a NOOP would drain its inbox and miss a message already in the
    /// snapshot.
    private func deliverPending(enqueued: Bool) {
        let me = UInt(pthread_self())
        let (reentrant, busy) = state.withLock {
            ($0.deliveringThread == me, !$0.pendingBatches.isEmpty || $0.deliveringThread != nil)
        }
        // Called from inside a callback: the loop running below us on this thread
        // delivers what we queued once the callback returns.
        guard !reentrant, enqueued || busy else { return }
        delivery.withLock { _ in
            while true {
                let batches: [([@Sendable ([FolderChange]) -> Void], [FolderChange])] = state.withLock { state in
                    guard !state.pendingBatches.isEmpty else {
                        state.deliveringThread = nil
                        return []
                    }
                    state.deliveringThread = me
                    let taken = state.pendingBatches
                    state.pendingBatches = []
                    // Observers removed since the batch was queued are skipped.
                    return taken.map { batch in (batch.observers.compactMap { state.observers[$0] }, batch.changes) }
                }
                if batches.isEmpty { return }
                for (callbacks, changes) in batches {
                    for callback in callbacks { callback(changes) }
                }
            }
        }
    }
}

extension SharedFolder {
    /// Internal invariants, for tests: messages ascend, every message has a file whose
    /// letters give its flags, and every file belongs to a message.
    func invariantViolations() -> [String] {
        state.withLock { state in
            var problems: [String] = []
            for (a, b) in zip(state.messages, state.messages.dropFirst()) where a.uid >= b.uid {
                problems.append("UIDs not ascending: \(a.uid) then \(b.uid)")
            }
            for message in state.messages {
                guard let location = state.locations[message.baseName] else {
                    problems.append("no file for \(message.uid)")
                    continue
                }
                let flags = state.keywords.flags(for: FlagLetters(decoding: location.name.letters))
                if flags != message.flags {
                    problems.append("\(message.uid) \(location.name.fileName) has \(message.flags) in memory")
                }
            }
            if state.locations.count != state.messages.count {
                problems.append("\(state.locations.count) files for \(state.messages.count) messages")
            }
            var digest = NameDigest()
            for (_, location) in state.locations.byBaseName { digest.insert(NameDigest.hasher(location)) }
            if digest != state.locations.digest { problems.append("the name digest is not that of the files") }
            return problems
        }
    }
}
