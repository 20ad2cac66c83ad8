// `imapd-modseq`: the folder's mod-sequences on disk (format: ModSeqLogFormat.swift and
// MAILDIR-FORMATS.md). An append-only log, rewritten whole when it grows too long.
//
// Crash safety (mod-sequences never go backward, RFC 7162 §3.1.2.1):
// - Each operation's lines go out in one write(2) before the operation returns, so
//   before any client hears of its mod-sequence. A kill -9 loses nothing that was
//   written; a torn last line is ignored when read.
// - A power failure can lose writes not yet on disk. So before a mod-sequence above the
//   `C` ceiling line is given out, a new ceiling (highest + `reservation`) is appended
//   and fdatasync'd; at open the folder continues above max(ceiling, highest line).
//   The flag bits on each line catch renames whose line was lost: a file whose flags
//   differ from its line gets a new mod-sequence (above the ceiling) at open.
// - Rewrites go to a temporary file that is fsync'd and renamed over the log
//   (POSIX.writeAtomically), under dovecot-uidlist.lock like the uidlist's rewrites,
//   and never wait for that lock (a busy lock leaves the rewrite for later).
// - Appends hold flock(2) on the log, and check after getting it that the path still
//   names the file they opened (a rewrite may have replaced it meanwhile).
// - A second imapd-maildir on the same spool (not a supported deployment, but not a
//   corrupting one): each operation first checks whether the log grew or was replaced
//   by someone else, and continues above the highest mod-sequence found there.
// Changes made while no server was running (a delivery, an MUA's rename, `rm`) are
// found at open by comparing the log with the files: they get new mod-sequences.
import Glibc

/// Where the on-disk log stands, as this process last wrote or read it.
struct ModSeqLogPosition: Sendable {
    /// The file we last read or wrote, and its size then.
    var file: FileStatus?
    var lineCount = 0
    /// Mod-sequences up to this one may have been given out (fdatasync'd).
    var ceiling = ModSeq(0)
    /// Missing, damaged, of another UIDVALIDITY, or written by nobody yet.
    var needsRewrite = true
    /// The last write failed (a read-only folder, a full disk): retried only with the
    /// next change, and warned about once per streak, not on every command.
    var failing = false

    /// How far past the highest mod-sequence each durable ceiling reaches: one
    /// fdatasync per this many changes, and at most this much of a jump per restart.
    static let reservation: UInt64 = 1_000
}

extension FolderContext {
    /// Reads the log when the folder is opened (`state` has the uidlist's UIDVALIDITY).
    func loadModSeqs(_ state: inout FolderState) {
        let limit = (1 << 20) + 256 * (state.records.count + ModSeqState.expungeMemory)
        let read = readModSeqLog(limit: limit)
        guard let read, let contents = read.contents, contents.uidValidity == state.uidValidity else {
            if read != nil { logger.info("imapd-modseq unusable or of another UIDVALIDITY; starting it again") }
            // No usable history: start above anything given out before (freshStart);
            // a log of another UIDVALIDITY still tells how high we had gone.
            let previous = read?.contents.map { max($0.highest, $0.ceiling) } ?? ModSeq(0)
            state.modSeqs = ModSeqState(start: max(ModSeqState.freshStart(), previous))
            return
        }
        let status = read.status
        var modSeqs = ModSeqState(start: max(contents.highest, contents.ceiling))
        modSeqs.floor = contents.floor
        modSeqs.expunges = contents.expunges.sorted { $0.modSeq < $1.modSeq }
        modSeqs.trimExpunges()
        modSeqs.remembered = contents.messages
        modSeqs.log = ModSeqLogPosition(
            file: status, lineCount: contents.lineCount, ceiling: contents.ceiling, needsRewrite: contents.damaged)
        state.modSeqs = modSeqs
    }

    /// After the first synchronize placed every message: UIDs the log knew that have no
    /// file now were expunged while we were not looking.
    func finishModSeqLoad(_ state: inout FolderState) {
        let gone = state.modSeqs.remembered.keys.map { StoreUID($0) }.filter { state.messageIndex($0) == nil }
        state.modSeqs.remembered = [:]
        state.modSeqs.recordExpunges(gone.sorted())
        commitModSeqs(&state)
    }

