// EXPUNGE: unlink the files of the given UIDs.
//
// Races handled here:
// - The file was renamed (flag change by another program) since our scan: unlink fails
//   with ENOENT; we rescan once (forced synchronize) and retry under its current name.
// - Another program expunged it first: the rescan reports it as expunged; it is not in
//   our return value because we did not remove it.
// - Two sessions expunging the same UIDs: the Mutex serialises them; the second finds
//   the UIDs gone from the state and skips them.
// The uidlist keeps the stale records (expunges are applied lazily, as in Dovecot);
// synchronize compacts it when more than a quarter of its records are stale.
import Glibc

extension FolderContext {
    func expunge(_ state: inout FolderState, _ uids: [StoreUID], changes: inout [FolderChange]) throws -> [StoreUID] {
        var freed = QuotaUsage(bytes: 0, messages: 0)
        return try expunge(&state, uids, freed: &freed, changes: &changes)
    }

    /// The same, adding what the removed files held to `freed` (for `maildirsize`):
    /// the size is taken before the unlink, from `,S=` or the file.
    func expunge(_ state: inout FolderState, _ uids: [StoreUID], freed: inout QuotaUsage, changes: inout [FolderChange])
        throws -> [StoreUID]
    {
        var removed: [StoreUID] = []
        var failure: Error?
        var pending = Array(Set(uids)).sorted()
        passes: for pass in 0..<2 {
            var retry: [StoreUID] = []
            var removedNow: [StoreUID] = []
            for uid in pending {
                guard let index = state.messageIndex(uid),
                    let location = state.locations.location(of: state.messages[index].baseName, messageIndex: index)
                else { continue }
                let size = Quota.messageSize(name: location.name.fileName, path: path(of: location))
                if unlink(path(of: location)) == 0 {
                    removedNow.append(uid)
                    freed.bytes += Int64(size ?? 0)
                    freed.messages += 1
                } else if POSIX.isMissing(errno) {
                    retry.append(uid)
                } else {
                    failure = POSIX.error(path(of: location))
                    break
                }
            }
            if let modSeq = state.removeMessages(Set(removedNow)) {
                changes.append(.expunged(removedNow, modSeq: modSeq))
            }
            removed += removedNow
            guard failure == nil, pass == 0, !retry.isEmpty else { break }
            do {
                try synchronize(&state, force: true, moveNewToCur: false, changes: &changes)
            } catch {
                failure = error
                break passes
            }
            pending = retry
        }
        if !removed.isEmpty {
            try? POSIX.fsyncDirectory(curPath)
            try? POSIX.fsyncDirectory(newPath)
        }
        if let failure { throw failure }
        return removed.sorted()
    }
}
