import XCTest

@testable import MaildirStore

final class SubscriptionsTests: XCTestCase {
    func testV2IsReadAndWrittenBack() throws {
        let maildir = try TempMaildir()
        let golden = try fixture("subscriptions.v2")
        try maildir.write("subscriptions", golden)
        let store = Mailstore(root: maildir.root, logger: testLogger())
        XCTAssertEqual(
            try store.subscriptions(),
            [["INBOX"], ["Sent"], ["Archive", "2024"], ["Entw\u{00FC}rfe"], ["odd\tname"]])
        try store.setSubscribed(["Sent"], true)
        XCTAssertEqual(try maildir.read("subscriptions"), golden, "no change, no rewrite")
        try store.setSubscribed(["Caf\u{00E9}", "Menu"], true)
        XCTAssertEqual(try maildir.read("subscriptions"), golden + Array("Caf&AOk-\tMenu\n".utf8))
        try store.setSubscribed(["Caf\u{00E9}", "Menu"], false)
        XCTAssertEqual(try maildir.read("subscriptions"), golden)
        try store.setSubscribed(["Archive", "2024"], false)
        XCTAssertEqual(try store.subscriptions(), [["INBOX"], ["Sent"], ["Entw\u{00FC}rfe"], ["odd\tname"]])
        XCTAssertFalse(maildir.exists("subscriptions.lock"))
    }

    func testV1IsReadAndKeptAsV1() throws {
        let maildir = try TempMaildir()
        try maildir.write("subscriptions", Array("Sent\nArchive.2024\n\nSent\n".utf8))
        let store = Mailstore(root: maildir.root, logger: testLogger())
        XCTAssertEqual(try store.subscriptions(), [["Sent"], ["Archive", "2024"]])
        try store.setSubscribed(["Trash"], true)
        XCTAssertEqual(
            try maildir.readString("subscriptions"), "Sent\nArchive.2024\nSent\nTrash\n",
            "other lines kept as they were")
    }

    func testNewFileIsV2AndNamesAreValidated() throws {
        let maildir = try TempMaildir()
        let store = Mailstore(root: maildir.root, logger: testLogger())
        XCTAssertEqual(try store.subscriptions(), [])
        try store.setSubscribed(["inbox"], true)
        try store.setSubscribed(["A", "B"], true)
        XCTAssertEqual(try maildir.readString("subscriptions"), "V\t2\n\nINBOX\nA\tB\n")
        XCTAssertThrowsError(try store.setSubscribed([".."], true))
    }
}
