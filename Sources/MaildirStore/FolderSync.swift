// Synchronize: bring FolderState in step with new/, cur/, dovecot-uidlist and
// dovecot-keywords, collecting the changes in the order they are applied.
//
// Races handled here:
// - Deliveries, flag renames and unlinks by other programs at any moment: a cheap check
//   (directory mtimes with nanoseconds) skips readdir only when neither directory
//   changed AND the last scan started well after their mtime (50 ms on file systems
//   with sub-second timestamps, else 1 s), because a change in the same coarse
//   timestamp tick as an earlier one leaves the mtime unchanged.
// - readdir missing a file that was renamed during it: a known message absent from a
//   scan is looked for in a second scan and under its last known name; only a message
//   found in none of them is expunged.
// - A message moved new/ → cur/ by another program: same base name, same message.
// - A file vanishing between readdir and stat (expunged, renamed): skipped this time and
//   the next synchronize rescans.
// - The uidlist's UIDVALIDITY changed by another program (rebuilt): every message is
//   reported expunged and re-added under its new UID; the snapshot carries the new
//   UIDVALIDITY so sessions can notice (RFC 9051 §2.3.1.1).
import Glibc
import Logging

extension FolderContext {
    /// One synchronize under the folder Mutex. `force` skips the cheap mtime check.
    func synchronize(
        _ state: inout FolderState, force: Bool, moveNewToCur: Bool, changes: inout [FolderChange]
    ) throws {
        try refreshKeywords(&state, changes: &changes)
        guard let cur = try POSIX.status(curPath), cur.isDirectory else {
            // Observers hear it even though this throws (`perform` delivers anyway);
            // the inotify watcher's synchronize after the removal gets here at once.
            changes.append(.folderGone)
            throw StoreError.nonexistent(directory)
        }
        let new = try POSIX.status(newPath)
        let scanStart = Timestamp.now()
        var rescan = force || state.forceRescan || !isUnchanged(state, cur: cur, new: new)
        if try rescan && !force && !state.forceRescan && listingMatches(state) {
            // Only our own changes since the last scan (NameDigest.swift): the same
            // files as known, nothing to apply.
            state.curMtime = cur.mtime
            state.newMtime = new?.mtime
            state.lastScanStart = scanStart
            rescan = false
        }
        if rescan {
            var listing = try scanDirectories()
            if state.locations.keys.contains(where: { listing.files[$0] == nil }) {
                listing = try scanDirectories().union(listing)
            }
            state.curMtime = cur.mtime
            state.newMtime = new?.mtime
            state.lastScanStart = scanStart
            state.forceRescan = listing.sawDuplicates
            try apply(listing, to: &state, changes: &changes)
        }
        if moveNewToCur { moveNewToCurrent(&state) }
        if state.uidListNeedsRewrite || state.wantsCompaction(exact: rescan) {
            do {
                try compact(&state)
            } catch StoreError.locked {
                // Optional work that never waits: another process (an LDA delivering,
                // Dovecot) holds the lock for its own short write. In this process one
                // SharedFolder per directory (FolderRegistry) and its Mutex rule out a
                // holder of our own. The next synchronize tries again.
                logger.debug("dovecot-uidlist busy; compaction left for later")
            } catch {
                logger.warning("could not rewrite dovecot-uidlist", metadata: ["error": "\(error)"])
            }
        }
    }

    /// The cheap half of `synchronize`, for a caller that must not block (a session on
    /// the cooperative pool): true when a synchronize would find nothing to do, so it
    /// can be skipped. Three stats (dovecot-keywords, cur/, new/), no readdir, no write;
    /// any doubt (a directory changed, a rescan or a uidlist rewrite pending, files in
    /// new/ to move) answers false and the caller runs the full synchronize on a pool.
    func isSynchronized(_ state: FolderState, moveNewToCur: Bool) -> Bool {
        guard !state.forceRescan, !state.uidListNeedsRewrite, !state.wantsCompaction(exact: false),
            !(moveNewToCur && state.locations.inNewCount > 0),
            keywordsFileUnchanged(state),
            let cur = try? POSIX.status(curPath), cur.isDirectory,
            let new = try? POSIX.status(newPath)
        else { return false }
        return isUnchanged(state, cur: cur, new: new)
    }

    /// dovecot-keywords is the file last read (or still missing); an error says "changed".
    private func keywordsFileUnchanged(_ state: FolderState) -> Bool {
        do { return try keywordsFile.status() == state.keywordsFile } catch { return false }
    }

