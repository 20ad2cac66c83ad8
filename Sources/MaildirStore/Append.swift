// APPEND (RFC 9051 §6.3.12) into a Maildir: the message is written to tmp/ as its
// literal arrives, fsynced, given its INTERNALDATE as mtime, renamed into cur/ with
// its flags and ,S=/,W= sizes, and given a UID — the rename and the UID assignment
// happen under dovecot-uidlist.lock, as Dovecot does, so no other process can give the
// file a different UID in between.
//
// Races handled here:
// - Two appends at once, in this process or others: unique names (seconds, microseconds,
//   pid, a process-wide counter, host) and O_EXCL on the tmp file.
// - The lock cannot be had: the message stays in tmp/ and is removed; nothing appears.
// - The UID assignment fails after the rename: the message is in cur/ and gets its UID
//   at the next synchronize (the client saw the APPEND fail, like with Dovecot).
import Glibc
import Synchronization

/// Unique Maildir base names in Dovecot's shape: `<secs>.M<usecs>P<pid>Q<n>.<host>`.
enum UniqueName {
    private static let counter = Atomic<UInt64>(0)
    /// The host name with '/', ':' and ',' escaped as the Maildir specification asks
    /// (they would split the name), e.g. `\057`.
    static let host: String = {
        var escaped = ""
        for character in POSIX.hostName() {
            switch character {
            case "/": escaped += "\\057"
            case ":": escaped += "\\072"
            case ",": escaped += "\\054"
            default: escaped.append(character)
            }
        }
        return escaped.isEmpty ? "localhost" : escaped
    }()

    static func make() -> String {
        let now = Timestamp.now()
        let n = counter.wrappingAdd(1, ordering: .relaxed).newValue
        return "\(now.seconds).M\(now.nanoseconds / 1000)P\(getpid())Q\(n).\(host)"
    }
}

/// A message being saved: bytes go to tmp/ as they arrive. Commit it with
/// `SharedFolder.commitAppend`, or `abort()` (deinit aborts too).
public final class AppendTransaction: Sendable {
    private struct Writer: Sendable {
        var fd: Int32
        var size = 0
        var virtualSize = 0
        var lastByte: UInt8 = 0
        var finished = false
    }

    let baseName: String
    let temporaryPath: String
    /// The folder owner's ids, for creating and removing the tmp/ file.
    let owner: FileOwner?
    private let writer: Mutex<Writer>

    init(folderDirectory: String, owner: FileOwner?) throws {
        baseName = UniqueName.make()
        self.owner = owner
        let tmp = POSIX.join(folderDirectory, MaildirNames.tmp)
        let path = POSIX.join(tmp, baseName)
        temporaryPath = path
        let fd = try owner.perform { () throws -> Int32 in
            if (try POSIX.status(tmp)) == nil { try POSIX.makeDirectory(tmp) }
            guard let fd = try POSIX.open(path, O_WRONLY | O_CREAT | O_EXCL) else { throw POSIX.error(path, ENOENT) }
            return fd
        }
        writer = Mutex(Writer(fd: fd))
    }

    deinit { abort() }

    public func write(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try write($0) }
    }

    public func write(_ buffer: UnsafeRawBufferPointer) throws {
        try writer.withLock { writer in
            guard !writer.finished else { throw StoreError.io(temporaryPath, errno: EBADF) }
            try POSIX.writeAll(fd: writer.fd, path: temporaryPath, buffer)
            // RFC822.SIZE counts every bare LF as CRLF.
            for byte in buffer {
                writer.virtualSize += byte == UInt8(ascii: "\n") && writer.lastByte != UInt8(ascii: "\r") ? 2 : 1
                writer.lastByte = byte
            }
            writer.size += buffer.count
        }
    }

    /// Bytes written so far.
    public var size: Int { writer.withLock { $0.size } }

    /// Discards the message (removes the tmp/ file). Harmless after commit.
    public func abort() {
        writer.withLock { writer in
            guard !writer.finished else { return }
            writer.finished = true
            close(writer.fd)
            let path = temporaryPath
            _ = try? owner.perform { unlink(path) }
        }
    }

    /// Hands the open descriptor to the commit (which closes it) with the sizes.
    func finish() throws -> (fd: Int32, size: Int, virtualSize: Int) {
        try writer.withLock { writer in
            guard !writer.finished else { throw StoreError.io(temporaryPath, errno: EBADF) }
            writer.finished = true
            return (writer.fd, writer.size, writer.virtualSize)
        }
    }
}

