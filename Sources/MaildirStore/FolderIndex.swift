// `imapd-index`: the folder state of a large folder saved beside dovecot-uidlist, so a
// SELECT after a restart loads it instead of reading the uidlist, the modseq log and
// every directory entry and building the state per file (issue 15). The Maildir stays
// the truth: the index is only a FolderState as it was, and the ordinary synchronize
// (FolderSync.swift) brings it up to date, as it does a state kept in memory.
//
// When it is trusted. The index is used only when
// - it decodes whole (magic, version, length, CRC32, every bound: FolderIndexFormat);
// - dovecot-uidlist is the file it was read from (device, inode) with the header it
//   had, and either unchanged (size and mtime) or only appended to (larger): appended
//   records are read on from where the index stopped, as a running server does. A
//   rewritten uidlist (Dovecot compacts through a new file) means a full build;
// - imapd-modseq is exactly as the index saw it (device, inode, size, mtime). Any change
//   to it means something happened that the index does not hold: a message's
//   mod-sequence may have moved on even where its flags are back to what the index
//   says, and answering CHANGEDSINCE from the older value would hide that change from
//   a CONDSTORE client. So after a crash (the log moved on after the last index write),
//   the folder is built from the Maildir, and the index written again.
//
// What a loaded state may not know yet is found by the first synchronize: deliveries,
// flag renames and expunges by other programs change cur/ or new/, whose mtimes
// (nanoseconds) the index holds with the start time of its scan. The same-tick problem
// (a change in the same timestamp tick as that scan leaves the mtime as recorded) is
// handled as in memory: a directory whose mtime is not well before the scan start is
// checked again (by the name digest, else a full scan), never trusted.
//
// Writes: the whole file to `imapd-index.tmp` (created anew: a planted symlink is
// unlinked, never followed) and renamed over the index, under the folder Mutex, as the
// folder owner. No fsync: a file torn by a crash fails its CRC and the folder is built
// from the Maildir. Written when a large folder was built from the Maildir, and when
// the server stops (FolderRegistry.saveIndexes). Folders under `minimumMessages` get
// none: they are built in milliseconds.
import Glibc

public enum FolderIndex {
    /// Folders smaller than this are never indexed.
    public static let minimumMessages = 1_000
    /// A larger file (some ten million messages) is not read: the folder is built from
    /// the Maildir.
    static let maximumBytes = 1 << 30

}

extension FolderContext {
    var indexPath: String { POSIX.join(directory, MaildirNames.folderIndex) }
    var indexTempPath: String { POSIX.join(directory, MaildirNames.folderIndexTemp) }

    /// The saved state, when it can be trusted (top of this file); nil: build the
    /// folder from the Maildir.
    func loadIndexedState() -> FolderState? {
        do {
            let keywordsStatus = try keywordsFile.status()
            let keywords = try keywordsFile.read()
            guard var state = try readIndex(keywords: keywords) else { return nil }
            state.keywordsFile = keywordsStatus
            guard try uidListContinues(state), try modSeqLogUnchanged(state) else {
                logger.debug("imapd-index older than the folder's files; building the folder from the Maildir")
                return nil
            }
            return state
        } catch {
            logger.warning("could not read imapd-index", metadata: ["error": "\(error)"])
            return nil
        }
    }

    /// The state a whole, undamaged index file holds; nil when there is none or it is
    /// not whole (logged: a torn write or damage).
    ///
    /// The file is mapped, not read into memory: 10 MB of fresh memory to fill was a
    /// fifth of a cold SELECT of 100,000 messages. Race: a program truncating the file
    /// while it is read makes its pages read as zeros (GuardedMapping); whatever was
    /// decoded is then dropped, checked after the decode.
    private func readIndex(keywords: KeywordTable) throws -> FolderState? {
        guard let (fd, status) = try POSIX.openRegularFile(indexPath) else { return nil }
        defer { close(fd) }
        guard status.size <= FolderIndex.maximumBytes else { return nil }
        let decoded = try GuardedMapping.withMapping(
            fd: fd, length: status.size, expected: status.size, path: indexPath, populate: true
        ) { bytes, probe -> FolderState?? in
            let file = bytes.assumingMemoryBound(to: UInt8.self)
            guard let payload = FolderIndexFormat.payload(of: file) else { return .some(nil) }
            let state = FolderIndexFormat.decode(payload, keywords: keywords)
            return probe.fileShrank ? nil : .some(state)
        }
        switch decoded {
        case .none:
            logger.info("imapd-index truncated while read; building the folder from the Maildir")
            return nil
        case .some(.none):
            logger.info("imapd-index torn or damaged; building the folder from the Maildir")
            return nil
        case .some(.some(let state)):
            return state
        }
    }

    /// dovecot-uidlist is the file the state was read from, unchanged or only appended to.
    func uidListContinues(_ state: FolderState) throws -> Bool {
        guard let known = state.uidListFile, let current = try POSIX.status(uidListPath, followSymlinks: false),
            current.isSameFile(as: known), current.isRegular
        else { return false }
        if current == known && current.size == state.uidListConsumed { return true }
        guard current.size > state.uidListConsumed else { return false }
        // Appended to (an LDA's delivery while we were down): the same header says it
        // is the same file and not a new one that was given the same inode number.
        guard let fd = try POSIX.open(uidListPath, O_RDONLY | O_NOFOLLOW | O_NONBLOCK) else { return false }
        defer { close(fd) }
        let head = try POSIX.pread(fd: fd, path: uidListPath, offset: 0, count: 4096)
        guard let end = head.firstIndex(of: UIDListSyntax.newline),
            let header = UIDListHeader.parse(head[..<end])
        else { return false }
        return header == state.header
    }

    private func modSeqLogUnchanged(_ state: FolderState) throws -> Bool {
        guard let known = state.modSeqs.log.file else { return false }
        return try POSIX.status(modSeqLogPath, followSymlinks: false) == known
    }

    /// Saves `state` when the folder is large enough and the state is one a later load
    /// may start from: the uidlist and the modseq log read and written as they are on
    /// disk, nothing pending. Failures are logged: the index is an optimisation.
    func writeIndex(_ state: FolderState) {
        guard state.messages.count >= indexMinimumMessages else {
            // Shrunk below the threshold: an old index would only take disk space.
            unlink(indexPath)
            return
        }
        guard state.uidListFile != nil,
            !state.pendingUIDValidityReset, state.discardedUIDListFile == nil,
            state.modSeqs.log.file != nil, !state.modSeqs.log.needsRewrite, !state.modSeqs.log.failing,
            state.modSeqs.journal.isEmpty, state.modSeqs.remembered.isEmpty,
            let bytes = FolderIndexFormat.encode(state)
        else { return }
        do {
            if unlink(indexTempPath) != 0 && !POSIX.isMissing(errno) { throw POSIX.error(indexTempPath) }
            guard let fd = try POSIX.open(indexTempPath, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, mode: 0o600)
            else { throw POSIX.error(indexTempPath, ENOENT) }
            do {
                try POSIX.writeAll(fd: fd, path: indexTempPath, bytes)
                close(fd)
            } catch {
                close(fd)
                unlink(indexTempPath)
                throw error
            }
            guard rename(indexTempPath, indexPath) == 0 else {
                let code = errno
                unlink(indexTempPath)
                throw POSIX.error(indexPath, code)
            }
        } catch {
            logger.warning("could not write imapd-index", metadata: ["error": "\(error)"])
        }
    }
}
