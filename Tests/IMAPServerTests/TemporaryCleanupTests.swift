import Foundation
import XCTest

/// Issue 18 item 4: tests clean up what they made. TLSTests kept each test's Maildir
/// (with a private key) in an instance variable, which XCTest never frees, so every run
/// left six `imapd-test-*` directories behind. The test binary runs TLSTests as a child
/// process with its own temporary directory, which must be empty afterwards.
final class TemporaryCleanupTests: XCTestCase {
    func testTLSTestsLeaveNothingInTheTemporaryDirectory() throws {
        let scratch = NSTemporaryDirectory() + "imapd-cleanup-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: CommandLine.arguments[0])
        process.arguments = ["IMAPServerTests.TLSTests"]
        var environment = ProcessInfo.processInfo.environment
        environment["TMPDIR"] = scratch
        process.environment = environment
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let log = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0, log)
        XCTAssertTrue(log.contains("Executed 7 tests, with 0 failures"), log)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: scratch), [])
    }
}