extension SharedFolder {
    /// Starts saving a message into this folder (APPEND).
    public func beginAppend() throws -> AppendTransaction {
        try AppendTransaction(folderDirectory: directory, owner: owner)
    }

    /// Completes an APPEND: the message appears in cur/ with `flags` (new keywords get
    /// letters), mtime = `internalDate` (seconds since the epoch; nil keeps "now"), and a
    /// UID. Observers get .added. Returns the new message (its UID for APPENDUID,
    /// RFC 4315).
    public func commitAppend(_ transaction: AppendTransaction, flags: MessageFlags, internalDate: Int64?) throws
        -> MessageRecord
    {
        try perform { context, state, changes in
            try context.commitAppend(
                transaction, flags: flags, internalDate: internalDate, state: &state, changes: &changes)
        }
    }
}

extension FolderContext {
    func commitAppend(
        _ transaction: AppendTransaction, flags: MessageFlags, internalDate: Int64?, state: inout FolderState,
        changes: inout [FolderChange]
    ) throws -> MessageRecord {
        let indexes: Set<Int>
        do {
            indexes = try keywordIndexes(for: flags.keywords, creating: true, in: &state, changes: &changes)
        } catch {
            transaction.abort()
            throw error
        }
        let (fd, size, virtualSize) = try transaction.finish()
        let temporaryPath = transaction.temporaryPath
        let name: MaildirFileName
        do {
            defer { close(fd) }
            if let internalDate { try POSIX.setModificationTime(fd: fd, path: temporaryPath, seconds: internalDate) }
            if fsync(fd) != 0 { throw POSIX.error(temporaryPath) }
            let letters = FlagLetters(system: flags.system, keywordIndexes: indexes.sorted())
            name = MaildirFileName(
                baseName: transaction.baseName + ",S=\(size),W=\(virtualSize)", letters: letters.encoded)
        } catch {
            unlink(temporaryPath)
            throw error
        }
        let staged = [StagedMessage(temporaryPath: temporaryPath, name: name)]
        guard let record = try admitStaged(staged, state: &state, changes: &changes).first else {
            throw StoreError.corrupt("\(directory): saved message not found after commit")
        }
        return record
    }

    /// Renames staged tmp/ files into cur/ and gives them UIDs, under the lock. Returns
    /// their records in `staged` order. Staged files not moved are removed.
    func admitStaged(_ staged: [StagedMessage], state: inout FolderState, changes: inout [FolderChange]) throws
        -> [MessageRecord]
    {
        var moved = 0
        defer { for file in staged[moved...] { unlink(file.temporaryPath) } }
        return try locker.withLock(lockPath) {
            var files: [(String, ScannedFile)] = []
            for file in staged {
                let location = MessageLocation(inNew: false, name: file.name)
                if Glibc.rename(file.temporaryPath, path(of: location)) != 0 { throw POSIX.error(path(of: location)) }
                moved += 1
                files.append((file.name.baseName, ScannedFile(inNew: false, name: file.name)))
            }
            try? POSIX.fsyncDirectory(curPath)
            let results = try assignUIDs(&state, files, alreadyListed: Set(files.map(\.0)), saving: true)
            let records = state.admit(results)
            if !records.isEmpty { changes.append(.added(records)) }
            let byBase = Dictionary(records.map { ($0.baseName, $0) }, uniquingKeysWith: { first, _ in first })
            return staged.compactMap { byBase[$0.name.baseName] }
        }
    }
}

/// A message file waiting in tmp/ for its final name in cur/.
struct StagedMessage: Sendable {
    var temporaryPath: String
    var name: MaildirFileName
}
