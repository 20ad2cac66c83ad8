// Keeping FolderState in step with dovecot-uidlist on disk: the first read (creating the
// file with a fresh UIDVALIDITY when missing), incremental re-reads, appends and
// rewrites (compaction).
//
// Races handled here:
// - Another process appends records (Dovecot's LDA, another IMAP server): readers take
//   no lock and parse only the bytes after the last complete line they consumed; a
//   trailing partial line (append in progress) is left for the next read. Writers
//   re-read under dovecot-uidlist.lock before assigning, so nobody hands out a UID twice.
// - Another process rewrites the file (compaction): rename gives it a new inode; we
//   notice the different identity and re-read it whole. If its UIDVALIDITY differs, the
//   caller resets the folder (FolderSync.swift).
// - A crashed writer left a partial last line: we never append after it (a record
//   would be glued to garbage); the next write rewrites the file instead.
// - Two creators of a missing uidlist: creation happens under the lock after checking
//   again that the file is still missing. A Courier folder's courierimapuiddb is
//   imported then, so its UIDs and UIDVALIDITY survive the move.
// - The file deleted under us: our in-memory records (same UIDVALIDITY, same UIDs) are
//   written back at the next chance.
// - An impossible file (UIDs not ascending, a UID or N at the top of the UID space):
//   as Dovecot does with a broken uidlist, the folder starts again under a new
//   UIDVALIDITY, every message renumbered, with a warning. That file is not read again
//   (`discardedUIDListFile`) until our rewrite replaces it at the next write under the
//   lock. Damage that leaves the file possible (an unreadable line, a damaged header) is
//   salvaged instead, keeping V (MAILDIR-FORMATS.md).
import Glibc
import Logging

enum UIDListReadOutcome {
    case unchanged, appended, replaced, missing
    /// The file now has another UIDVALIDITY: every UID we know is void.
    case uidValidityChanged
}

extension FolderContext {
    /// Reads dovecot-uidlist for a folder being opened, creating it when missing.
    func loadState() throws -> FolderState {
        for _ in 0..<3 {
            if let (status, bytes) = try readUIDList() {
                let parse = UIDListParser.parse(bytes)
                let header: UIDListHeader
                if let parsed = parse.header {
                    header = parsed
                } else {
                    // Nothing to salvage a UIDVALIDITY from: a new one is unavoidable.
                    logger.error("dovecot-uidlist has no usable header; assigning a new UIDVALIDITY")
                    header = UIDListHeader(
                        uidValidity: try allocator.next(), nextUID: 1, guid: UIDListParser.makeGUID())
                }
                var state = FolderState(header: header)
                if let reason = parse.impossible {
                    try startAgain(
                        &state, reason: reason, fileHeader: parse.header, status: status, fileSize: bytes.count)
                    return state
                }
                absorb(parse, into: &state, status: status, fileSize: bytes.count)
                state.nextUID = max(state.nextUID, header.nextUID)
                if parse.header == nil { state.uidListNeedsRewrite = true }
                return state
            }
            try locker.withLock(lockPath) {
                guard try POSIX.status(uidListPath) == nil else { return }
                if let imported = try importCourierUIDs() {
                    try POSIX.writeAtomically(
                        path: uidListPath, temporaryPath: uidListTempPath, directory: directory, contents: imported)
                    logger.info("created dovecot-uidlist from courierimapuiddb")
                    return
                }
                let header = UIDListHeader(
                    uidValidity: try allocator.next(), nextUID: 1, guid: UIDListParser.makeGUID())
                try POSIX.writeAtomically(
                    path: uidListPath, temporaryPath: uidListTempPath, directory: directory,
                    contents: header.serialized)
                logger.info("created dovecot-uidlist", metadata: ["uidvalidity": "\(header.uidValidity)"])
            }
        }
        throw StoreError.corrupt("\(uidListPath) vanished while opening")
    }

    /// A folder coming from Courier keeps its UIDs: `courierimapuiddb` has the uidlist v1
    /// format (MAILDIR-FORMATS.md); it becomes a v3 dovecot-uidlist with the same
    /// UIDVALIDITY, next UID and records. nil when there is none (or it is unusable).
    private func importCourierUIDs() throws -> [UInt8]? {
        guard let bytes = try POSIX.readFile(POSIX.join(directory, MaildirNames.courierUIDs)) else { return nil }
        let parse = UIDListParser.parse(bytes)
        guard var header = parse.header else { return nil }
        let highest = parse.records.last?.uid ?? 0
        header.version = UIDListSyntax.currentVersion
        header.nextUID = max(header.nextUID, highest &+ 1)
        header.setValue(UIDListSyntax.guidKey, UIDListParser.makeGUID())
        let records = parse.records.map { UIDListRecord(uid: $0.uid, fileName: $0.baseName) }
        return UIDListParser.serialize(header: header, records: records)
    }

