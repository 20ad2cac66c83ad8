import Foundation
import XCTest

@testable import MaildirStore

final class MailstoreTests: XCTestCase {
    func testDirectoryForComponents() throws {
        let store = Mailstore(root: "/var/mail/u/", logger: testLogger())
        XCTAssertEqual(store.root, "/var/mail/u")
        XCTAssertEqual(try store.directory(for: ["INBOX"]), "/var/mail/u")
        XCTAssertEqual(try store.directory(for: ["inbox"]), "/var/mail/u")
        XCTAssertEqual(try store.directory(for: ["Archive", "2024"]), "/var/mail/u/.Archive.2024")
        XCTAssertEqual(try store.directory(for: ["Entw\u{00FC}rfe"]), "/var/mail/u/.Entw&APw-rfe")
        XCTAssertEqual(try store.directory(for: ["inbox", "Sub"]), "/var/mail/u/.INBOX.Sub")
        XCTAssertEqual(try store.directory(for: ["A&B"]), "/var/mail/u/.A&-B")
    }

    func testTraversalAndBadNamesAreRefused() {
        let store = Mailstore(root: "/var/mail/u", logger: testLogger())
        let bad: [[String]] = [
            [], [""], ["."], [".."], ["a", ".."], ["a/b"], ["../x"], ["a\u{0}b"], ["a\nb"], ["a\u{7F}"],
            [".hidden"], ["~user"], ["a.b"], [String(repeating: "x", count: 256)],
            [String(repeating: "\u{00E9}", count: 100)],
            Array(repeating: String(repeating: "y", count: 200), count: 30),
        ]
        for components in bad {
            XCTAssertThrowsError(try store.directory(for: components), "\(components)") { error in
                guard case StoreError.invalidName = error else { return XCTFail("\(error)") }
            }
        }
    }

    func testListFolders() throws {
        let maildir = try TempMaildir()
        let store = Mailstore(root: maildir.root, logger: testLogger())
        try store.createFolder(["Sent"])
        try store.createFolder(["Archive", "2024"])
        try store.createFolder(["Entw\u{00FC}rfe"])
        try maildir.makeDirectory(".Parent.Child/cur")
        try maildir.makeDirectory(".Parent")  // exists but has no cur/: not selectable
        try maildir.makeDirectory("..DOVECOT-TRASHED/cur")
        try maildir.makeDirectory(".bad&-utf7&/cur")
        try maildir.write("dovecot-uidlist", [])
        try maildir.write("subscriptions", [])
        try maildir.write(".notadir", [])
        let folders = try store.listFolders()
        XCTAssertEqual(
            folders.map(\.components),
            [
                ["INBOX"], ["Archive"], ["Archive", "2024"], ["Entw\u{00FC}rfe"], ["Parent"], ["Parent", "Child"],
                ["Sent"],
            ])
        let byName = Dictionary(uniqueKeysWithValues: folders.map { ($0.components.joined(separator: "/"), $0) })
        XCTAssertEqual(byName["INBOX"]?.directory, maildir.root)
        XCTAssertEqual(byName["Archive"]?.isSelectable, false)
        XCTAssertEqual(byName["Archive"]?.hasChildren, true)
        XCTAssertEqual(byName["Archive"]?.directory, maildir.path(".Archive"))
        XCTAssertEqual(byName["Archive/2024"]?.isSelectable, true)
        XCTAssertEqual(byName["Archive/2024"]?.hasChildren, false)
        XCTAssertEqual(byName["Parent"]?.isSelectable, false)
        XCTAssertEqual(byName["Parent"]?.hasChildren, true)
        XCTAssertEqual(byName["Sent"]?.isSelectable, true)
        XCTAssertTrue(maildir.exists(".Sent/maildirfolder"))
        XCTAssertTrue(maildir.exists(".Sent/tmp"))
    }