    /// Before an operation: lines another process added (or its rewrite) raise our
    /// highest mod-sequence, so what we stamp next is above what it gave out.
    func refreshModSeqs(_ state: inout FolderState) {
        guard let known = state.modSeqs.log.file,
            let current = try? POSIX.status(modSeqLogPath, followSymlinks: false),
            !(current.isSameFile(as: known) && current.size == known.size)
        else { return }
        let replaced = !current.isSameFile(as: known) || current.size < known.size
        guard let bytes = try? readLog(from: replaced ? 0 : known.size, limit: 64 << 20) else { return }
        var contents = ModSeqLogContents(uidValidity: state.uidValidity, floor: state.modSeqs.floor)
        if replaced {
            guard let whole = ModSeqLogFormat.parse(bytes) else { return }
            contents = whole
        } else {
            ModSeqLogFormat.parseLines(bytes, from: 0, into: &contents)
        }
        let theirs = max(contents.highest, contents.ceiling)
        if theirs > state.modSeqs.highest { state.modSeqs.highest = theirs }
        state.modSeqs.log.ceiling = max(state.modSeqs.log.ceiling, contents.ceiling)
        state.modSeqs.log.lineCount = replaced ? contents.lineCount : state.modSeqs.log.lineCount + contents.lineCount
        var status = current
        status.size = (replaced ? 0 : known.size) + contents.consumed
        state.modSeqs.log.file = status
    }

    /// Ends the operation: its lines go to the log (or the log is rewritten), a new
    /// ceiling first when the highest mod-sequence passed the old one. Failures are
    /// logged, not thrown: the change itself happened; the next operation rewrites.
    func commitModSeqs(_ state: inout FolderState) {
        defer {
            state.modSeqs.journal = []
            state.modSeqs.endOperation()
        }
        let modSeqs = state.modSeqs
        let due = modSeqs.log.needsRewrite || modSeqs.highest > modSeqs.log.ceiling
        guard !modSeqs.journal.isEmpty || (due && !modSeqs.log.failing) else { return }
        let limit = 2 * (state.messages.count + modSeqs.expunges.count) + 1_000
        do {
            if modSeqs.log.needsRewrite || modSeqs.log.lineCount > limit {
                do {
                    try rewriteModSeqLog(&state)
                } catch StoreError.locked where modSeqs.log.file != nil {
                    // The lines (and a ceiling) must be durable before the reply even
                    // so: append them after a newline of their own (the file may end
                    // in a torn line), and rewrite later.
                    try appendModSeqLog(&state, afterTornLine: modSeqs.log.needsRewrite)
                    state.modSeqs.log.needsRewrite = true
                }
            } else {
                try appendModSeqLog(&state, afterTornLine: false)
            }
            state.modSeqs.log.failing = false
        } catch StoreError.locked {
            // Someone else's short write holds dovecot-uidlist.lock: the next try.
            state.modSeqs.log.needsRewrite = true
        } catch {
            if !state.modSeqs.log.failing {
                logger.warning("could not write imapd-modseq", metadata: ["error": "\(error)"])
            }
            state.modSeqs.log.needsRewrite = true
            state.modSeqs.log.failing = true
        }
    }

