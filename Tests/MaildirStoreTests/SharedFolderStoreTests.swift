import Foundation
import XCTest

@testable import MaildirStore

final class SharedFolderStoreTests: XCTestCase {
    func makeFolder(_ maildir: TempMaildir, files: [String], lockTimeout: Duration = .seconds(10)) throws
        -> SharedFolder
    {
        for file in files { try maildir.deliver(file) }
        let registry = FolderRegistry(logger: testLogger(), lockTimeout: lockTimeout)
        let folder = try registry.open(directory: maildir.root, mailRoot: maildir.root)
        _ = try folder.synchronize(moveNewToCur: false)
        return folder
    }

    func testStoreRenamesWithLettersInASCIIOrderKeepingPassedAndSuffix() throws {
        let maildir = try TempMaildir()
        let folder = try makeFolder(
            maildir, files: ["cur/1700000000.M1P1.host,S=20:2,PS,x=1", "new/1700000001.M1P1.host"])
        let changed = try folder.store(
            .add, flags: MessageFlags(system: [.seen, .answered, .draft]), uids: [1, 2].map { StoreUID($0) }
        ).changed
        XCTAssertEqual(changed.map(\.uid.rawValue), [1, 2])
        XCTAssertEqual(changed[0].flags, MessageFlags(system: [.seen, .answered, .draft]))
        XCTAssertEqual(
            try maildir.list("cur"), ["1700000000.M1P1.host,S=20:2,DPRS,x=1", "1700000001.M1P1.host:2,DRS"])
        XCTAssertEqual(try maildir.list("new"), [])
        // No change → nothing reported, nothing renamed.
        XCTAssertTrue(try folder.store(.add, flags: MessageFlags(system: .seen), uids: [StoreUID(1)]).changed.isEmpty)
        let removed = try folder.store(.remove, flags: MessageFlags(system: [.draft, .seen]), uids: [StoreUID(1)])
            .changed
        XCTAssertEqual(removed.first?.flags, MessageFlags(system: .answered))
        XCTAssertTrue(maildir.exists("cur/1700000000.M1P1.host,S=20:2,PR,x=1"))
        let replaced = try folder.store(.replace, flags: MessageFlags(system: .flagged), uids: [StoreUID(1)]).changed
        XCTAssertEqual(replaced.first?.flags, MessageFlags(system: .flagged))
        XCTAssertTrue(maildir.exists("cur/1700000000.M1P1.host,S=20:2,FP,x=1"))
        XCTAssertEqual(folder.snapshot.messages[0].flags, MessageFlags(system: .flagged))
        // Unknown UIDs are skipped.
        XCTAssertTrue(try folder.store(.add, flags: MessageFlags(system: .seen), uids: [StoreUID(99)]).changed.isEmpty)
    }

    func testKeywordsGetLettersAndAreWrittenToDovecotKeywords() throws {
        let maildir = try TempMaildir()
        try maildir.write("dovecot-keywords", Array("0 $Forwarded\n".utf8))
        // Letter `b` is on a file but has no name: it must not be handed out.
        let folder = try makeFolder(maildir, files: ["cur/1700000000.M1P1.host:2,b"])
        let recorder = ChangeRecorder()
        _ = folder.addObserver(recorder.callback)
        let result = try folder.store(
            .add, flags: MessageFlags(keywords: ["Work", "$forwarded", "work"]), uids: [StoreUID(1)]
        ).changed
        XCTAssertEqual(result.first?.flags.keywords, ["$Forwarded", "Work"])
        XCTAssertEqual(try maildir.readString("dovecot-keywords"), "0 $Forwarded\n2 Work\n")
        XCTAssertEqual(try maildir.list("cur"), ["1700000000.M1P1.host:2,abc"])
        XCTAssertEqual(recorder.keywordLists, [["$Forwarded", "Work"]])
        XCTAssertEqual(folder.snapshot.keywords, ["$Forwarded", "Work"])
        // REPLACE keeps the unnamed letter b.
        _ = try folder.store(.replace, flags: MessageFlags(system: .seen), uids: [StoreUID(1)])
        XCTAssertEqual(try maildir.list("cur"), ["1700000000.M1P1.host:2,Sb"])
        XCTAssertFalse(maildir.exists("dovecot-uidlist.lock"))
    }