    func testExistingFolderAndSymlinkEscape() throws {
        let maildir = try TempMaildir()
        let outside = try TempMaildir()
        let store = Mailstore(root: maildir.root, logger: testLogger())
        XCTAssertEqual(try store.existingFolder(["INBOX"]), maildir.root)
        try store.createFolder(["Real"])
        XCTAssertEqual(try store.existingFolder(["Real"]), maildir.path(".Real"))
        XCTAssertThrowsError(try store.existingFolder(["Missing"])) { error in
            guard case StoreError.nonexistent = error else { return XCTFail("\(error)") }
        }
        try maildir.makeDirectory(".OnlyParent")
        XCTAssertThrowsError(try store.existingFolder(["OnlyParent"])) { error in
            guard case StoreError.nonexistent = error else { return XCTFail("\(error)") }
        }
        XCTAssertEqual(symlink(outside.root, maildir.path(".Evil")), 0)
        XCTAssertThrowsError(try store.existingFolder(["Evil"])) { error in
            guard case StoreError.invalidName = error else { return XCTFail("\(error)") }
        }
        try maildir.makeDirectory(".Sneaky")
        XCTAssertEqual(symlink(outside.path("cur"), maildir.path(".Sneaky/cur")), 0)
        XCTAssertThrowsError(try store.existingFolder(["Sneaky"])) { error in
            guard case StoreError.invalidName = error else { return XCTFail("\(error)") }
        }
        // A symlink that stays inside the root is fine.
        XCTAssertEqual(symlink(maildir.path(".Real"), maildir.path(".Alias")), 0)
        XCTAssertEqual(try store.existingFolder(["Alias"]), maildir.path(".Alias"))
        let listed = try store.listFolders().map { $0.components.joined(separator: "/") }
        XCTAssertFalse(listed.contains("Evil"))
        XCTAssertTrue(listed.contains("Alias"))
    }

    func testCreateDeleteRename() throws {
        let maildir = try TempMaildir()
        let store = Mailstore(root: maildir.root, logger: testLogger())
        try store.createFolder(["A"])
        try store.createFolder(["A", "B"])
        XCTAssertThrowsError(try store.createFolder(["a"].map { $0.uppercased() })) { error in
            guard case StoreError.alreadyExists = error else { return XCTFail("\(error)") }
        }
        XCTAssertThrowsError(try store.createFolder(["INBOX"]))
        try maildir.deliver(".A/cur/1700000000.M1P1.host:2,S")
        try store.renameFolder(["A"], to: ["Z"])
        XCTAssertTrue(maildir.exists(".Z/cur/1700000000.M1P1.host:2,S"))
        XCTAssertTrue(maildir.exists(".Z.B/maildirfolder"))
        XCTAssertFalse(maildir.exists(".A"))
        XCTAssertThrowsError(try store.renameFolder(["Z"], to: ["Z", "Inner"]))
        try store.createFolder(["Y"])
        XCTAssertThrowsError(try store.renameFolder(["Z"], to: ["Y"])) { error in
            guard case StoreError.alreadyExists = error else { return XCTFail("\(error)") }
        }
        try store.deleteFolder(["Z"])
        XCTAssertFalse(maildir.exists(".Z"))
        XCTAssertTrue(maildir.exists(".Z.B"), "children survive; Z lists as \\Noselect")
        XCTAssertEqual(try maildir.list("tmp"), [])
        XCTAssertThrowsError(try store.deleteFolder(["Z"])) { error in
            guard case StoreError.nonexistent = error else { return XCTFail("\(error)") }
        }
        XCTAssertThrowsError(try store.deleteFolder(["INBOX"]))
        // Deleting a symlinked folder removes only the link.
        let outside = try TempMaildir()
        XCTAssertEqual(symlink(outside.root, maildir.path(".Link")), 0)
        try store.deleteFolder(["Link"])
        XCTAssertTrue(outside.exists("cur"))
    }

    func testCreateIfMissing() throws {
        let maildir = try TempMaildir()
        let store = Mailstore(root: maildir.path("deep/user/Maildir"), logger: testLogger())
        XCTAssertFalse(store.exists)
        try store.createIfMissing()
        XCTAssertTrue(store.exists)
        XCTAssertTrue(maildir.exists("deep/user/Maildir/tmp"))
        try store.createIfMissing()
        XCTAssertThrowsError(try Mailstore(root: maildir.path("nope"), logger: testLogger()).listFolders())
    }
}
