import Foundation
import LogCapture
import Logging
import XCTest

@testable import Auth

final class PasswdDatabaseTests: XCTestCase {
    private var directory: TemporaryDirectory!
    private var path: String!
    private let clock = TestClock()
    private let recorder = LogCapture()

    override func setUpWithError() throws {
        directory = try TemporaryDirectory()
        path = directory.path("passwd")
    }

    override func tearDown() {
        directory.remove()
    }

    private func write(_ text: String) throws {
        try write(text.bytes)
    }

    private func write(_ bytes: [UInt8]) throws {
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    }

    /// Writes a new file and renames it over the old one, as editors and scripts do.
    private func replace(_ text: String) throws {
        let temporary = path + ".tmp"
        try Data(text.utf8).write(to: URL(fileURLWithPath: temporary))
        XCTAssertEqual(rename(temporary, path), 0)
    }

    private func openDatabase() throws -> PasswdDatabase {
        try PasswdDatabase(path: path, logger: recorder.logger(), checkInterval: .seconds(1), now: clock.source)
    }

    private func assertLogsHoldNoSecrets(_ secrets: [String], file: StaticString = #filePath, line: UInt = #line) {
        for record in recorder.records {
            for secret in secrets {
                XCTAssertFalse(record.rendered.contains(secret), record.rendered, file: file, line: line)
            }
        }
    }

    func testLookupAndVerify() throws {
        try write(
            "# test users\n"
                + "tim:{SHA512-CRYPT}\(CryptVerificationTests.sha512):1000:1000::/home/tim::\n"
                + "kurt:{PLAIN}xipj3plmq:1001:1001::/home/kurt\n")
        let database = try openDatabase()
        XCTAssertEqual(database.entry(for: "tim")?.home, "/home/tim")
        XCTAssertNil(database.entry(for: "Tim"), "user names are case-sensitive")
        XCTAssertEqual(database.verify(user: "tim", password: "secret".bytes)?.uid, 1000)
        XCTAssertNil(database.verify(user: "tim", password: "wrong".bytes))
        XCTAssertEqual(database.verify(user: "kurt", password: "xipj3plmq".bytes)?.user, "kurt")
        XCTAssertNil(database.verify(user: "kurt", password: "xipj3plm".bytes))
        XCTAssertNil(database.verify(user: "nobody", password: "secret".bytes))
        XCTAssertEqual(database.plaintextUsers, ["kurt"])
        XCTAssertEqual(database.userCount, 2)
        assertLogsHoldNoSecrets(["xipj3plmq", "$6$abc", "secret"])
    }

    func testMissingFileThrowsCannotRead() {
        XCTAssertThrowsError(try openDatabase()) { error in
            guard case AuthError.cannotRead(let failedPath, let code) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(failedPath, path)
            XCTAssertEqual(code, ENOENT)
        }
    }

    func testDirectoryThrowsCannotRead() {
        XCTAssertThrowsError(
            try PasswdDatabase(path: directory.url.path, logger: recorder.logger())
        ) { error in
            guard case AuthError.cannotRead = error else { return XCTFail("\(error)") }
        }
    }

    func testInvalidFileAtStartThrowsSyntaxError() throws {
        try write("u:{PLAIN}hunter2\n:{PLAIN}x\n")
        XCTAssertThrowsError(try openDatabase()) { error in
            XCTAssertEqual(
                error as? PasswdFileSyntaxError,
                PasswdFileSyntaxError(path: path, line: 2, reason: "has an empty user name"))
            XCTAssertFalse("\(error)".contains("hunter2"))
        }
    }

    func testReloadAfterChangeOnlyOncePerInterval() throws {
        try write("a:{PLAIN}one\n")
        let database = try openDatabase()
        XCTAssertNotNil(database.verify(user: "a", password: "one".bytes))

        try write("a:{PLAIN}two\nb:{PLAIN}three\n")
        // Within the interval the file is not looked at.
        clock.advance(by: .milliseconds(999))
        XCTAssertNil(database.entry(for: "b"))
        XCTAssertNotNil(database.verify(user: "a", password: "one".bytes))

        clock.advance(by: .milliseconds(1))
        XCTAssertNotNil(database.entry(for: "b"))
        XCTAssertNil(database.verify(user: "a", password: "one".bytes))
        XCTAssertNotNil(database.verify(user: "a", password: "two".bytes))
        XCTAssertTrue(recorder.records.contains { $0.message == "passwd file reloaded" && $0.metadata["users"] == "2" })
    }

    func testReloadAfterRenameOverTheFile() throws {
        try write("a:{PLAIN}one\n")
        let database = try openDatabase()
        // Same size as before: only the inode tells the versions apart.
        try replace("a:{PLAIN}two\n")
        clock.advance(by: .seconds(2))
        XCTAssertNotNil(database.verify(user: "a", password: "two".bytes))
        XCTAssertNil(database.verify(user: "a", password: "one".bytes))
    }