    func testTooManyKeywordsChangesNothing() throws {
        let maildir = try TempMaildir()
        let names = (0..<25).map { "k\($0)" }
        try maildir.write(
            "dovecot-keywords", Array(names.enumerated().map { "\($0.offset) \($0.element)\n" }.joined().utf8))
        let folder = try makeFolder(maildir, files: ["cur/1700000000.M1P1.host:2,"])
        XCTAssertTrue(folder.snapshot.canCreateKeywords)
        XCTAssertThrowsError(
            try folder.store(.add, flags: MessageFlags(system: .seen, keywords: ["x", "y"]), uids: [StoreUID(1)])
        ) { error in
            guard case StoreError.tooManyKeywords = error else { return XCTFail("\(error)") }
        }
        XCTAssertEqual(try maildir.list("cur"), ["1700000000.M1P1.host:2,"])
        _ = try folder.store(.add, flags: MessageFlags(keywords: ["x"]), uids: [StoreUID(1)])
        XCTAssertFalse(folder.snapshot.canCreateKeywords)
        XCTAssertEqual(try maildir.list("cur"), ["1700000000.M1P1.host:2,z"])
    }

    func testKeywordsFileChangedByAnotherProcessIsReRead() throws {
        let maildir = try TempMaildir()
        let folder = try makeFolder(maildir, files: ["cur/1700000000.M1P1.host:2,a"])
        XCTAssertEqual(folder.snapshot.messages[0].flags.keywords, [])
        let recorder = ChangeRecorder()
        _ = folder.addObserver(recorder.callback)
        try maildir.write("dovecot-keywords", Array("0 Later\n".utf8))
        let snapshot = try folder.synchronize(moveNewToCur: false)
        XCTAssertEqual(snapshot.keywords, ["Later"])
        XCTAssertEqual(snapshot.messages[0].flags.keywords, ["Later"])
        XCTAssertEqual(recorder.flagChanges.map(\.0), [StoreUID(1)])
    }

    func testStoreAfterExternalRenameFindsTheFileByBaseName() throws {
        let maildir = try TempMaildir()
        let folder = try makeFolder(maildir, files: ["cur/1700000000.M1P1.host:2,"])
        try maildir.renameFile("cur/1700000000.M1P1.host:2,", "cur/1700000000.M1P1.host:2,F")
        let result = try folder.store(.add, flags: MessageFlags(system: .seen), uids: [StoreUID(1)]).changed
        XCTAssertEqual(result.first?.flags, MessageFlags(system: [.flagged, .seen]))
        XCTAssertEqual(try maildir.list("cur"), ["1700000000.M1P1.host:2,FS"])
    }

    func testStoreOnAMessageExpungedElsewhereSkipsIt() throws {
        let maildir = try TempMaildir()
        let folder = try makeFolder(maildir, files: ["cur/1700000000.M1P1.host:2,"])
        let recorder = ChangeRecorder()
        _ = folder.addObserver(recorder.callback)
        try maildir.remove("cur/1700000000.M1P1.host:2,")
        XCTAssertTrue(try folder.store(.add, flags: MessageFlags(system: .seen), uids: [StoreUID(1)]).changed.isEmpty)
        XCTAssertEqual(recorder.expunged, [StoreUID(1)])
    }

