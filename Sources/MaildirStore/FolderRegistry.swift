// All open folders of the server: one SharedFolder per directory, shared by every
// session that has it selected, so a folder is scanned once per change, not once per
// session.
// Race: two sessions opening the same folder at once. Building a SharedFolder does file
// I/O (uidlist, scan, UID assignment, compaction), so it happens outside the registry
// lock, but one folder is built by one thread at a time (a gate per directory): the
// others wait for it and take the result. Two instances of one folder alive at once
// would each do their work under their own Mutex and fight over
// dovecot-uidlist.lock ("could not lock ... in time" under load) and over the files.
// Folders of different directories are still built in parallel.
//
// A folder whose last session left is parked, not dropped (up to `maxParkedFolders`,
// least recently parked evicted first): the next SELECT of it reuses its state and only
// rescans when cur/ or new/ changed (the mtime check in FolderSync.swift), instead of
// re-reading the uidlist and stat-ing every file. A parked folder is not watched. It is
// reused only if cur/ is still the same directory (device and inode) and its
// dovecot-uidlist the same file, unchanged (inode, size, mtime) since it was parked: a
// folder deleted and created again, renamed over, or whose uidlist another program
// wrote, is built afresh.
import Glibc
import Logging
import Synchronization

public final class FolderRegistry: Sendable {
    private struct Entry: Sendable {
        var folder: SharedFolder
        var users: Int
        /// cur/ and dovecot-uidlist when the folder was parked.
        var identity: FolderIdentity?
        /// When parked (users == 0): its place in the parking order.
        var parkedAt: UInt64 = 0
    }

    struct FolderIdentity: Equatable, Sendable {
        var curDevice: UInt64
        var curInode: UInt64
        var uidList: FileStatus
    }

    /// Folders without sessions kept for the next SELECT.
    static let maxParkedFolders = 32
    private let parkCounter = Mutex<UInt64>(0)

    let logger: Logger
    let lockTimeout: Duration
    /// Folders with this many messages get an imapd-index (FolderIndex.swift).
    let indexMinimumMessages: Int
    private let folders = Mutex<[String: Entry]>([:])
    /// Directories being built now: the gate its builder holds and how many threads
    /// hold or wait for it.
    private let builds = Mutex<[String: (gate: BuildGate, waiters: Int)]>([:])
    /// SharedFolders built so far (for tests: concurrent opens build one).
    let buildCount = Atomic<Int>(0)
    private let watcher = Mutex<FolderWatcher?>(nil)
    /// Counters of the inotify watcher (events read, overflow rescans) for the metrics.
    public let watcherStatistics = WatcherStatistics()

    public convenience init(logger: Logger) {
        self.init(logger: logger, lockTimeout: StoreTiming.defaultLockTimeout)
    }

    /// `lockTimeout`: how long a writer waits for dovecot-uidlist.lock before failing
    /// with .locked.
    public init(
        logger: Logger, lockTimeout: Duration, indexMinimumMessages: Int = FolderIndex.minimumMessages
    ) {
        self.logger = logger
        self.lockTimeout = lockTimeout
        self.indexMinimumMessages = indexMinimumMessages
    }

    /// Opens (or returns the already-open) shared state for `directory` and counts one
    /// more user of it. Reads/creates dovecot-uidlist (fresh UIDVALIDITY from
    /// `dovecot-uidvalidity` in `mailRoot` when the folder has no uidlist).
    public func open(directory: String, mailRoot: String, owner: FileOwner? = nil) throws -> SharedFolder {
        let key = Self.key(directory)
        if let open = try retainRegistered(key, owner: owner) { return open }
        let gate = builds.withLock { builds in
            var build = builds[key] ?? (BuildGate(), 0)
            build.waiters += 1
            builds[key] = build
            return build.gate
        }
        defer {
            builds.withLock { builds in
                guard var build = builds[key] else { return }
                build.waiters -= 1
                builds[key] = build.waiters == 0 ? nil : build
            }
        }
        return try gate.lock.withLock { _ in
            // Built (or re-used) by the thread we waited for.
            if let open = try retainRegistered(key, owner: owner) { return open }
            let created = try SharedFolder(
                context: FolderContext(
                    directory: key, mailRoot: mailRoot, logger: logger, lockTimeout: lockTimeout, owner: owner,
                    indexMinimumMessages: indexMinimumMessages))
            buildCount.wrappingAdd(1, ordering: .relaxed)
            folders.withLock { $0[key] = Entry(folder: created, users: 1) }
            // After registering: startWatching sets the watcher before listing the
            // folders, so a folder opened concurrently is watched by one side or both.
            watcher.withLock { $0 }?.watch(created)
            return created
        }
    }

