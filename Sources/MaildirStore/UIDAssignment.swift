// Giving UIDs to files no uidlist record names yet, under dovecot-uidlist.lock.
//
// Races handled here:
// - Another process appended records since our last read (it may even have given UIDs
//   to the very files we found): we re-read under the lock and adopt those UIDs.
// - Another process delivered and registered a file after our readdir: its record is
//   new under the lock but its file is not in our listing; we rescan once so it joins
//   with its UID before the UIDs we assign (UIDs of new messages must ascend).
// - A file that reappears after its UID was shown and expunged (moved out and back,
//   or missed by a scan): like Dovecot, it gets a new UID and its old record is dropped.
import Logging

extension FolderContext {
    /// Assigns UIDs in delivery order (DeliveryOrder), appends the records and returns
    /// the new messages (not yet inserted into `state.messages`).
    /// `saving`: the caller already holds dovecot-uidlist.lock and needs these files'
    /// UIDs now (APPEND, COPY): assignment is never deferred for a message of someone
    /// else that cannot be seen right now.
    func assignUIDs(
        _ state: inout FolderState, _ files: [(String, ScannedFile)], alreadyListed: Set<String>,
        saving: Bool = false
    ) throws -> [(MessageRecord, MessageLocation)] {
        // Keys parsed once per file, not once per comparison (a first scan sorts 100,000s).
        let keys = files.map { DeliveryOrder(baseName: $0.0) }
        let ordered = files.indices.sorted { keys[$0] < keys[$1] }.map { files[$0] }
        func assign() throws -> [(MessageRecord, MessageLocation)] {
            // By UID, not by position: a compaction by someone else renumbers positions.
            let highestBefore = state.highestRecordUID
            try refreshUIDList(&state)
            if state.pendingUIDValidityReset {
                state.forceRescan = true
                return []
            }
            // Records above every UID shown here whose files we have not taken in (added
            // by others since our listing, or not adopted yet): list again, and adopt
            // them before giving out higher UIDs.
            let unseen = state.records.reversed().prefix { $0.uid > state.highestExposedUID }.filter {
                !alreadyListed.contains($0.baseName) && state.locations[$0.baseName] == nil
            }
            var candidates: [(UInt32, String, ScannedFile)] = []
            var toAssign: [(String, ScannedFile)] = []
            var unseenMissing: UInt32?
            if !unseen.isEmpty {
                let fresh = try scanDirectories()
                for record in unseen {
                    if let file = fresh.files[record.baseName] {
                        candidates.append((record.uid, record.baseName, file))
                    } else if record.uid > highestBefore {
                        // New since we last read the file, yet its file is not visible:
                        // wait for it. (Older ones were looked for before: expunged.)
                        unseenMissing = min(unseenMissing ?? record.uid, record.uid)
                    }
                }
            }
            for (base, file) in ordered {
                if let uid = state.recordUIDs[base], uid > state.highestExposedUID {
                    candidates.append((uid, base, file))
                } else {
                    toAssign.append((base, file))
                }
            }
            // A scan's files join without a stat (MessageRecord); files being saved are
            // few and ours, and their records are complete at once.
            var (results, blocked) = try adopt(candidates, state: &state, lazy: !saving)
            if let unseenMissing { blocked = min(blocked ?? unseenMissing, unseenMissing) }
            if let blocked, !saving {
                // A message of someone else we cannot see yet: do not pass over it now.
                results.removeAll { $0.0.uid.rawValue > blocked }
                state.forceRescan = true
                return results
            }
            var newRecords: [UIDListRecord] = []
            newRecords.reserveCapacity(toAssign.count)
            var superseded = Set<String>()
            let directories = directoriesForStatting(toAssign.lazy.map(\.1), lazy: !saving)
            for (base, file) in toAssign {
                let uid = state.nextUID
                guard uid < UInt32.max else { throw StoreError.corrupt("\(uidListPath): UID space exhausted") }
                let made: (MessageRecord, MessageLocation)
                switch try makeRecord(
                    uid: uid, baseName: base, file: file, state: state, directories: directories, lazy: !saving)
                {
                case .made(let record, let location): made = (record, location)
                case .vanished:
                    state.forceRescan = true
                    continue
                case .notAMessage: continue
                }
                if let old = state.recordUIDs[base] {
                    logger.warning(
                        "expunged message reappeared, giving a new UID", metadata: ["old": "\(old)", "new": "\(uid)"])
                    superseded.insert(base)
                }
                state.nextUID = uid + 1
                var fields: [String] = []
                if file.name.virtualSize == nil, let virtualSize = made.0.virtualSize {
                    fields.append(String(UnicodeScalar(UIDListSyntax.virtualSizeKey)) + String(virtualSize))
                }
                newRecords.append(UIDListRecord(uid: uid, fields: fields, fileName: base))
                results.append(made)
            }
            if !superseded.isEmpty {
                state.records.removeAll { superseded.contains($0.baseName) }
                for base in superseded { state.recordUIDs[base] = nil }
                state.uidListNeedsRewrite = true
            }
            try appendRecords(&state, newRecords)
            return results
        }
        return saving ? try assign() : try locker.withLock(lockPath, assign)
    }
}
