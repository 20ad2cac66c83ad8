import Foundation
import Logging
import XCTest

@testable import MaildirStore

/// Dovecot's quota_rule syntax, the maildirsize format and when it is recalculated.
final class QuotaRuleTests: XCTestCase {
    func testUnitsAndKeys() throws {
        XCTAssertEqual(try QuotaRule.limits(["*:storage=1G"]), QuotaLimits(storageBytes: 1 << 30))
        // `storage` without a unit is KiB, `bytes` without a unit is bytes (Dovecot).
        XCTAssertEqual(try QuotaRule.limits(["*:storage=100"]), QuotaLimits(storageBytes: 102_400))
        XCTAssertEqual(try QuotaRule.limits(["*:bytes=100"]), QuotaLimits(storageBytes: 100))
        XCTAssertEqual(try QuotaRule.limits(["*:bytes=2k"]), QuotaLimits(storageBytes: 2048))
        XCTAssertEqual(try QuotaRule.limits(["*:storage=3M"]), QuotaLimits(storageBytes: 3 << 20))
        XCTAssertEqual(try QuotaRule.limits(["*:storage=1T"]), QuotaLimits(storageBytes: 1 << 40))
        XCTAssertEqual(try QuotaRule.limits(["*:storage=5B"]), QuotaLimits(storageBytes: 5))
        XCTAssertEqual(try QuotaRule.limits(["*:storage=1GB"]), QuotaLimits(storageBytes: 1 << 30))
        XCTAssertEqual(try QuotaRule.limits(["*:messages=10000"]), QuotaLimits(messages: 10000))
        XCTAssertEqual(
            try QuotaRule.limits(["*:storage=1M:messages=5"]), QuotaLimits(storageBytes: 1 << 20, messages: 5))
    }

    func testRulesAccumulateAndZeroIsUnlimited() throws {
        XCTAssertEqual(
            try QuotaRule.limits(["*:storage=1M", "*:messages=7"]), QuotaLimits(storageBytes: 1 << 20, messages: 7))
        XCTAssertEqual(try QuotaRule.limits(["*:storage=1M", "*:storage=0"]), .unlimited)
        XCTAssertEqual(try QuotaRule.limits([]), .unlimited)
        // Dovecot 2.3 keeps the limits with `*:ignore` (doveadm quota get, APPEND refused).
        XCTAssertEqual(try QuotaRule.limits(["*:storage=1M", "*:ignore"]), QuotaLimits(storageBytes: 1 << 20))
        XCTAssertEqual(try QuotaRule.limits(["*:ignore", "*:messages=3"]), QuotaLimits(messages: 3))
    }

    func testRefusedRules() {
        for rule in [
            "Trash:storage=+100M", "INBOX:messages=1", "storage=1G", "*:storage=", "*:storage=1X",
            "*:storage=+1M", "*:storage=-1M", "*:storage=10%", "*:foo=1", "*:storage=1Gx", "*:messages",
            "*:storage=99999999999T",
        ] {
            XCTAssertThrowsError(try QuotaRule.limits([rule]), rule)
        }
        XCTAssertTrue(
            (try? QuotaRule.limits(["Trash:storage=+100M"])) == nil)
    }

    func testUserFieldsReplaceTheDefaultAtTheirPosition() {
        let defaults = ["*:storage=1G", "*:messages=100"]
        XCTAssertEqual(QuotaRule.rules(defaults: defaults, extraFields: [:]), defaults)
        XCTAssertEqual(
            QuotaRule.rules(defaults: defaults, extraFields: ["userdb_quota_rule": "*:storage=2G"]),
            ["*:storage=2G", "*:messages=100"])
        XCTAssertEqual(
            QuotaRule.rules(defaults: defaults, extraFields: ["quota_rule2": "*:messages=5"]),
            ["*:storage=1G", "*:messages=5"])
        XCTAssertEqual(
            QuotaRule.rules(defaults: [], extraFields: ["quota_rule3": "*:messages=5", "quota_rule": "*:bytes=1"]),
            ["*:bytes=1", "*:messages=5"])
        // The userdb_ form wins over the bare one; unrelated fields are ignored.
        XCTAssertEqual(
            QuotaRule.rules(
                defaults: [], extraFields: ["quota_rule": "*:bytes=1", "userdb_quota_rule": "*:bytes=2", "x": "y"]),
            ["*:bytes=2"])
        XCTAssertNil(QuotaRule.position(ofField: "quota_rule1"))
        XCTAssertNil(QuotaRule.position(ofField: "quota_rulex"))
        XCTAssertEqual(QuotaRule.position(ofField: "quota_rule12"), 12)
    }
}

