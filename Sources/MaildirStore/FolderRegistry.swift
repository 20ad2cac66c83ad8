// All open folders of the server: one SharedFolder per directory, shared by every
// session that has it selected, so a folder is scanned once per change, not once per
// session.
// Race: two sessions opening the same folder at once may both build a SharedFolder
// (outside the registry lock, because opening does file I/O); the first to register
// wins and the other instance is dropped. Building one twice is harmless: creating a
// missing uidlist happens under dovecot-uidlist.lock.
import Logging
import Synchronization

public final class FolderRegistry: Sendable {
    private struct Entry: Sendable {
        var folder: SharedFolder
        var users: Int
    }

    let logger: Logger
    let lockTimeout: Duration
    private let folders = Mutex<[String: Entry]>([:])
    private let watcher = Mutex<FolderWatcher?>(nil)
    /// Counters of the inotify watcher (events read, overflow rescans) for the metrics.
    public let watcherStatistics = WatcherStatistics()

    public convenience init(logger: Logger) {
        self.init(logger: logger, lockTimeout: StoreTiming.defaultLockTimeout)
    }

    /// `lockTimeout`: how long a writer waits for dovecot-uidlist.lock before failing
    /// with .locked.
    public init(logger: Logger, lockTimeout: Duration) {
        self.logger = logger
        self.lockTimeout = lockTimeout
    }

    /// Opens (or returns the already-open) shared state for `directory` and counts one
    /// more user of it. Reads/creates dovecot-uidlist (fresh UIDVALIDITY from
    /// `dovecot-uidvalidity` in `mailRoot` when the folder has no uidlist).
    public func open(directory: String, mailRoot: String) throws -> SharedFolder {
        let key = Self.key(directory)
        if let open = retain(key) { return open }
        let created = try SharedFolder(
            context: FolderContext(directory: key, mailRoot: mailRoot, logger: logger, lockTimeout: lockTimeout))
        let (folder, isNew) = folders.withLock { folders in
            if var entry = folders[key] {
                entry.users += 1
                folders[key] = entry
                return (entry.folder, false)
            }
            folders[key] = Entry(folder: created, users: 1)
            return (created, true)
        }
        // After registering: startWatching sets the watcher before listing the
        // folders, so a folder opened concurrently is watched by one side or both.
        if isNew { watcher.withLock { $0 }?.watch(folder) }
        return folder
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

    /// Drops one user; the last one closes it.
    public func release(_ folder: SharedFolder) {
        let closed = folders.withLock { folders in
            let key = Self.key(folder.directory)
            guard var entry = folders[key], entry.folder === folder else { return false }
            entry.users -= 1
            folders[key] = entry.users > 0 ? entry : nil
            return entry.users <= 0
        }
        if closed { watcher.withLock { $0 }?.unwatch(folder) }
    }

    /// Number of folders currently open (for metrics and tests).
    public var openFolderCount: Int { folders.withLock { $0.count } }

    private func retain(_ key: String) -> SharedFolder? {
        folders.withLock { folders in
            guard var entry = folders[key] else { return nil }
            entry.users += 1
            folders[key] = entry
            return entry.folder
        }
    }

    private static func key(_ directory: String) -> String {
        var key = directory
        while key.count > 1 && key.hasSuffix("/") { key.removeLast() }
        return key
    }
}