    /// Neither directory changed since a scan that started well after their mtimes.
    private func isUnchanged(_ state: FolderState, cur: FileStatus, new: FileStatus?) -> Bool {
        guard state.curMtime == cur.mtime, state.newMtime == new?.mtime, let last = state.lastScanStart else {
            return false
        }
        let newest = max(cur.mtime, new?.mtime ?? cur.mtime)
        // Sub-second timestamps (either directory's): a tick, not a second, of doubt. A
        // 1 s window would rescan the whole folder on every command for a second after
        // each flag change or delivery.
        let fine = cur.mtime.nanoseconds != 0 || (new?.mtime.nanoseconds ?? 0) != 0
        let window = fine ? StoreTiming.fineMtimeTrustNanoseconds : StoreTiming.mtimeTrustNanoseconds
        return last.totalNanoseconds - newest.totalNanoseconds > window
    }

    /// Applies a directory listing: vanished and renamed files first, then new ones.
    func apply(_ listing: DirectoryListing, to state: inout FolderState, changes: inout [FolderChange]) throws {
        try refreshUIDList(&state)
        if state.pendingUIDValidityReset {
            state.pendingUIDValidityReset = false
            let all = state.messages.map(\.uid)
            // Stamped like any expunge (sessions holding the old UIDs are told at this
            // mod-sequence), but not remembered: the history is forgotten just below.
            if !all.isEmpty { changes.append(.expunged(all, modSeq: state.modSeqs.stamp())) }
            state.messages = []
            state.locations = [:]
            state.modSeqs.forgetHistory()
            state.highestExposedUID = 0
            // New numbering: the UIDs the new uidlist already gives are old messages;
            // only files without one yet are recent.
            state.firstRecentUID = state.nextUID
        }
        var expunged: [StoreUID] = []
        var flagChanges: [FlagChange] = []
        for index in state.messages.indices {
            let message = state.messages[index]
            guard let file = listing.files[message.baseName] else {
                // Missed by both listings yet still there under its known name: keep it.
                if let location = state.locations[message.baseName], (try? POSIX.status(path(of: location))) != nil {
                    state.forceRescan = true
                    continue
                }
                expunged.append(message.uid)
                continue
            }
            guard let known = state.locations[message.baseName], known.inNew != file.inNew || known.name != file.name
            else { continue }
            state.locations[message.baseName] = MessageLocation(inNew: file.inNew, name: file.name)
            let flags = state.keywords.flags(for: FlagLetters(decoding: file.name.letters))
            if flags != message.flags {
                flagChanges.append(state.setFlags(flags, at: index, letters: file.name.letters))
            }
        }
        if let modSeq = state.removeMessages(Set(expunged)) { changes.append(.expunged(expunged, modSeq: modSeq)) }
        if !flagChanges.isEmpty { changes.append(.flagsChanged(flagChanges)) }

        // Keyword letters in use: a bit per letter, no allocation per file (100,000s).
        var used: UInt32 = 0
        for file in listing.files.values { used |= FlagLetters.keywordMask(file.name.letters) }
        state.orphanKeywordIndexes = Set(
            (0..<FlagLetter.keywordCount).filter { used & (1 << $0) != 0 && state.keywords.name(at: $0) == nil })

        var listing = listing
        var adoptable: [(UInt32, String, ScannedFile)] = []
        var unassigned: [(String, ScannedFile)] = []
        for attempt in 0..<2 {
            adoptable = []
            unassigned = []
            for (base, file) in listing.files where state.locations[base] == nil {
                if let uid = state.recordUIDs[base], uid > state.highestExposedUID {
                    adoptable.append((uid, base, file))
                } else {
                    unassigned.append((base, file))
                }
            }
            guard attempt == 0, !adoptable.isEmpty || !unassigned.isEmpty else { break }
            // UIDs about to be shown must not pass over a record whose file our readdir
            // did not see yet (delivered by another process after it, or renamed during
            // it): it would later count as "reappeared" and lose its UID. Look again.
            let ceiling = unassigned.isEmpty ? (adoptable.map(\.0).max() ?? 0) : UInt32.max
            guard hasUnseenRecord(below: ceiling, state: state, listing: listing) else { break }
            listing = try scanDirectories().union(listing)
        }
        var (added, blocked) = try adopt(adoptable, state: &state, lazy: true)
        if let blocked { added.removeAll { $0.0.uid.rawValue > blocked } }
        var failure: Error?
        if blocked != nil {
            // New UIDs would pass over the blocked message: assign them next time.
            if !unassigned.isEmpty { state.forceRescan = true }
        } else if !unassigned.isEmpty {
            do {
                let pending = Set(unassigned.map(\.0)).union(added.map(\.0.baseName))
                added += try assignUIDs(&state, unassigned, alreadyListed: pending)
            } catch {
                failure = error
                state.forceRescan = true
            }
        }
        if !added.isEmpty { changes.append(.added(state.admit(added))) }
        if let failure { throw failure }
    }

