// COPY and MOVE (RFC 9051 §6.4.7, RFC 6851) between folders: each message is hard-linked
// (same inode: same bytes, same mtime = INTERNALDATE) into the destination's tmp/ under
// a new unique name, or copied byte for byte when linking is impossible (another
// filesystem, link limits); then the destination renames them into cur/ with their
// flags and gives them UIDs under its lock (Append.swift, admitStaged).
//
// Races handled here:
// - The source file renamed (flag change) or expunged by another program: openMessage
//   finds it by base name or reports it gone (skipped); link(2) on a name that just
//   changed fails with ENOENT and we copy from the already open descriptor instead.
// - Copies in both directions at once (A→B and B→A): no two folder Mutexes are ever
//   held together: the source is read first, the destination admits afterwards.
// Keyword letters are per folder, so flags are carried by name and re-mapped to the
// destination's dovecot-keywords.
import Glibc

extension SharedFolder {
    /// Copies messages into `destination` keeping flags and INTERNALDATE. Returns
    /// (source UID, destination UID) pairs in source UID order, for COPYUID (RFC 4315);
    /// UIDs no longer present are skipped.
    public func copy(_ uids: [StoreUID], to destination: SharedFolder) throws -> [(StoreUID, StoreUID)] {
        // The staged files are the destination's: made with its owner's ids (reading
        // the source switches to the source's owner inside openMessage).
        try destination.owner.perform { try copyAsDestinationOwner(uids, to: destination) }
    }

    private func copyAsDestinationOwner(_ uids: [StoreUID], to destination: SharedFolder) throws -> [(
        StoreUID, StoreUID
    )] {
        var staged: [(StoreUID, MessageFlags, StagedMessage)] = []
        var committed = false
        defer { if !committed { for item in staged { unlink(item.2.temporaryPath) } } }
        let tmp = POSIX.join(destination.directory, MaildirNames.tmp)
        if (try POSIX.status(tmp)) == nil { try POSIX.makeDirectory(tmp) }
        for uid in Array(Set(uids)).sorted() {
            guard let file = try openMessage(uid) else { continue }
            defer { file.close() }
            let base = UniqueName.make() + ",S=\(file.size),W=\(try file.virtualSize())"
            let temporaryPath = POSIX.join(tmp, base)
            if link(file.path, temporaryPath) != 0 {
                try copyBytes(of: file, to: temporaryPath)
            }
            staged.append(
                (
                    uid, file.record.flags,
                    StagedMessage(temporaryPath: temporaryPath, name: MaildirFileName(baseName: base))
                ))
        }
        guard !staged.isEmpty else { return [] }
        committed = true
        let records = try destination.admitCopies(staged.map { ($0.1, $0.2) })
        let byBase = Dictionary(records.map { ($0.baseName, $0.uid) }, uniquingKeysWith: { first, _ in first })
        return staged.compactMap { item in byBase[item.2.name.baseName].map { (item.0, $0) } }
    }

    /// COPY, then expunge the copied messages here (RFC 6851). Returns the COPYUID pairs;
    /// observers of this folder get .expunged, those of `destination` .added.
    public func move(_ uids: [StoreUID], to destination: SharedFolder) throws -> [(StoreUID, StoreUID)] {
        let pairs = try copy(uids, to: destination)
        _ = try expunge(pairs.map(\.0))
        return pairs
    }

    /// Gives staged copies their flags (keywords re-mapped here) and UIDs.
    func admitCopies(_ items: [(MessageFlags, StagedMessage)]) throws -> [MessageRecord] {
        try perform { context, state, changes in
            var staged: [StagedMessage] = []
            do {
                let names = items.flatMap(\.0.keywords)
                _ = try context.keywordIndexes(for: names, creating: true, in: &state, changes: &changes)
                for (flags, message) in items {
                    let indexes = flags.keywords.compactMap { state.keywords.index(of: $0) }
                    let letters = FlagLetters(system: flags.system, keywordIndexes: Array(Set(indexes)).sorted())
                    staged.append(
                        StagedMessage(
                            temporaryPath: message.temporaryPath, name: message.name.withLetters(letters.encoded)))
                }
            } catch {
                for (_, message) in items { unlink(message.temporaryPath) }
                throw error
            }
            return try context.admitStaged(staged, state: &state, changes: &changes)
        }
    }

    /// Byte copy into a new file with the same mtime (linking was not possible).
    private func copyBytes(of file: MessageFile, to path: String) throws {
        guard let fd = try POSIX.open(path, O_WRONLY | O_CREAT | O_EXCL) else { throw POSIX.error(path, ENOENT) }
        var ok = false
        defer {
            close(fd)
            if !ok { unlink(path) }
        }
        var offset = 0
        while true {
            let chunk = try file.read(offset: offset, count: 256 * 1024)
            if chunk.isEmpty { break }
            try POSIX.writeAll(fd: fd, path: path, chunk)
            offset += chunk.count
        }
        try POSIX.setModificationTime(fd: fd, path: path, seconds: file.internalDate)
        if fsync(fd) != 0 { throw POSIX.error(path) }
        ok = true
    }
}