    /// Brings `state` up to date with the file without locking.
    @discardableResult
    func refreshUIDList(_ state: inout FolderState) throws -> UIDListReadOutcome {
        guard let fd = try POSIX.open(uidListPath, O_RDONLY) else {
            state.uidListNeedsRewrite = true
            state.uidListFile = nil
            return .missing
        }
        defer { close(fd) }
        let status = try POSIX.status(fd: fd, path: uidListPath)
        if let discarded = state.discardedUIDListFile, discarded == status {
            // Judged impossible already and unchanged since (same inode, size and
            // mtime: an inode number alone may be reused): our rewrite replaces it.
            return .unchanged
        }
        if let known = state.uidListFile, known.isSameFile(as: status), status.size >= state.uidListConsumed {
            guard status.size > state.uidListConsumed else {
                state.uidListFile = status
                return .unchanged
            }
            let bytes = try readToEnd(fd: fd, from: state.uidListConsumed)
            let parse = UIDListParser.parse(
                bytes, continuing: (version: state.header.version, lastUID: state.highestRecordUID))
            // Appended records that cannot follow ours: judge the whole file (below),
            // as Dovecot re-reads from the beginning.
            if parse.impossible == nil {
                let before = state.records.count
                absorb(parse, into: &state, status: status, fileSize: bytes.count, offset: state.uidListConsumed)
                return state.records.count > before ? .appended : .unchanged
            }
        }
        // A new file (rewritten by someone) or a shrunken one: read it whole.
        let bytes = try readToEnd(fd: fd, from: 0)
        let parse = UIDListParser.parse(bytes)
        if let reason = parse.impossible {
            try startAgain(&state, reason: reason, fileHeader: parse.header, status: status, fileSize: bytes.count)
            state.pendingUIDValidityReset = true
            return .uidValidityChanged
        }
        var header = parse.header ?? state.header
        if parse.header == nil {
            logger.error(
                "dovecot-uidlist header damaged; keeping UIDVALIDITY",
                metadata: ["uidvalidity": "\(state.header.uidValidity)"])
        }
        if header.uidValidity != state.header.uidValidity {
            logger.error(
                "dovecot-uidlist UIDVALIDITY changed under us",
                metadata: ["old": "\(state.header.uidValidity)", "new": "\(header.uidValidity)"])
            state.header = header
            state.records = []
            state.recordUIDs = [:]
            state.nextUID = header.nextUID
            absorb(parse, into: &state, status: status, fileSize: bytes.count)
            state.pendingUIDValidityReset = true
            return .uidValidityChanged
        }
        header.nextUID = max(header.nextUID, state.nextUID)
        state.header = header
        state.records = []
        state.recordUIDs = [:]
        absorb(parse, into: &state, status: status, fileSize: bytes.count)
        if parse.header == nil { state.uidListNeedsRewrite = true }
        return .replaced
    }

    /// Appends records for newly assigned UIDs. The caller holds the lock and refreshed
    /// `state` under it. Falls back to a rewrite whenever appending is not safe.
    func appendRecords(_ state: inout FolderState, _ newRecords: [UIDListRecord]) throws {
        guard !newRecords.isEmpty else { return }
        state.records.reserveCapacity(state.records.count + newRecords.count)
        state.recordUIDs.reserveCapacity(state.recordUIDs.count + newRecords.count)
        let canAppend =
            !state.uidListNeedsRewrite && !state.uidListHasPartialLine
            && state.header.version == UIDListSyntax.currentVersion && state.uidListFile != nil
        if canAppend, let fd = try POSIX.open(uidListPath, O_WRONLY | O_APPEND) {
            defer { close(fd) }
            let before = try POSIX.status(fd: fd, path: uidListPath)
            if let known = state.uidListFile, known.isSameFile(as: before), before.size == state.uidListConsumed {
                var bytes: [UInt8] = []
                for record in newRecords { bytes += record.serialized }
                try POSIX.writeAll(fd: fd, path: uidListPath, bytes)
                if fsync(fd) != 0 { throw POSIX.error(uidListPath) }
                for record in newRecords { _ = state.addRecord(record) }
                state.uidListFile = try POSIX.status(fd: fd, path: uidListPath)
                state.uidListConsumed += bytes.count
                return
            }
        }
        for record in newRecords { _ = state.addRecord(record) }
        try rewriteUIDList(&state, keeping: { _ in true })
    }

