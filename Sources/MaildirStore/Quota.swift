// One user's Maildir++ quota: the limits (QuotaRule.swift) and the usage kept in
// `maildirsize` (MaildirSize.swift).
//
// Concurrency: every check-and-update of one Maildir's usage runs under one lock per
// Maildir root, shared by all sessions of this process (QuotaLocks), so two APPENDs
// (or an APPEND and a COPY) of the same user cannot both pass a check that only one
// of them fits: the second one reads the first one's line. The MDA and other servers
// coordinate only through the file itself (single-write appends, rename for a
// rewrite), as Maildir++ intends; a delivery that lands while we recalculate may be
// counted twice or not at all until the next recalculation, which the Maildir++
// rules trigger on their own (size, age, over quota).
//
// A user without limits is not tracked at all (no `maildirsize` is written), unlike
// Dovecot, which keeps the file even then.
import Glibc
import Logging
import Synchronization

public final class Quota: Sendable {
    /// RFC 9208 §3: the name of the one quota root every folder of the user shares
    /// (Dovecot's default name, so clients see the same root after a switch).
    public static let rootName = "User quota"

    public let limits: QuotaLimits
    let store: Mailstore
    private let lock: QuotaLock

    public init(store: Mailstore, limits: QuotaLimits) {
        self.store = store
        self.limits = limits
        self.lock = QuotaLocks.lock(for: store.root)
    }

    /// Thrown (before anything is saved) when a change would go over a limit.
    public struct Exceeded: Error, Sendable, Equatable {
        public init() {}
    }

    var file: MaildirSizeFile { MaildirSizeFile(root: store.root) }

    /// The current usage (recalculated first when the Maildir++ rules ask for it).
    /// Blocking. Zero for an unlimited user (not tracked).
    public func usage() throws -> QuotaUsage {
        guard !limits.isUnlimited else { return QuotaUsage(bytes: 0, messages: 0) }
        return try lock.mutex.withLock { _ in try store.owner.perform { try currentUsageAsOwner() } }
    }

    /// Runs `save` (which adds at most `bytes` and `messages`) only if the result stays
    /// within the limits, then records what `save` reports it added; all under the
    /// Maildir's quota lock, so concurrent savers are checked one after the other.
    /// Throws `Exceeded` without calling `save`. Blocking.
    public func reserve<T>(bytes: Int64, messages: Int64, _ save: () throws -> (T, added: QuotaUsage)) throws -> T {
        guard !limits.isUnlimited else { return try save().0 }
        return try lock.mutex.withLock { _ in
            let current = try store.owner.perform { try currentUsageAsOwner() }
            let after = QuotaUsage(bytes: current.bytes + bytes, messages: current.messages + messages)
            guard !after.exceeds(limits) else { throw Exceeded() }
            let (result, added) = try save()
            recordAsLocked(bytes: added.bytes, messages: added.messages)
            return result
        }
    }

    /// Whether adding `bytes` and `messages` now would go over a limit: an early
    /// answer (before a message is streamed to tmp/), not a reservation; `reserve`
    /// decides. Blocking.
    public func wouldExceed(bytes: Int64, messages: Int64) throws -> Bool {
        guard !limits.isUnlimited else { return false }
        let current = try usage()
        return QuotaUsage(bytes: current.bytes + bytes, messages: current.messages + messages).exceeds(limits)
    }

    /// Records a change already made (EXPUNGE, DELETE: negative). Never throws: a
    /// failed append only leaves the file stale, which a recalculation repairs.
    public func record(bytes: Int64, messages: Int64) {
        guard !limits.isUnlimited, bytes != 0 || messages != 0 else { return }
        lock.mutex.withLock { _ in recordAsLocked(bytes: bytes, messages: messages) }
    }

    private func recordAsLocked(bytes: Int64, messages: Int64) {
        do {
            try store.owner.perform { try file.append(bytes: bytes, messages: messages) }
        } catch {
            store.logger.warning("maildirsize not updated", metadata: ["error": "\(error)"])
        }
    }

    /// Reads `maildirsize`, recalculating when it is missing or untrustworthy.
    private func currentUsageAsOwner() throws -> QuotaUsage {
        if let (bytes, mtime) = try file.read(), let usage = Self.trust(bytes, mtime: mtime, limits: limits) {
            return usage
        }
        let usage = try Self.count(store)
        try file.replace(limits, usage: usage)
        return usage
    }

    /// The usage a file states, or nil when it must be recalculated.
    static func trust(_ bytes: [UInt8], mtime: Int64, limits: QuotaLimits, now: Int64 = Int64(time(nil)))
        -> QuotaUsage?
    {
        // Larger than the format allows, unparseable, or written for other limits.
        guard bytes.count <= MaildirSizeFormat.maxSize, let parsed = MaildirSizeFormat.parse(bytes),
            parsed.limits == limits
        else { return nil }
        if parsed.usage.exceeds(limits) || parsed.usage.bytes < 0 || parsed.usage.messages < 0 {
            // Over quota: trust only a fresh summary (Dovecot's and Maildir++'s rule):
            // not one with deltas after it, not one older than 15 minutes.
            if parsed.deltaLines > 1 || now - mtime > MaildirSizeFormat.staleSeconds { return nil }
        }
        return parsed.usage
    }

    /// Counts every message of every folder (cur/ and new/, dot files skipped): the
    /// size from `,S=` in the name, else the file's own size. Blocking, as the owner.
    static func count(_ store: Mailstore) throws -> QuotaUsage {
        var usage = QuotaUsage(bytes: 0, messages: 0)
        for folder in try store.listFoldersAsOwner() where folder.isSelectable {
            let folderUsage = count(folder: folder.directory)
            usage.bytes += folderUsage.bytes
            usage.messages += folderUsage.messages
        }
        return usage
    }

    /// The messages of one folder directory (also what DELETE frees).
    static func count(folder directory: String) -> QuotaUsage {
        var usage = QuotaUsage(bytes: 0, messages: 0)
        for sub in [MaildirNames.cur, MaildirNames.new] {
            let path = POSIX.join(directory, sub)
            guard let names = try? POSIX.directoryEntries(path) else { continue }
            for name in names where !name.hasPrefix(".") {
                guard let size = messageSize(name: name, path: POSIX.join(path, name)) else { continue }
                usage.bytes += Int64(size)
                usage.messages += 1
            }
        }
        return usage
    }

    /// `,S=` of the name, else lstat's size of a regular file; nil for anything else
    /// (a vanished file, a directory, a symlink).
    static func messageSize(name: String, path: String) -> Int? {
        if let size = MaildirFileName(parsing: name).physicalSize { return size }
        guard let status = try? POSIX.status(path, followSymlinks: false), status.isRegular else { return nil }
        return status.size
    }
}

extension Mailstore {
    /// What deleting this folder frees (counted before it goes). Blocking.
    public func quotaUsage(ofFolder components: [String]) throws -> QuotaUsage {
        try owner.perform { Quota.count(folder: try existingFolderAsOwner(components)) }
    }
}

/// One lock per Maildir root for the whole process (never removed: one small object
/// per user who logged in since start).
final class QuotaLock: Sendable {
    let mutex = Mutex(())
}

enum QuotaLocks {
    private static let locks = Mutex<[String: QuotaLock]>([:])

    static func lock(for root: String) -> QuotaLock {
        locks.withLock { locks in
            if let lock = locks[root] { return lock }
            let lock = QuotaLock()
            locks[root] = lock
            return lock
        }
    }
}