    func testExpungeUnlinksAndReports() throws {
        let maildir = try TempMaildir()
        let folder = try makeFolder(
            maildir, files: ["cur/1700000000.M1P1.host:2,T", "cur/1700000001.M1P1.host:2,", "new/1700000002.M1P1.host"])
        let recorder = ChangeRecorder()
        _ = folder.addObserver(recorder.callback)
        // UID 2 was renamed by someone else meanwhile: still found.
        try maildir.renameFile("cur/1700000001.M1P1.host:2,", "cur/1700000001.M1P1.host:2,T")
        let removed = try folder.expunge([3, 2, 1, 2, 42].map { StoreUID($0) })
        XCTAssertEqual(removed.map(\.rawValue), [1, 2, 3])
        XCTAssertEqual(try maildir.list("cur") + maildir.list("new"), [])
        XCTAssertEqual(Set(recorder.expunged), Set(removed))
        // One EXPUNGE, one mod-sequence: the folder's highest, carried by the change.
        XCTAssertEqual(Set(recorder.expungeModSeqs), [folder.snapshot.highestModSeq])
        XCTAssertTrue(folder.snapshot.messages.isEmpty)
        XCTAssertEqual(folder.snapshot.uidNext, StoreUID(4))
    }

    func testOpenMessageReadsAndFollowsRenames() throws {
        let maildir = try TempMaildir()
        try maildir.deliver("cur/1700000000.M1P1.host:2,", "Subject: x\n\nhello\n")
        try maildir.deliver("cur/1700000001.M1P1.host:2,", "")
        let folder = try makeFolder(maildir, files: [])
        try maildir.renameFile("cur/1700000000.M1P1.host:2,", "cur/1700000000.M1P1.host:2,S")
        let file = try XCTUnwrap(try folder.openMessage(StoreUID(1)))
        XCTAssertEqual(file.size, 18)
        XCTAssertEqual(String(decoding: try file.read(offset: 12, count: 100), as: UTF8.self), "hello\n")
        XCTAssertEqual(try file.withMappedBytes { raw, _ in Array(raw.prefix(7)) }, Array("Subject".utf8))
        file.close()
        XCTAssertThrowsError(try file.read(offset: 0, count: 1))
        let empty = try XCTUnwrap(try folder.openMessage(StoreUID(2)))
        XCTAssertEqual(try empty.withMappedBytes { raw, _ in raw.count }, 0)
        XCTAssertEqual(try empty.read(offset: 0, count: 10), [])
        try maildir.remove("cur/1700000001.M1P1.host:2,")
        XCTAssertNil(try folder.openMessage(StoreUID(2)))
        XCTAssertNil(try folder.openMessage(StoreUID(77)))
    }

    func testTwoThreadsStoringConcurrently() throws {
        let maildir = try TempMaildir()
        let files = (0..<40).map { "cur/17000000\(10 + $0).M1P1.host:2," }
        let folder = try makeFolder(maildir, files: files)
        let uids = folder.snapshot.messages.map(\.uid)
        let errors = ErrorBox()
        DispatchQueue.concurrentPerform(iterations: 2) { worker in
            let flag: SystemFlags = worker == 0 ? .seen : .flagged
            let keyword = worker == 0 ? "Even" : "Odd"
            for uid in uids {
                do {
                    _ = try folder.store(.add, flags: MessageFlags(system: flag, keywords: [keyword]), uids: [uid])
                } catch {
                    errors.add(error)
                }
            }
        }
        XCTAssertTrue(errors.isEmpty, "\(errors.all)")
        let names = try maildir.list("cur")
        XCTAssertEqual(names.count, 40)
        for name in names { XCTAssertTrue(name.hasSuffix(":2,FSab"), name) }
        let reopened = try FolderRegistry(logger: testLogger()).open(directory: maildir.root, mailRoot: maildir.root)
        for message in try reopened.synchronize(moveNewToCur: false).messages {
            XCTAssertEqual(message.flags.system, [.seen, .flagged])
            XCTAssertEqual(Set(message.flags.keywords), ["Even", "Odd"])
        }
    }