    /// Writes the whole file anew (v3, N = our next UID) through dovecot-uidlist.tmp.
    /// The caller holds the lock.
    func rewriteUIDList(_ state: inout FolderState, keeping keep: (UIDListRecord) -> Bool) throws {
        let kept = state.records.filter(keep)
        state.header.version = UIDListSyntax.currentVersion
        state.header.nextUID = state.nextUID
        let bytes = UIDListParser.serialize(header: state.header, records: kept)
        try POSIX.writeAtomically(
            path: uidListPath, temporaryPath: uidListTempPath, directory: directory, contents: bytes,
            newerThan: state.uidListFile?.mtime)
        state.records = []
        state.recordUIDs = [:]
        for record in kept { _ = state.addRecord(record) }
        state.uidListFile = try POSIX.status(uidListPath)
        state.uidListConsumed = bytes.count
        state.uidListHasPartialLine = false
        state.uidListNeedsRewrite = false
        state.discardedUIDListFile = nil
        logger.debug("rewrote dovecot-uidlist", metadata: ["records": "\(kept.count)"])
    }

    /// An impossible uidlist (UIDListParse.impossible): a new UIDVALIDITY and no records,
    /// so every message gets a new UID in delivery order at the next assignment, which
    /// also rewrites the file (`uidListNeedsRewrite`). The mailbox GUID is kept.
    private func startAgain(
        _ state: inout FolderState, reason: String, fileHeader: UIDListHeader?, status: FileStatus, fileSize: Int
    ) throws {
        let old = fileHeader?.uidValidity ?? state.header.uidValidity
        let guid = fileHeader?.value(UIDListSyntax.guidKey) ?? UIDListParser.makeGUID()
        state.header = UIDListHeader(uidValidity: try allocator.next(), nextUID: 1, guid: guid)
        logger.warning(
            "dovecot-uidlist is impossible: new UIDVALIDITY, every message gets a new UID",
            metadata: ["reason": "\(reason)", "old": "\(old)", "new": "\(state.header.uidValidity)"])
        state.records = []
        state.recordUIDs = [:]
        state.nextUID = 1
        state.uidListFile = status
        state.uidListConsumed = fileSize
        state.uidListHasPartialLine = false
        state.uidListNeedsRewrite = true
        state.discardedUIDListFile = status
    }

    /// Takes parsed records into the state; logs salvage.
    private func absorb(
        _ parse: UIDListParse, into state: inout FolderState, status: FileStatus, fileSize: Int, offset: Int = 0
    ) {
        if !parse.damagedLines.isEmpty {
            logger.error(
                "dovecot-uidlist damaged; salvaged the readable records",
                metadata: ["lines": "\(parse.damagedLines.prefix(10))", "offset": "\(offset)"])
            state.uidListNeedsRewrite = true
        }
        for record in parse.records where !state.addRecord(record) {
            logger.warning("duplicate file name in dovecot-uidlist", metadata: ["uid": "\(record.uid)"])
            state.uidListNeedsRewrite = true
        }
        state.nextUID = max(state.nextUID, state.header.nextUID)
        state.uidListFile = status
        state.uidListConsumed = offset + parse.consumed
        state.uidListHasPartialLine = parse.consumed < fileSize
    }

    private func readUIDList() throws -> (FileStatus, [UInt8])? {
        guard let fd = try POSIX.open(uidListPath, O_RDONLY) else { return nil }
        defer { close(fd) }
        let status = try POSIX.status(fd: fd, path: uidListPath)
        return (status, try readToEnd(fd: fd, from: 0))
    }

    private func readToEnd(fd: Int32, from offset: Int) throws -> [UInt8] {
        var bytes: [UInt8] = []
        while true {
            let chunk = try POSIX.pread(fd: fd, path: uidListPath, offset: offset + bytes.count, count: 256 * 1024)
            if chunk.isEmpty { return bytes }
            bytes += chunk
        }
    }
}