final class MaildirSizeTests: XCTestCase {
    func testLimitsLineAsDovecotWritesIt() {
        XCTAssertEqual(MaildirSizeFormat.limitsLine(QuotaLimits(storageBytes: 102_400, messages: 27)), "102400S,27C")
        XCTAssertEqual(MaildirSizeFormat.limitsLine(QuotaLimits(messages: 27)), "27C")
        XCTAssertEqual(MaildirSizeFormat.limitsLine(.unlimited), "0S")
    }

    func testParse() throws {
        let parsed = try XCTUnwrap(MaildirSizeFormat.parse(Array("102400S,27C\n100 2\n-30 -1\n  7   1\n".utf8)))
        XCTAssertEqual(parsed.limits, QuotaLimits(storageBytes: 102_400, messages: 27))
        XCTAssertEqual(parsed.usage, QuotaUsage(bytes: 77, messages: 2))
        XCTAssertEqual(parsed.deltaLines, 3)
        XCTAssertEqual(MaildirSizeFormat.parse(Array("27C\n".utf8))?.usage, QuotaUsage(bytes: 0, messages: 0))
        XCTAssertEqual(MaildirSizeFormat.parse(Array("0S\n5 1\n9 1".utf8))?.usage, QuotaUsage(bytes: 5, messages: 1))
        for broken in ["", "\n", "garbage\n1 1\n", "27X\n", "10S\n1\n", "10S\n1 x\n", "10S\n\n1 1\n", "S\n"] {
            XCTAssertNil(MaildirSizeFormat.parse(Array(broken.utf8)), broken)
        }
    }

    func testWhenTheFileIsTrusted() {
        let limits = QuotaLimits(storageBytes: 1000, messages: 10)
        let now: Int64 = 1_000_000
        func trusted(_ text: String, age: Int64 = 0, _ l: QuotaLimits = limits) -> QuotaUsage? {
            var bytes = Array(text.utf8)
            if bytes.isEmpty { bytes = [] }
            return Quota.trust(bytes, mtime: now - age, limits: l, now: now)
        }
        XCTAssertEqual(trusted("1000S,10C\n10 1\n20 1\n"), QuotaUsage(bytes: 30, messages: 2))
        XCTAssertNil(trusted("2000S,10C\n10 1\n"), "limits changed")
        XCTAssertNil(trusted("1000S,10C\n10 1\n", QuotaLimits(storageBytes: 1000)), "limits changed")
        // Over quota: only a fresh summary line is trusted.
        XCTAssertEqual(trusted("1000S,10C\n2000 1\n"), QuotaUsage(bytes: 2000, messages: 1))
        XCTAssertNil(trusted("1000S,10C\n2000 1\n", age: 16 * 60))
        XCTAssertNil(trusted("1000S,10C\n1000 1\n1 0\n"))
        // Under quota, age does not matter.
        XCTAssertNotNil(trusted("1000S,10C\n10 1\n", age: 3600))
        let big = "1000S,10C\n" + String(repeating: "1 0\n", count: 1300)
        XCTAssertNil(trusted(big), "larger than 5120 bytes")
    }
}

final class QuotaStoreTests: XCTestCase {
    private func store(_ maildir: TempMaildir) -> Mailstore {
        Mailstore(root: maildir.root, logger: Logger(label: "test"))
    }

    private func contents(_ maildir: TempMaildir) -> String {
        (try? String(contentsOfFile: maildir.path("maildirsize"), encoding: .utf8)) ?? "<missing>"
    }

