import Foundation
import XCTest

@testable import MaildirStore

/// SharedFolder.prefetch is advisory: files gone, renamed, or not regular files (a FIFO
/// planted under a message's name) are passed over without blocking or failing, and
/// every message still opens afterwards.
final class PrefetchTests: XCTestCase {
    func testPrefetchPassesOverWhatIsNotAReadableMessageFile() throws {
        let maildir = try TempMaildir()
        for i in 1...6 { try maildir.deliver("cur/170000000\(i).M\(i)P1.host:2,S") }
        let folder = try maildir.openFolder()
        _ = try folder.synchronize(moveNewToCur: false)
        // Behind the folder's back: one file gone, one renamed, one replaced by a FIFO
        // (opening it without O_NONBLOCK would wait for a writer forever).
        try maildir.remove("cur/1700000002.M2P1.host:2,S")
        XCTAssertEqual(
            rename(maildir.path("cur/1700000003.M3P1.host:2,S"), maildir.path("cur/1700000003.M3P1.host:2,FS")), 0)
        try maildir.remove("cur/1700000004.M4P1.host:2,S")
        XCTAssertEqual(mkfifo(maildir.path("cur/1700000004.M4P1.host:2,S"), 0o600), 0)

        let uids: [UInt32] = [1, 2, 3, 4, 5, 6, 99]
        folder.prefetch(uids.map { StoreUID($0) })

        for uid in [1, 5, 6] {
            let file = try XCTUnwrap(try folder.openMessage(StoreUID(UInt32(uid))), "message \(uid)")
            XCTAssertEqual(try file.read(offset: 0, count: 9), Array("Subject: ".utf8))
            file.close()
        }
        // The renamed file is found under its new name; the FIFO is no message.
        XCTAssertNotNil(try folder.openMessage(StoreUID(3)))
        XCTAssertNil(try folder.openMessage(StoreUID(4)))
    }
}