    /// A record above every UID shown so far, below `ceiling`, whose file is neither
    /// known nor listed.
    private func hasUnseenRecord(below ceiling: UInt32, state: FolderState, listing: DirectoryListing) -> Bool {
        for record in state.records.reversed() {
            guard record.uid > state.highestExposedUID else { return false }
            if record.uid < ceiling && listing.files[record.baseName] == nil && state.locations[record.baseName] == nil
            {
                return true
            }
        }
        return false
    }

    enum MadeRecord {
        case made(MessageRecord, MessageLocation)
        /// Renamed or unlinked since the listing.
        case vanished
        /// Symlinks, FIFOs and directories in cur/ are never messages.
        case notAMessage
    }

    /// A MessageRecord for a file about to join the state. `directories`: open new/ and
    /// cur/ for a pass over many files (no path walk per file). `lazy`: a scan's file
    /// that readdir said is regular joins without a stat, its INTERNALDATE and sizes
    /// left for `SharedFolder.completeDetails` (MessageRecord). A file that vanished
    /// since the listing then joins anyway and the next synchronize expunges it, or
    /// finds it under its new name (same base name, same message).
    func makeRecord(
        uid: UInt32, baseName: String, file: ScannedFile, state: FolderState,
        directories: MessageDirectories? = nil, lazy: Bool = false
    ) throws -> MadeRecord {
        let location = MessageLocation(inNew: file.inNew, name: file.name)
        if file.isRegular == false { return .notAMessage }
        var status: FileStatus?
        var virtualSize = file.name.virtualSize ?? state.record(uid: uid)?.virtualSize
        if !(lazy && file.isRegular == true) {
            let path = path(of: location)
            let found =
                try directories?.status(location, path: path) ?? POSIX.status(path, followSymlinks: false)
            guard let found else { return .vanished }
            guard found.isRegular else {
                logger.debug("ignoring a non-regular file", metadata: ["file": "\(path)"])
                return .notAMessage
            }
            status = found
            if virtualSize == nil && !lazy {
                guard let computed = try VirtualSize.compute(path: path) else { return .vanished }
                virtualSize = computed
            }
        }
        let record = MessageRecord(
            uid: StoreUID(uid), flags: state.keywords.flags(for: FlagLetters(decoding: file.name.letters)),
            internalDate: status?.mtime.seconds, physicalSize: file.name.physicalSize ?? status?.size,
            virtualSize: virtualSize, baseName: baseName)
        return .made(record, location)
    }

    /// Files that already have UIDs (given by another process), ready to join. One that
    /// vanished since the listing (renamed by someone) is looked for in a fresh listing;
    /// if it still cannot be had, `blocked` is its UID: callers then hold back every
    /// higher UID (UIDs must be shown in ascending order, and skipping it would make it
    /// "reappear" later and lose its UID) and the next synchronize tries again.
    func adopt(_ candidates: [(UInt32, String, ScannedFile)], state: inout FolderState, lazy: Bool) throws -> (
        adopted: [(MessageRecord, MessageLocation)], blocked: UInt32?
    ) {
        var adopted: [(MessageRecord, MessageLocation)] = []
        var retry: [(UInt32, String)] = []
        let directories = directoriesForStatting(candidates.lazy.map(\.2), lazy: lazy)
        for (uid, base, file) in candidates {
            switch try makeRecord(
                uid: uid, baseName: base, file: file, state: state, directories: directories, lazy: lazy)
            {
            case .made(let record, let location): adopted.append((record, location))
            case .vanished: retry.append((uid, base))
            case .notAMessage: break
            }
        }
        var blocked: UInt32?
        if !retry.isEmpty {
            let fresh = try scanDirectories()
            for (uid, base) in retry {
                if let file = fresh.files[base],
                    case .made(let record, let location) = try makeRecord(
                        uid: uid, baseName: base, file: file, state: state)
                {
                    adopted.append((record, location))
                } else {
                    blocked = min(blocked ?? uid, uid)
                }
            }
        }
        if blocked != nil { state.forceRescan = true }
        return (adopted, blocked)
    }

