// STORE: flags live in file names, so changing them is a rename inside cur/ (a message
// still in new/ moves to cur/ on the way). Keywords get letters from dovecot-keywords.
//
// Races handled here:
// - The file was renamed (flags changed by another program) or moved new/ → cur/ since
//   our scan: rename fails with ENOENT; after the batch we rescan once (a forced
//   synchronize, which also reports what the other program did), recompute the new
//   name from the file's *current* letters and retry. A message gone by then is skipped.
// - Another process adding keywords at the same time: new keywords are assigned under
//   dovecot-uidlist.lock after re-reading dovecot-keywords, then written by .tmp+rename.
// - Two sessions of this server storing on one folder: SharedFolder's Mutex serialises
//   them, so each sees the other's renames in the state.
// Durability: the renames are not followed by a directory fsync. A rename is atomic, so
// after a crash the file has its old name or its new one: at worst a flag change made
// just before the crash is lost, never a message. Dovecot's default (`mail_fsync =
// optimized`) makes the same choice; fsyncing cur/ and new/ cost every STORE two
// journal commits (issue 12: "cheap commands stay cheap"). APPEND, COPY, MOVE and
// EXPUNGE, which create or remove messages, still fsync.
import Glibc

extension FolderContext {
    private enum RenameOutcome {
        case changed(FlagChange)
        case unchanged
        case vanished
        /// Its mod-sequence is above UNCHANGEDSINCE (RFC 7162 §3.1.3): left alone.
        case modified
    }

    /// `unchangedSince`: skip (and report) messages changed after that mod-sequence. The
    /// check and the rename happen under the folder Mutex, so no other session's change
    /// can slip in between (a change by another program that our scan has not seen yet
    /// is stamped by the retry pass's synchronize, then found too new).
    func store(
        _ state: inout FolderState, _ operation: FlagOperation, flags: MessageFlags, uids: [StoreUID],
        unchangedSince: ModSeq?, changes: inout [FolderChange]
    ) throws -> StoreOutcome {
        try refreshKeywords(&state, changes: &changes)
        let indexes = try keywordIndexes(
            for: flags.keywords, creating: operation != .remove, in: &state, changes: &changes)

        var result: [FlagChange] = []
        var modified: [StoreUID] = []
        var retry: [StoreUID] = []
        var failure: Error?
        var uniqueUIDs = Array(Set(uids)).sorted()
        passes: for pass in 0..<2 {
            for uid in uniqueUIDs {
                do {
                    switch try rename(
                        uid, operation, system: flags.system, keywordIndexes: indexes, unchangedSince: unchangedSince,
                        in: &state)
                    {
                    case .changed(let change): result.append(change)
                    case .unchanged: break
                    case .modified: modified.append(uid)
                    case .vanished: if pass == 0 { retry.append(uid) }
                    }
                } catch {
                    failure = error
                    break passes
                }
            }
            guard pass == 0, !retry.isEmpty else { break }
            do {
                try synchronize(&state, force: true, moveNewToCur: false, changes: &changes)
            } catch {
                failure = error
                break
            }
            uniqueUIDs = retry
        }
        result.sort { $0.uid < $1.uid }
        if !result.isEmpty { changes.append(.flagsChanged(result)) }
        if let failure { throw failure }
        return StoreOutcome(changed: result, modified: modified.sorted())
    }

    private func rename(
        _ uid: StoreUID, _ operation: FlagOperation, system: SystemFlags, keywordIndexes: Set<Int>,
        unchangedSince: ModSeq?, in state: inout FolderState
    ) throws -> RenameOutcome {
        // A UID the state no longer has was expunged (seen by the synchronize that ran
        // just before in the same job): skipped, no rescan to look for it.
        guard let index = state.messageIndex(uid) else { return .unchanged }
        if let unchangedSince, state.messages[index].modSeq > unchangedSince { return .modified }
        guard let location = state.locations[state.messages[index].baseName] else { return .vanished }
        let old = FlagLetters(decoding: location.name.letters)
        var letters = old
        var keywords = Set(old.keywordIndexes)
        switch operation {
        case .replace:
            letters.system = system
            // Letters without a name are not IMAP keywords: REPLACE cannot clear them.
            keywords = keywordIndexes.union(state.keywords.unnamed(old))
        case .add:
            letters.system.formUnion(system)
            keywords.formUnion(keywordIndexes)
        case .remove:
            letters.system.subtract(system)
            keywords.subtract(keywordIndexes)
        }
        letters.keywordIndexes = keywords.sorted()
        guard letters.system != old.system || letters.keywordIndexes != old.keywordIndexes else { return .unchanged }
        let target = MessageLocation(inNew: false, name: location.name.withLetters(letters.encoded))
        if Glibc.rename(path(of: location), path(of: target)) != 0 {
            let code = errno
            if POSIX.isMissing(code) { return .vanished }
            throw POSIX.error(path(of: location), code)
        }
        state.locations[state.messages[index].baseName] = target
        return .changed(state.setFlags(state.keywords.flags(for: letters), at: index, letters: target.name.letters))
    }

    /// The letter indexes of keyword names, giving new names letters when `creating`
    /// (unknown names are otherwise left out). Throws .invalidName for names that cannot
    /// be stored and .tooManyKeywords before changing anything.
    func keywordIndexes(
        for names: [String], creating: Bool, in state: inout FolderState, changes: inout [FolderChange]
    ) throws -> Set<Int> {
        for name in names where !KeywordTable.isValidName(name) {
            throw StoreError.invalidName("keyword '\(name)'")
        }
        if creating {
            var missing: [String] = []
            for name in names where state.keywords.index(of: name) == nil {
                if !missing.contains(where: { KeywordTable.foldCase($0) == KeywordTable.foldCase(name) }) {
                    missing.append(name)
                }
            }
            if !missing.isEmpty { try createKeywords(missing, in: &state, changes: &changes) }
        }
        return Set(names.compactMap { state.keywords.index(of: $0) })
    }

    /// Gives each name the lowest free letter and writes dovecot-keywords, under the
    /// lock after re-reading the file. Throws .tooManyKeywords before changing anything.
    private func createKeywords(_ names: [String], in state: inout FolderState, changes: inout [FolderChange]) throws {
        var trial = state.keywords
        for name in names where trial.add(name, avoiding: state.orphanKeywordIndexes) == nil {
            throw StoreError.tooManyKeywords
        }
        try locker.withLock(lockPath) {
            let status = try keywordsFile.status()
            let onDisk = try keywordsFile.read()
            var table = onDisk
            for name in names where table.add(name, avoiding: state.orphanKeywordIndexes) == nil {
                throw StoreError.tooManyKeywords
            }
            if table != onDisk { try keywordsFile.write(table, replacing: status) }
            state.keywordsFile = try keywordsFile.status()
            adoptKeywords(table, into: &state, changes: &changes)
        }
    }
}
