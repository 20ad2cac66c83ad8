import Foundation
import Logging
import XCTest

@testable import MaildirStore

/// A real Maildir under /tmp, removed when the test ends.
final class TempMaildir: @unchecked Sendable {
    let root: String

    init() throws {
        var template = Array("/tmp/maildirstore-test-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw StoreError.io("mkdtemp", errno: errno) }
        root = String(cString: made)
        for sub in ["cur", "new", "tmp"] { try makeDirectory(sub) }
    }

    deinit { try? FileManager.default.removeItem(atPath: root) }

    func path(_ relative: String) -> String { root + "/" + relative }

    func makeDirectory(_ relative: String) throws {
        try FileManager.default.createDirectory(atPath: path(relative), withIntermediateDirectories: true)
    }

    /// Writes a file (like an MDA: tmp/ then rename into place) and sets its mtime.
    @discardableResult
    func deliver(_ relative: String, _ content: String = "Subject: test\n\nbody\n", mtime: Int? = nil) throws
        -> String
    {
        let target = path(relative)
        let temporary = path("tmp/.deliver-\(UUID().uuidString)")
        try Data(content.utf8).write(to: URL(fileURLWithPath: temporary))
        if let mtime {
            try FileManager.default.setAttributes(
                [.modificationDate: Date(timeIntervalSince1970: TimeInterval(mtime))], ofItemAtPath: temporary)
        }
        guard rename(temporary, target) == 0 else { throw StoreError.io(target, errno: errno) }
        return target
    }

    func write(_ relative: String, _ bytes: [UInt8]) throws {
        try Data(bytes).write(to: URL(fileURLWithPath: path(relative)))
    }

    func read(_ relative: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: URL(fileURLWithPath: path(relative))))
    }

    func readString(_ relative: String) throws -> String { String(decoding: try read(relative), as: UTF8.self) }

    func exists(_ relative: String) -> Bool { FileManager.default.fileExists(atPath: path(relative)) }

    func list(_ relative: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: path(relative)).filter { !$0.hasPrefix(".") }.sorted()
    }

    func renameFile(_ from: String, _ to: String) throws {
        guard rename(path(from), path(to)) == 0 else { throw StoreError.io(from, errno: errno) }
    }

    func remove(_ relative: String) throws { try FileManager.default.removeItem(atPath: path(relative)) }
}

/// Collects every batch an observer receives (thread-safe).
final class ChangeRecorder: @unchecked Sendable {
    private let lock = NSLock()
    private var batches: [[FolderChange]] = []

    var callback: @Sendable ([FolderChange]) -> Void {
        { [self] changes in
            lock.lock()
            batches.append(changes)
            lock.unlock()
        }
    }

    var all: [FolderChange] {
        lock.lock()
        defer { lock.unlock() }
        return batches.flatMap { $0 }
    }

    var added: [StoreUID] {
        all.flatMap { change -> [StoreUID] in
            if case .added(let records) = change { return records.map(\.uid) }
            return []
        }
    }

    var expunged: [StoreUID] {
        all.flatMap { change -> [StoreUID] in
            if case .expunged(let uids, _) = change { return uids }
            return []
        }
    }

    /// The mod-sequence of each expunge batch, in order.
    var expungeModSeqs: [ModSeq] {
        all.compactMap { change -> ModSeq? in
            if case .expunged(_, let modSeq) = change { return modSeq }
            return nil
        }
    }

    var flagChanges: [(StoreUID, MessageFlags)] {
        all.flatMap { change -> [(StoreUID, MessageFlags)] in
            if case .flagsChanged(let list) = change { return list.map { ($0.uid, $0.flags) } }
            return []
        }
    }

    var keywordLists: [[String]] {
        all.compactMap { change in
            if case .keywordsChanged(let list) = change { return list }
            return nil
        }
    }
}

func testLogger() -> Logger {
    var logger = Logger(label: "MaildirStoreTests")
    logger.logLevel = .critical
    return logger
}

extension TempMaildir {
    /// This Maildir as a folder of a fresh registry.
    func openFolder() throws -> SharedFolder {
        try FolderRegistry(logger: testLogger()).open(directory: root, mailRoot: root)
    }
}

/// A fixture file next to this source file.
func fixture(_ name: String) throws -> [UInt8] {
    let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    return [UInt8](try Data(contentsOf: directory.appendingPathComponent("Fixtures").appendingPathComponent(name)))
}