    /// Renames every message still in new/ to cur/ with ":2," (same base name, same UID).
    /// A file that is no longer there was moved by someone else: the next synchronize
    /// finds it.
    func moveNewToCurrent(_ state: inout FolderState) {
        guard state.locations.inNewCount > 0 else { return }
        moveToCurrent(state.locations.filter { $0.value.inNew }, &state)
    }

    /// Renames these files of new/ into cur/ (see `moveNewToCurrent`).
    func moveToCurrent(_ inNew: [String: MessageLocation], _ state: inout FolderState) {
        guard !inNew.isEmpty else { return }
        var moved = false
        for (base, location) in inNew {
            let target = location.name.hasInfo ? location.name : location.name.withLetters([])
            let destination = MessageLocation(inNew: false, name: target)
            if rename(path(of: location), path(of: destination)) == 0 {
                state.locations[base] = destination
                moved = true
            } else if POSIX.isMissing(errno) {
                state.forceRescan = true
            } else {
                logger.warning("could not move a message to cur/", metadata: ["file": "\(path(of: location))"])
            }
        }
        if moved {
            try? POSIX.fsyncDirectory(curPath)
            try? POSIX.fsyncDirectory(newPath)
        }
    }

    /// Re-reads dovecot-keywords when it changed; flags derived from letters follow.
    func refreshKeywords(_ state: inout FolderState, changes: inout [FolderChange]) throws {
        let status = try keywordsFile.status()
        guard status != state.keywordsFile else { return }
        let table = try keywordsFile.read()
        state.keywordsFile = status
        adoptKeywords(table, into: &state, changes: &changes)
    }

    /// Installs a keyword table: reports the list if it changed and re-derives every
    /// message's keywords from its letters (a letter may have gained or lost its name).
    func adoptKeywords(_ table: KeywordTable, into state: inout FolderState, changes: inout [FolderChange]) {
        guard table != state.keywords else { return }
        let listChanged = table.list != state.keywords.list
        state.keywords = table
        if listChanged { changes.append(.keywordsChanged(table.list)) }
        var flagChanges: [FlagChange] = []
        for index in state.messages.indices {
            guard let location = state.locations.location(of: state.messages[index].baseName, messageIndex: index)
            else { continue }
            let flags = table.flags(for: FlagLetters(decoding: location.name.letters))
            if flags != state.messages[index].flags {
                flagChanges.append(state.setFlags(flags, at: index, letters: location.name.letters))
            }
        }
        if !flagChanges.isEmpty { changes.append(.flagsChanged(flagChanges)) }
    }

    /// Rewrites the uidlist without records of files that are gone (Dovecot compacts
    /// when more than a quarter are stale), or to repair it. Under the lock, after
    /// re-reading it and re-listing the directories, so no record of a file someone
    /// else just delivered is dropped. Dropping a record whose file readdir missed (a
    /// rename during the listing) would give that message a new UID, so this only runs
    /// on a quiet folder: cur/ and new/ unchanged for over a second and during the
    /// listing. Optional work: it does not wait for a lock someone else holds.
    /// A repair alone (`uidListNeedsRewrite`) keeps every record and needs no quiet.
    func compact(_ state: inout FolderState) throws {
        let quiet = try quietDirectories()
        guard quiet != nil || state.uidListNeedsRewrite else { return }
        var impatient = locker
        impatient.timeout = .zero
        try impatient.withLock(lockPath) {
            let highestBefore = state.highestRecordUID
            try refreshUIDList(&state)
            guard !state.pendingUIDValidityReset else { return }
            guard let quiet else {
                try rewriteUIDList(&state) { _ in true }
                return
            }
            let fresh = try scanDirectories()
            let stillQuiet = try quietDirectories() == quiet
            let locations = state.locations
            try rewriteUIDList(&state) {
                !stillQuiet || locations[$0.baseName] != nil || fresh.files[$0.baseName] != nil
                    || $0.uid > highestBefore
            }
        }
    }

    /// The mtimes of cur/ and new/ when both are more than a second old, else nil.
    private func quietDirectories() throws -> [Timestamp?]? {
        let now = Timestamp.now().totalNanoseconds
        var mtimes: [Timestamp?] = []
        for path in [curPath, newPath] {
            let mtime = try POSIX.status(path)?.mtime
            if let mtime, now - mtime.totalNanoseconds <= StoreTiming.mtimeTrustNanoseconds { return nil }
            mtimes.append(mtime)
        }
        return mtimes
    }
}
