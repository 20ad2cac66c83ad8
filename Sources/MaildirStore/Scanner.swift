// Reading new/ and cur/ into base name → file.
//
// Races handled here:
// - A message moved new/ → cur/ by another program while we read: new/ is read before
//   cur/, so the file is seen in cur/ (possibly also in new/; cur/ wins), never missed.
// - A flag rename inside cur/ while we read it: readdir may return the old name, the new
//   name, both or (rarely) neither. Both → one is kept and `sawDuplicates` asks the next
//   synchronize for a rescan; neither → the caller confirms every apparently vanished
//   message with a second scan before reporting it expunged (FolderSync.swift).

import Glibc

/// One directory entry. A class with constant fields, so a copy (a first scan passes
/// 100,000s of them through several lists) is one reference count, not one per string
/// and array inside the file name.
final class ScannedFile: Sendable {
    let inNew: Bool
    let name: MaildirFileName
    /// What readdir said the entry is: true a regular file, false anything else (a
    /// symlink, FIFO or directory, never a message), nil not said (DT_UNKNOWN: some
    /// file systems leave it to a stat).
    let isRegular: Bool?

    init(inNew: Bool, name: MaildirFileName, isRegular: Bool? = nil) {
        self.inNew = inNew
        self.name = name
        self.isRegular = isRegular
    }
}

struct DirectoryListing: Sendable {
    var files: [String: ScannedFile] = [:]
    var sawDuplicates = false

    /// This listing plus files only `other` saw (a message missed by one readdir).
    func union(_ other: DirectoryListing) -> DirectoryListing {
        var merged = self
        for (base, file) in other.files where merged.files[base] == nil { merged.files[base] = file }
        merged.sawDuplicates = sawDuplicates || other.sawDuplicates
        return merged
    }
}

extension FolderContext {
    /// Lists new/ then cur/. Throws .nonexistent when cur/ is gone (folder deleted).
    func scanDirectories() throws -> DirectoryListing {
        var listing = DirectoryListing()
        let inNew = try entries(newPath, required: false)
        let inCur = try entries(curPath, required: true)
        listing.files.reserveCapacity(inNew.count + inCur.count)
        for (name, type) in inNew {
            let parsed = MaildirFileName(parsing: name)
            listing.files[parsed.baseName] = ScannedFile(inNew: true, name: parsed, isRegular: Self.isRegular(type))
        }
        for (name, type) in inCur {
            let parsed = MaildirFileName(parsing: name)
            if let seen = listing.files[parsed.baseName], !seen.inNew {
                listing.sawDuplicates = true
                logger.debug("two files with one base name in cur/", metadata: ["base": "\(parsed.baseName)"])
            }
            listing.files[parsed.baseName] = ScannedFile(inNew: false, name: parsed, isRegular: Self.isRegular(type))
        }
        return listing
    }

    private static func isRegular(_ type: UInt8) -> Bool? {
        type == UInt8(DT_UNKNOWN) ? nil : type == UInt8(DT_REG)
    }

    /// Visible entries (hidden names starting with '.' skipped).
    private func entries(_ path: String, required: Bool) throws -> [(name: String, type: UInt8)] {
        do {
            return try POSIX.typedDirectoryEntries(path).filter { $0.name.utf8.first != FileNameSyntax.hiddenPrefix }
        } catch StoreError.io(_, let code) where POSIX.isMissing(code) {
            if required { throw StoreError.nonexistent(directory) }
            return []
        }
    }
}

extension FolderContext {
    /// Open new/ and cur/ for a `makeRecord` pass over `files` that stats more than one
    /// of them: all of them, or when `lazy` those readdir did not type (DT_UNKNOWN).
    func directoriesForStatting(_ files: some Sequence<ScannedFile>, lazy: Bool) -> MessageDirectories? {
        var statted = 0
        for file in files where !lazy || file.isRegular == nil {
            statted += 1
            if statted > 1 { return MessageDirectories(self) }
        }
        return nil
    }
}

/// new/ and cur/ opened once for a pass that stats many message files: fstatat relative
/// to them instead of a path walk per file. A directory that cannot be opened falls
/// back to the path. Used on one thread, for the length of one call.
final class MessageDirectories {
    private let new: Int32
    private let cur: Int32

    init(_ context: FolderContext) {
        new = Glibc.open(context.newPath, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        cur = Glibc.open(context.curPath, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
    }

    deinit {
        if new >= 0 { Glibc.close(new) }
        if cur >= 0 { Glibc.close(cur) }
    }

    /// lstat of the file (symlinks not followed); nil when it is gone. `path` is its
    /// full path, for errors and the fallback.
    func status(_ location: MessageLocation, path: String) throws -> FileStatus? {
        let directory = location.inNew ? new : cur
        guard directory >= 0 else { return try POSIX.status(path, followSymlinks: false) }
        var st = stat()
        if fstatat(directory, location.name.fileName, &st, AT_SYMLINK_NOFOLLOW) == 0 { return FileStatus(st) }
        let code = errno
        if POSIX.isMissing(code) { return nil }
        throw POSIX.error(path, code)
    }
}