    func testObserversReceiveEveryKindOfChange() throws {
        let maildir = try TempMaildir()
        let folder = try makeFolder(maildir, files: ["cur/1700000000.M1P1.host:2,"])
        let first = ChangeRecorder()
        let second = ChangeRecorder()
        let token = folder.addObserver(first.callback)
        _ = folder.addObserver(second.callback)
        try maildir.deliver("new/1700000001.M1P1.host")
        _ = try folder.synchronize(moveNewToCur: false)
        _ = try folder.store(.add, flags: MessageFlags(system: .deleted), uids: [StoreUID(1)])
        _ = try folder.expunge([StoreUID(1)])
        folder.removeObserver(token)
        _ = try folder.expunge([StoreUID(2)])
        XCTAssertEqual(first.added, [StoreUID(2)])
        XCTAssertEqual(first.flagChanges.map(\.0), [StoreUID(1)])
        XCTAssertEqual(first.flagChanges.first?.1, MessageFlags(system: .deleted))
        XCTAssertEqual(first.expunged, [StoreUID(1)])
        XCTAssertEqual(second.expunged, [StoreUID(1), StoreUID(2)])
    }

    func testObserverMayReadTheSnapshotWithoutDeadlock() throws {
        let maildir = try TempMaildir()
        let folder = try makeFolder(maildir, files: [])
        let seen = ErrorBox()
        _ = folder.addObserver { _ in seen.add(StoreError.corrupt("count \(folder.snapshot.messages.count)")) }
        try maildir.deliver("new/1700000001.M1P1.host")
        _ = try folder.synchronize(moveNewToCur: false)
        XCTAssertEqual(seen.all.map { "\($0)" }, ["corrupt: count 1"])
    }
}

extension SharedFolderStoreTests {
    func testACallbackThatChangesTheFolderDoesNotDeadlock() throws {
        let maildir = try TempMaildir()
        let folder = try makeFolder(maildir, files: [])
        let recorder = ChangeRecorder()
        _ = folder.addObserver(recorder.callback)
        _ = folder.addObserver { changes in
            for case .added(let records) in changes {
                _ = try? folder.store(.add, flags: MessageFlags(system: .seen), uids: records.map(\.uid))
            }
        }
        try maildir.deliver("new/1700000001.M1P1.host")
        _ = try folder.synchronize(moveNewToCur: false)
        XCTAssertEqual(recorder.added, [StoreUID(1)])
        XCTAssertEqual(recorder.flagChanges.map(\.0), [StoreUID(1)], "delivered after the batch that caused it")
    }

    func testEveryThreadsBatchIsDeliveredBeforeItsCallReturns() throws {
        let maildir = try TempMaildir()
        let files = (0..<30).map { "cur/17000000\(10 + $0).M1P1.host:2," }
        let folder = try makeFolder(maildir, files: files)
        let recorder = ChangeRecorder()
        _ = folder.addObserver(recorder.callback)
        let uids = folder.snapshot.messages.map(\.uid)
        let failures = ErrorBox()
        DispatchQueue.concurrentPerform(iterations: 3) { worker in
            for uid in uids where Int(uid.rawValue) % 3 == worker {
                do {
                    let changed = try folder.store(.add, flags: MessageFlags(system: .flagged), uids: [uid]).changed
                    // Our own change has reached the observer by now.
                    if !recorder.flagChanges.contains(where: { $0.0 == uid }) || changed.count != 1 {
                        failures.add(StoreError.corrupt("uid \(uid) not delivered before return"))
                    }
                } catch {
                    failures.add(error)
                }
            }
        }
        XCTAssertTrue(failures.isEmpty, "\(failures.all)")
        XCTAssertEqual(recorder.flagChanges.map(\.0).sorted(), uids)
    }
}

/// Thread-safe error collection for concurrent tests.
final class ErrorBox: @unchecked Sendable {
    private let lock = NSLock()
    private var errors: [Error] = []
    func add(_ error: Error) {
        lock.lock()
        errors.append(error)
        lock.unlock()
    }
    var all: [Error] {
        lock.lock()
        defer { lock.unlock() }
        return errors
    }
    var isEmpty: Bool { all.isEmpty }
}
