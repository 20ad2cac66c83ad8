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
    /// `lockHeld`: the caller already holds dovecot-uidlist.lock (a save transaction).
    func assignUIDs(
        _ state: inout FolderState, _ files: [(String, ScannedFile)], alreadyListed: Set<String>,
        lockHeld: Bool = false
    ) throws -> [(MessageRecord, MessageLocation)] {
        let ordered = files.sorted { DeliveryOrder(baseName: $0.0) < DeliveryOrder(baseName: $1.0) }
        func assign() throws -> [(MessageRecord, MessageLocation)] {
            let recordsBefore = state.records.count
            try refreshUIDList(&state)
            if state.pendingUIDValidityReset {
                state.forceRescan = true
                return []
            }
            var results: [(MessageRecord, MessageLocation)] = []
            // Records others added for files we have not listed: list again.
            let unseen = state.records[min(recordsBefore, state.records.count)...].filter {
                !alreadyListed.contains($0.baseName) && state.locations[$0.baseName] == nil
            }
            if !unseen.isEmpty {
                let fresh = try scanDirectories()
                for record in unseen where record.uid > state.highestExposedUID {
                    guard let file = fresh.files[record.baseName],
                        let made = try makeRecord(uid: record.uid, baseName: record.baseName, file: file, state: &state)
                    else { continue }
                    results.append(made)
                }
            }
            var newRecords: [UIDListRecord] = []
            var superseded = Set<String>()
            for (base, file) in ordered {
                if let uid = state.recordUIDs[base], uid > state.highestExposedUID {
                    if let made = try makeRecord(uid: uid, baseName: base, file: file, state: &state) {
                        results.append(made)
                    }
                    continue
                }
                let uid = state.nextUID
                guard uid < UInt32.max else { throw StoreError.corrupt("\(uidListPath): UID space exhausted") }
                guard let made = try makeRecord(uid: uid, baseName: base, file: file, state: &state) else {
                    continue
                }
                if let old = state.recordUIDs[base] {
                    logger.warning(
                        "expunged message reappeared, giving a new UID", metadata: ["old": "\(old)", "new": "\(uid)"])
                    superseded.insert(base)
                }
                state.nextUID = uid + 1
                var fields: [String] = []
                if file.name.virtualSize == nil {
                    fields.append(String(UnicodeScalar(UIDListSyntax.virtualSizeKey)) + String(made.0.virtualSize))
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
        return lockHeld ? try assign() : try locker.withLock(lockPath, assign)
    }
}
