import Foundation
import LogCapture
import XCTest

@testable import Auth

final class ShardMapTests: XCTestCase {
    private func parse(_ text: String) -> Result<ShardMap, ShardMap.Failure> {
        ShardMap.parse(Array(text.utf8))
    }

    private func map(_ text: String) throws -> ShardMap {
        try parse(text).get()
    }

    private let a = ShardMap.Backend(host: "10.0.0.11", port: 143)
    private let b = ShardMap.Backend(host: "10.0.0.12", port: 1143)

    func testExactNamesPatternsCommentsAndBlankLines() throws {
        let shards = try map(
            """
            # users of backend b
            alice   10.0.0.12:1143   # moved on 2026-12-01
            \t
            *@example.org\t10.0.0.12:1143
            b?b     10.0.0.12:1143
            *       10.0.0.11:143

            """)
        XCTAssertEqual(shards.count, 4)
        XCTAssertEqual(shards.backend(for: "alice"), .found(b))
        XCTAssertEqual(shards.backend(for: "tim@example.org"), .found(b))
        XCTAssertEqual(shards.backend(for: "bob"), .found(b))
        XCTAssertEqual(shards.backend(for: "bobby"), .found(a), "? is exactly one character")
        XCTAssertEqual(shards.backend(for: "Alice"), .found(a), "case-sensitive like passwd-file names")
    }

    func testExactNameWinsOverAnEarlierPatternAndFirstPatternWins() throws {
        let shards = try map(
            """
            *            10.0.0.11:143
            *@corp.test  10.0.0.12:1143
            ann@corp.test 10.0.0.12:1143
            """)
        XCTAssertEqual(shards.backend(for: "ann@corp.test"), .found(b), "exact beats the earlier *")
        XCTAssertEqual(shards.backend(for: "joe@corp.test"), .found(a), "first matching pattern wins")
    }

    func testNoMatchAndEmptyMap() throws {
        XCTAssertEqual(try map("alice 10.0.0.11:143\n").backend(for: "bob"), .none)
        XCTAssertEqual(try map("# nothing yet\n").backend(for: "bob"), .none)
        XCTAssertEqual(try map("").count, 0)
    }

    func testPasswdFieldTakesPrecedence() throws {
        let shards = try map("alice 10.0.0.11:143\n")
        XCTAssertEqual(shards.backend(for: "alice", passwdField: "10.0.0.12:1143"), .found(b))
        XCTAssertEqual(shards.backend(for: "alice", passwdField: "mail.example.org:143"), .invalidPasswdField)
    }

    func testIPv6Backends() throws {
        let shards = try map("* [2001:db8::11]:143\n")
        XCTAssertEqual(shards.backend(for: "x"), .found(ShardMap.Backend(host: "2001:db8::11", port: 143)))
        XCTAssertEqual(ShardMap.Backend(host: "2001:db8::11", port: 143).description, "[2001:db8::11]:143")
    }

    func testMalformedLinesAreRefusedWithTheirLineNumber() {
        let cases: [(String, Int)] = [
            ("alice\n", 1),  // no backend
            ("ok 10.0.0.1:143\nalice 10.0.0.11:143 extra\n", 2),  // three fields
            ("alice mail.example.org:143\n", 1),  // host names are not resolved by nginx
            ("alice 10.0.0.11\n", 1),  // no port
            ("alice 10.0.0.11:0\n", 1),
            ("alice 10.0.0.11:65536\n", 1),
            ("alice 10.0.0.11:+143\n", 1),
            ("alice 2001:db8::1:143\n", 1),  // IPv6 needs brackets
            ("alice [10.0.0.11]:143\n", 1),
            ("alice 10.0.0.11:143\n\nalice 10.0.0.12:143\n", 3),  // the same user twice
        ]
        for (text, line) in cases {
            guard case .failure(let failure) = parse(text) else {
                XCTFail("accepted: \(text.debugDescription)")
                continue
            }
            XCTAssertEqual(failure.line, line, text.debugDescription)
        }
        guard case .failure = ShardMap.parse([0x61, 0x20, 0xff]) else { return XCTFail("invalid UTF-8 accepted") }
    }

