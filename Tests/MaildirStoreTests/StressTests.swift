import Foundation
import XCTest

@testable import MaildirStore

/// Several "processes" (registries that share nothing but the disk) delivering,
/// appending, flagging, expunging and synchronizing one folder at once must agree on
/// every UID (no message may be skipped over and later "reappear" with a new UID).
final class StressTests: XCTestCase {
    func testThreeWritersAgreeOnEveryUID() throws {
        let maildir = try TempMaildir()
        let workers = 3
        let perWorker = 25
        let folders = try (0..<workers).map { _ in
            try FolderRegistry(logger: testLogger()).open(directory: maildir.root, mailRoot: maildir.root)
        }
        let errors = ErrorBox()
        let expunged = ErrorBox()
        DispatchQueue.concurrentPerform(iterations: workers) { worker in
            let folder = folders[worker]
            for i in 0..<perWorker {
                do {
                    if worker == 2 && i % 2 == 0 {
                        let transaction = try folder.beginAppend()
                        try transaction.write(Array("Subject: appended \(i)\n\nbody\n".utf8))
                        _ = try folder.commitAppend(transaction, flags: MessageFlags(system: .draft), internalDate: nil)
                    } else {
                        try maildir.deliver("new/\(1_700_000_000 + i).M\(worker)P1.host")
                    }
                    let snapshot = try folder.synchronize(moveNewToCur: i % 3 == 0)
                    guard let uid = snapshot.messages.last?.uid else { continue }
                    if i % 4 == 0 {
                        _ = try folder.store(.add, flags: MessageFlags(system: .seen), uids: [uid])
                    }
                    if worker == 0 && i % 5 == 4 {
                        for gone in try folder.expunge([uid]) { expunged.add(StoreError.corrupt("\(gone)")) }
                    }
                } catch {
                    errors.add(error)
                }
            }
        }
        XCTAssertTrue(errors.isEmpty, "\(errors.all)")
        for folder in folders { XCTAssertEqual(folder.invariantViolations(), []) }
        let views = try folders.map { try $0.synchronize(moveNewToCur: false).messages }
        XCTAssertEqual(views[0].count, workers * perWorker - expunged.all.count)
        XCTAssertEqual(views[0].count, try maildir.list("cur").count + maildir.list("new").count)
        for view in views.dropFirst() {
            XCTAssertEqual(view.map(\.uid), views[0].map(\.uid))
            XCTAssertEqual(view.map(\.baseName), views[0].map(\.baseName))
            XCTAssertEqual(view.map(\.flags), views[0].map(\.flags))
        }
        let parse = UIDListParser.parse(try maildir.read("dovecot-uidlist"))
        XCTAssertTrue(parse.damagedLines.isEmpty)
        XCTAssertEqual(Set(parse.records.map(\.baseName)).count, parse.records.count, "one record per file")
        // A restart sees the same UIDs.
        let restarted = try FolderRegistry(logger: testLogger()).open(directory: maildir.root, mailRoot: maildir.root)
        XCTAssertEqual(restarted.snapshot.messages.map(\.uid), views[0].map(\.uid))
    }
}