    func testUnchangedFileIsNotReread() throws {
        try write("a:{PLAIN}one\n")
        let database = try openDatabase()
        clock.advance(by: .seconds(5))
        XCTAssertNotNil(database.entry(for: "a"))
        XCTAssertFalse(recorder.records.contains { $0.message == "passwd file reloaded" })
    }

    func testBrokenReloadKeepsOldDataUntilFixed() throws {
        try write("a:{PLAIN}one\n")
        let database = try openDatabase()

        try replace("a:{PLAIN}two\nb:{PLAIN}hunter2:not-a-uid\n")
        clock.advance(by: .seconds(1))
        XCTAssertNotNil(database.verify(user: "a", password: "one".bytes), "old data kept")
        XCTAssertNil(database.entry(for: "b"))
        let errors = recorder.records.filter { $0.level == .error }
        XCTAssertEqual(errors.count, 1)
        XCTAssertEqual(errors.first?.metadata["line"], "2")

        // The broken version is not re-parsed (nor re-logged) every second.
        clock.advance(by: .seconds(1))
        XCTAssertNotNil(database.entry(for: "a"))
        XCTAssertEqual(recorder.records.filter { $0.level == .error }.count, 1)

        try replace("a:{PLAIN}three\n")
        clock.advance(by: .seconds(1))
        XCTAssertNotNil(database.verify(user: "a", password: "three".bytes))
        assertLogsHoldNoSecrets(["hunter2", "one", "two", "three"])
    }

    func testInvalidUTF8ReloadKeepsOldData() throws {
        try write("a:{PLAIN}one\n")
        let database = try openDatabase()
        try write("a:{PLAIN}".bytes + [0xC3, 0x28] + "\n".bytes)
        clock.advance(by: .seconds(1))
        XCTAssertNotNil(database.verify(user: "a", password: "one".bytes))
    }

    func testDeletedFileKeepsOldDataAndReappearingFileLoads() throws {
        try write("a:{PLAIN}one\n")
        let database = try openDatabase()
        XCTAssertEqual(unlink(path), 0)
        clock.advance(by: .seconds(1))
        XCTAssertNotNil(database.verify(user: "a", password: "one".bytes))
        XCTAssertEqual(recorder.records.filter { $0.level == .error }.count, 1)
        clock.advance(by: .seconds(1))
        _ = database.entry(for: "a")
        XCTAssertEqual(recorder.records.filter { $0.level == .error }.count, 1, "logged once, not every second")

        try write("a:{PLAIN}four\n")
        clock.advance(by: .seconds(1))
        XCTAssertNotNil(database.verify(user: "a", password: "four".bytes))
    }

    func testForcedReloadIgnoresInterval() throws {
        try write("a:{PLAIN}one\n")
        let database = try openDatabase()
        try write("a:{PLAIN}two2\n")
        database.reloadIfChanged()
        XCTAssertNotNil(database.verify(user: "a", password: "two2".bytes))
    }

    func testSkippedLinesAreLoggedByNumberOnly() throws {
        try write("a:{PLAIN}one\nhunter2 was here\n")
        _ = try openDatabase()
        let warnings = recorder.records.filter { $0.level == .warning }
        XCTAssertEqual(warnings.map(\.message), ["passwd file line 2 has no ':' and is ignored"])
        assertLogsHoldNoSecrets(["hunter2", "one"])
    }

    func testUnsupportedSchemeIsLoggedOnce() throws {
        try write("a:{SSHA}c2VjcmV0c2FsdA==\nb:{SHA512-CRYPT}$6\n")
        let database = try openDatabase()
        XCTAssertNil(database.verify(user: "a", password: "secret".bytes))
        XCTAssertNil(database.verify(user: "a", password: "secret".bytes))
        XCTAssertNil(database.verify(user: "b", password: "secret".bytes))
        let warnings = recorder.records.filter { $0.level == .warning }
        // At load, by line number (issue 13 item 2), then once at the first login.
        XCTAssertEqual(warnings.count, 3)
        XCTAssertEqual(
            warnings.first?.message,
            "passwd file line 1 uses the unsupported password scheme {SSHA}; that user cannot log in")
        XCTAssertEqual(warnings.dropFirst().first?.metadata["scheme"], "SSHA")
        XCTAssertEqual(warnings.dropFirst().first?.metadata["user"], "a")
        assertLogsHoldNoSecrets(["c2VjcmV0c2FsdA==", "secret"])
    }

    func testConcurrentVerifiesAndReloads() async throws {
        try write("a:{SHA256-CRYPT}\(CryptVerificationTests.sha256)\n")
        let database = try openDatabase()
        let clock = self.clock
        let results = await withTaskGroup(of: Bool.self) { group in
            for index in 0..<8 {
                group.addTask {
                    if index % 2 == 0 { clock.advance(by: .seconds(1)) }
                    return database.verify(user: "a", password: "secret".bytes) != nil
                }
            }
            return await group.reduce(into: [Bool]()) { $0.append($1) }
        }
        XCTAssertEqual(results, Array(repeating: true, count: 8))
    }
}