    func testGlob() {
        XCTAssertTrue(ShardMap.glob("*", matches: ""))
        XCTAssertTrue(ShardMap.glob("*@example.org", matches: "a@example.org"))
        XCTAssertFalse(ShardMap.glob("*@example.org", matches: "a@example.org.evil"))
        XCTAssertTrue(ShardMap.glob("a*b*c", matches: "aXbYbZc"))
        XCTAssertFalse(ShardMap.glob("a*b*c", matches: "aXbYbZ"))
        // A long name against a pattern with many stars stays quick (no backtracking blow-up).
        XCTAssertFalse(
            ShardMap.glob(String(repeating: "*a", count: 50) + "b", matches: String(repeating: "a", count: 5000)))
    }
}

final class ShardMapFileTests: XCTestCase {
    private var directory: TemporaryDirectory!
    private var path: String!
    private let recorder = LogCapture()

    override func setUpWithError() throws {
        directory = try TemporaryDirectory()
        path = directory.path("shards")
    }

    override func tearDown() {
        directory.remove()
    }

    /// Writes a new file and renames it over the old one: the way to change the map.
    private func replace(_ text: String) throws {
        let temporary = path + ".tmp"
        try Data(text.utf8).write(to: URL(fileURLWithPath: temporary))
        XCTAssertEqual(rename(temporary, path), 0)
    }

    private func backend(_ file: ShardMapFile, _ user: String) -> String? {
        guard case .found(let backend) = file.current.backend(for: user) else { return nil }
        return backend.description
    }

    func testReloadsWhenTheFileChanges() throws {
        try replace("bob 10.0.0.12:143\n* 10.0.0.11:143\n")
        let file = try ShardMapFile(path: path, logger: recorder.logger())
        XCTAssertEqual(backend(file, "bob"), "10.0.0.12:143")
        // Same size: only the inode (rename) tells the versions apart.
        try replace("bob 10.0.0.11:143\n* 10.0.0.11:143\n")
        XCTAssertEqual(backend(file, "bob"), "10.0.0.11:143", "moved at the next lookup")
        XCTAssertEqual(recorder.count("shard map reloaded", level: .notice), 1)
        _ = file.current
        XCTAssertEqual(recorder.count("shard map reloaded", level: .notice), 1, "unchanged file not re-read")
    }

    func testMalformedReloadKeepsTheLastGoodMapAndWarnsOnce() throws {
        try replace("bob 10.0.0.12:143\n")
        let file = try ShardMapFile(path: path, logger: recorder.logger())
        try replace("bob 10.0.0.11:143\nbroken\n")
        XCTAssertEqual(backend(file, "bob"), "10.0.0.12:143", "last good map kept")
        XCTAssertEqual(backend(file, "bob"), "10.0.0.12:143")
        let warnings = recorder.records.filter { $0.level == .warning }
        XCTAssertEqual(warnings.count, 1, "\(recorder.all)")
        XCTAssertEqual(warnings.first?.metadata["line"], "2")
        try replace("bob 10.0.0.11:143\n")
        XCTAssertEqual(backend(file, "bob"), "10.0.0.11:143", "fixed file taken")
    }

    func testRemovedFileKeepsTheLastGoodMap() throws {
        try replace("bob 10.0.0.12:143\n")
        let file = try ShardMapFile(path: path, logger: recorder.logger())
        XCTAssertEqual(unlink(path), 0)
        XCTAssertEqual(backend(file, "bob"), "10.0.0.12:143")
        XCTAssertEqual(backend(file, "bob"), "10.0.0.12:143")
        XCTAssertEqual(recorder.count("cannot examine shard map", level: .warning), 1)
    }

    func testStartUpErrors() throws {
        XCTAssertThrowsError(try ShardMapFile(path: path, logger: recorder.logger())) { error in
            XCTAssertEqual(error as? ShardMapError, .cannotRead(path: path, errno: ENOENT))
        }
        try replace("ok 10.0.0.1:143\nbob\n")
        XCTAssertThrowsError(try ShardMapFile(path: path, logger: recorder.logger())) { error in
            guard case .invalid(_, let failure)? = error as? ShardMapError else { return XCTFail("\(error)") }
            XCTAssertEqual(failure.line, 2)
        }
    }
}