    private func appendModSeqLog(_ state: inout FolderState, afterTornLine: Bool) throws {
        var bytes: [UInt8] = afterTornLine ? [ModSeqLogFormat.newline] : []
        var raised = false
        if state.modSeqs.highest > state.modSeqs.log.ceiling {
            state.modSeqs.log.ceiling = ModSeq(state.modSeqs.highest.rawValue + ModSeqLogPosition.reservation)
            ModSeqLogFormat.appendCeiling(state.modSeqs.log.ceiling, to: &bytes)
            raised = true
        }
        for entry in state.modSeqs.journal { ModSeqLogFormat.append(entry, to: &bytes) }
        for _ in 0..<3 {
            guard let fd = try POSIX.open(modSeqLogPath, O_WRONLY | O_APPEND | O_NOFOLLOW) else { break }
            defer { close(fd) }
            guard flock(fd, LOCK_EX) == 0 else { throw POSIX.error(modSeqLogPath) }
            let opened = try POSIX.status(fd: fd, path: modSeqLogPath)
            // Replaced by a rewrite while we waited for the lock: append to the new file.
            guard let named = try POSIX.status(modSeqLogPath, followSymlinks: false), named.isSameFile(as: opened)
            else { continue }
            try POSIX.writeAll(fd: fd, path: modSeqLogPath, bytes)
            if raised && fdatasync(fd) != 0 { throw POSIX.error(modSeqLogPath) }
            let known = state.modSeqs.log.file
            let ours = known.map { $0.isSameFile(as: opened) && $0.size == opened.size } ?? false
            state.modSeqs.log.file = try POSIX.status(fd: fd, path: modSeqLogPath)
            state.modSeqs.log.lineCount += state.modSeqs.journal.count + (raised ? 1 : 0)
            // Someone else wrote since our last look: read it all at the next rewrite.
            if !ours { state.modSeqs.log.needsRewrite = true }
            return
        }
        // Missing (deleted by someone) or replaced again and again: write it whole.
        try rewriteModSeqLog(&state)
    }

    private func rewriteModSeqLog(_ state: inout FolderState) throws {
        var impatient = locker
        impatient.timeout = .zero
        try impatient.withLock(lockPath) {
            let ceiling = ModSeq(state.modSeqs.highest.rawValue + ModSeqLogPosition.reservation)
            var bytes = ModSeqLogFormat.header(uidValidity: state.uidValidity, floor: state.modSeqs.floor)
            ModSeqLogFormat.appendCeiling(ceiling, to: &bytes)
            bytes.reserveCapacity(bytes.count + 32 * (state.messages.count + state.modSeqs.expunges.count))
            for (index, message) in state.messages.enumerated() {
                let letters = state.locations.location(of: message.baseName, messageIndex: index)?.name.letters ?? []
                ModSeqLogFormat.append(
                    .message(uid: message.uid.rawValue, modSeq: message.modSeq, flagBits: FlagBits.of(letters)),
                    to: &bytes)
            }
            for expunge in state.modSeqs.expunges {
                ModSeqLogFormat.append(.expunged(uid: expunge.uid.rawValue, modSeq: expunge.modSeq), to: &bytes)
            }
            try POSIX.writeAtomically(
                path: modSeqLogPath, temporaryPath: modSeqLogTempPath, directory: directory, contents: bytes)
            state.modSeqs.log = ModSeqLogPosition(
                file: try POSIX.status(modSeqLogPath, followSymlinks: false),
                lineCount: 1 + state.messages.count + state.modSeqs.expunges.count, ceiling: ceiling,
                needsRewrite: false)
        }
    }

    /// The log's contents (nil inside: not a log of ours) and status; nil when missing.
    private func readModSeqLog(limit: Int) -> (contents: ModSeqLogContents?, status: FileStatus)? {
        guard let status = try? POSIX.status(modSeqLogPath, followSymlinks: false), status.isRegular else {
            return nil
        }
        guard status.size <= limit, let bytes = try? readLog(from: 0, limit: limit) else {
            logger.warning("imapd-modseq too large or unreadable; starting it again")
            return (nil, status)
        }
        var read = status
        var contents = ModSeqLogFormat.parse(bytes)
        // A torn last line: the next append would run into it, so rewrite instead.
        if let consumed = contents?.consumed, consumed != bytes.count { contents?.damaged = true }
        read.size = bytes.count
        return (contents, read)
    }

    /// Bytes of the log from `offset`, at most `limit` of them (a larger file is not
    /// ours to trust: throws).
    private func readLog(from offset: Int, limit: Int) throws -> [UInt8] {
        guard let fd = try POSIX.open(modSeqLogPath, O_RDONLY | O_NOFOLLOW | O_NONBLOCK) else {
            throw POSIX.error(modSeqLogPath, ENOENT)
        }
        defer { close(fd) }
        let status = try POSIX.status(fd: fd, path: modSeqLogPath)
        guard status.isRegular, status.size - offset <= limit else { throw StoreError.corrupt(modSeqLogPath) }
        return try POSIX.pread(fd: fd, path: modSeqLogPath, offset: offset, count: status.size - offset)
    }
}