    /// The registered folder of `key` with one more user (watched again if it was
    /// parked: a change in between is found by the caller's synchronize through the
    /// directory mtimes); nil when it must be built.
    ///
    /// A folder open for another owner is refused, never shared: its operations run with
    /// that owner's ids, so sharing it would let one user act as another when two
    /// users' paths lead to one directory (a misconfigured template or passwd home).
    private func retainRegistered(_ key: String, owner: FileOwner?) throws -> SharedFolder? {
        if let other = folders.withLock({ $0[key]?.folder.owner }), other != owner {
            logger.error(
                "folder is open for another owner; refusing to share it",
                metadata: [
                    "folder": "\(key)", "owner": "\(other)",
                    "requested": "\(owner.map(String.init(describing:)) ?? "-")",
                ])
            throw StoreError.io(key, errno: EACCES)
        }
        guard let (open, wasParked) = retain(key, identity: Self.identity(of: key)) else { return nil }
        if wasParked { watcher.withLock { $0 }?.watch(open) }
        return open
    }

    /// Watches every open folder with inotify from now on (two watches per open folder,
    /// new/ and cur/; folders are unwatched when their last session leaves, so the watch
    /// count is 2 × the folders selected at once, under fs.inotify.max_user_watches): changes made by other
    /// programs (deliveries, flag renames, expunges) are synchronized at once and reach
    /// the observers without a session asking. Idempotent.
    public func startWatching() throws {
        let started: FolderWatcher? = try watcher.withLock { current in
            guard current == nil else { return nil }
            let created = try FolderWatcher(logger: logger, statistics: watcherStatistics) { [weak self] changed in
                self?.synchronize(changed)
            }
            current = created
            return created
        }
        guard let started else { return }
        for folder in folders.withLock({ $0.values.map(\.folder) }) { started.watch(folder) }
    }

    /// Stops the inotify thread (also done when the registry goes away).
    public func stopWatching() {
        watcher.withLock { current in
            current?.stop()
            current = nil
        }
    }

    deinit { stopWatching() }

    private func synchronize(_ changed: [SharedFolder]) {
        for folder in changed {
            do {
                _ = try folder.synchronize(moveNewToCur: false)
            } catch {
                logger.warning(
                    "synchronize after a change on disk failed",
                    metadata: ["folder": "\(folder.directory)", "error": "\(error)"])
            }
        }
    }

    /// Saves the imapd-index of every folder still held (open or parked), for the next
    /// start: called when the server stops, after the sessions ended. Blocking work.
    public func saveIndexes() {
        for folder in folders.withLock({ $0.values.map(\.folder) }) { folder.saveIndex() }
    }

    /// Drops one user; the last one closes it (parks it: see the top of this file).
    public func release(_ folder: SharedFolder) {
        let parkedAt = parkCounter.withLock { counter in
            counter += 1
            return counter
        }
        let key = Self.key(folder.directory)
        // Taken before the count drops: a change after it makes the next open build afresh.
        let identity = Self.identity(of: key)
        let closed = folders.withLock { folders in
            guard var entry = folders[key], entry.folder === folder, entry.users > 0 else { return false }
            entry.users -= 1
            if entry.users == 0 {
                entry.parkedAt = parkedAt
                entry.identity = identity
            }
            folders[key] = entry
            if entry.users == 0 { Self.evictParked(&folders) }
            return entry.users == 0
        }
        if closed { watcher.withLock { $0 }?.unwatch(folder) }
    }

    /// Drops the least recently parked folders beyond `maxParkedFolders`.
    private static func evictParked(_ folders: inout [String: Entry]) {
        let parked = folders.filter { $0.value.users == 0 }
        guard parked.count > maxParkedFolders else { return }
        for (key, _) in parked.sorted(by: { $0.value.parkedAt < $1.value.parkedAt }).prefix(
            parked.count - maxParkedFolders)
        {
            folders[key] = nil
        }
    }

    /// Number of folders currently open by a session (for metrics and tests); parked
    /// ones are not counted.
    public var openFolderCount: Int { folders.withLock { $0.values.count { $0.users > 0 } } }

    /// Folders kept without a session (for tests).
    var parkedFolderCount: Int { folders.withLock { $0.values.count { $0.users == 0 } } }

    /// The registered folder of `key` with one more user, and whether it was parked; a
    /// parked folder whose cur/ is not the same directory any more is dropped instead.
    private func retain(_ key: String, identity: FolderIdentity?) -> (SharedFolder, Bool)? {
        folders.withLock { folders in
            guard var entry = folders[key] else { return nil }
            let wasParked = entry.users == 0
            if wasParked && (identity == nil || entry.identity != identity) {
                folders[key] = nil
                return nil
            }
            entry.users += 1
            folders[key] = entry
            return (entry.folder, wasParked)
        }
    }

    /// cur/'s device and inode and the uidlist's status; nil when either is missing.
    private static func identity(of directory: String) -> FolderIdentity? {
        guard let cur = try? POSIX.status(POSIX.join(directory, MaildirNames.cur)),
            let uidList = try? POSIX.status(POSIX.join(directory, MaildirNames.uidList))
        else { return nil }
        return FolderIdentity(curDevice: cur.device, curInode: cur.inode, uidList: uidList)
    }

    private static func key(_ directory: String) -> String {
        var key = directory
        while key.count > 1 && key.hasSuffix("/") { key.removeLast() }
        return key
    }
}

/// Serialises the building of one directory's SharedFolder (held while building).
private final class BuildGate: Sendable {
    let lock = Mutex<Void>(())
}