    func testRecalculationCountsEveryFolderAndSkipsDotFiles() throws {
        let maildir = try TempMaildir()
        try maildir.deliver("cur/1.M1.h,S=100:2,S")
        try maildir.deliver("new/2.M2.h", "12345")
        try maildir.deliver("cur/.hidden", "xxxxxxxx")
        for sub in [".Archive/cur", ".Archive/new", ".Archive/tmp"] { try maildir.makeDirectory(sub) }
        try maildir.deliver(".Archive/cur/3.M3.h,S=7:2,")
        let quota = Quota(store: store(maildir), limits: QuotaLimits(storageBytes: 10_000, messages: 100))
        XCTAssertEqual(try quota.usage(), QuotaUsage(bytes: 112, messages: 3))
        XCTAssertEqual(contents(maildir), "10000S,100C\n112 3\n")
        // Garbage is recalculated; a limits change too.
        try Data("oops\n".utf8).write(to: URL(fileURLWithPath: maildir.path("maildirsize")))
        XCTAssertEqual(try quota.usage(), QuotaUsage(bytes: 112, messages: 3))
        let other = Quota(store: store(maildir), limits: QuotaLimits(messages: 27))
        XCTAssertEqual(try other.usage(), QuotaUsage(bytes: 112, messages: 3))
        XCTAssertEqual(contents(maildir), "27C\n112 3\n")
    }

    func testReserveChecksThenAppendsOneLine() throws {
        let maildir = try TempMaildir()
        let quota = Quota(store: store(maildir), limits: QuotaLimits(storageBytes: 100, messages: 2))
        var saved = 0
        try quota.reserve(bytes: 60, messages: 1) {
            saved += 1
            return ((), QuotaUsage(bytes: 60, messages: 1))
        }
        XCTAssertThrowsError(
            try quota.reserve(bytes: 41, messages: 1) {
                saved += 1
                return ((), QuotaUsage(bytes: 41, messages: 1))
            }
        ) { XCTAssertTrue($0 is Quota.Exceeded) }
        XCTAssertEqual(saved, 1, "the refused save never ran")
        try quota.reserve(bytes: 40, messages: 1) { ((), QuotaUsage(bytes: 40, messages: 1)) }
        quota.record(bytes: -60, messages: -1)
        XCTAssertEqual(contents(maildir), "100S,2C\n0 0\n60 1\n40 1\n-60 -1\n")
        XCTAssertEqual(try quota.usage(), QuotaUsage(bytes: 40, messages: 1))
    }

    func testUnlimitedUserWritesNothing() throws {
        let maildir = try TempMaildir()
        let quota = Quota(store: store(maildir), limits: .unlimited)
        try quota.reserve(bytes: 1 << 40, messages: 1 << 40) { ((), QuotaUsage(bytes: 1, messages: 1)) }
        quota.record(bytes: -1, messages: -1)
        XCTAssertFalse(FileManager.default.fileExists(atPath: maildir.path("maildirsize")))
    }

    /// A FIFO planted at maildirsize: a blocking open(2) would wait for a writer
    /// forever (this test would hang); it is treated as missing and replaced.
    func testPlantedFIFOIsNeverWaitedOn() throws {
        let maildir = try TempMaildir()
        XCTAssertEqual(mkfifo(maildir.path("maildirsize"), 0o600), 0)
        try maildir.deliver("cur/1.M1.h,S=10:2,")
        let quota = Quota(store: store(maildir), limits: QuotaLimits(messages: 5))
        quota.record(bytes: 5, messages: 1)  // an append to a FIFO: skipped, no hang
        XCTAssertEqual(try quota.usage(), QuotaUsage(bytes: 10, messages: 1))
        var st = stat()
        XCTAssertEqual(lstat(maildir.path("maildirsize"), &st), 0)
        XCTAssertEqual(st.st_mode & S_IFMT, S_IFREG)
    }

    /// A symlink planted at maildirsize is never written through.
    func testPlantedSymlinkIsNeverWrittenThrough() throws {
        let maildir = try TempMaildir()
        let victim = maildir.path("victim")
        try Data("27C\n0 0\n".utf8).write(to: URL(fileURLWithPath: victim))
        XCTAssertEqual(symlink(victim, maildir.path("maildirsize")), 0)
        let quota = Quota(store: store(maildir), limits: QuotaLimits(messages: 27))
        quota.record(bytes: 5, messages: 1)
        XCTAssertEqual(try String(contentsOfFile: victim, encoding: .utf8), "27C\n0 0\n")
        try quota.reserve(bytes: 5, messages: 1) { ((), QuotaUsage(bytes: 5, messages: 1)) }
        XCTAssertEqual(try String(contentsOfFile: victim, encoding: .utf8), "27C\n0 0\n")
        XCTAssertEqual(contents(maildir), "27C\n0 0\n5 1\n")
        var st = stat()
        XCTAssertEqual(lstat(maildir.path("maildirsize"), &st), 0)
        XCTAssertEqual(st.st_mode & S_IFMT, S_IFREG)
    }
}
