import Foundation
import Synchronization
import XCTest

@testable import MaildirStore

/// Issue 18 item 4: two folders created at the same moment could get the same
/// UIDVALIDITY. Both claimants found no marker, both created marker T (O_CREAT without
/// O_EXCL), and the slower one's rename(T, T+1) replaced the faster one's: both handed
/// out T+1. The allocator now serializes its claimants with flock and moves markers with
/// link + unlink, which never replaces.
final class UIDValidityRaceTests: XCTestCase {
    static let threads = 4
    static let valuesPerClaimant = 10
    static let childProcesses = 3
    static let rootVariable = "IMAPD_UIDVALIDITY_TEST_ROOT"
    static let valuePrefix = "uidvalidity-value "
    static let pollMicroseconds: UInt32 = 1000

    /// Values from `count` threads started together against one mail root.
    static func allocateConcurrently(root: String, threads count: Int, each: Int) -> [Result<UInt32, Error>] {
        let results = Mutex<[Result<UInt32, Error>]>([])
        let started = Mutex(0)
        let finished = DispatchGroup()
        for _ in 0..<count {
            finished.enter()
            Thread {
                defer { finished.leave() }
                started.withLock { $0 += 1 }
                // All threads running before anyone claims: the first claims collide.
                while started.withLock({ $0 }) < count {}
                let allocator = UIDValidityAllocator(mailRoot: root, logger: testLogger())
                for _ in 0..<each {
                    let result = Result { try allocator.next() }
                    results.withLock { $0.append(result) }
                }
            }.start()
        }
        finished.wait()
        return results.withLock { $0 }
    }

    /// The race is at the first claims of a fresh mail root (no marker yet), so many
    /// fresh roots: on the old code some round handed out a value twice.
    func testConcurrentFirstClaimsInManyFreshRootsNeverRepeat() throws {
        for round in 0..<250 {
            let maildir = try TempMaildir()
            let results = Self.allocateConcurrently(root: maildir.root, threads: Self.threads, each: 3)
            let values = try results.map { try $0.get() }
            XCTAssertEqual(values.count, Self.threads * 3)
            XCTAssertEqual(Set(values).count, values.count, "round \(round): \(values.sorted())")
        }
    }

    /// Claims from one process come out strictly increasing. Run by the multi-process
    /// test below as a child, with the shared mail root in the environment; run alone, on
    /// a root of its own.
    func testClaimsOfOneProcessIncrease() throws {
        let own = try TempMaildir()
        let root = ProcessInfo.processInfo.environment[Self.rootVariable] ?? own.root
        if ProcessInfo.processInfo.environment[Self.rootVariable] != nil {
            // Ready, then wait for the parent's go, so the children claim together.
            _ = FileManager.default.createFile(atPath: root + "/ready.\(getpid())", contents: nil)
            let deadline = ContinuousClock.now + .seconds(30)
            while !FileManager.default.fileExists(atPath: root + "/go") && ContinuousClock.now < deadline {
                usleep(Self.pollMicroseconds)
            }
        }
        let allocator = UIDValidityAllocator(mailRoot: root, logger: testLogger())
        var previous: UInt32 = 0
        for _ in 0..<Self.valuesPerClaimant {
            let value = try allocator.next()
            XCTAssertGreaterThan(value, previous)
            previous = value
            print(Self.valuePrefix + String(value))
        }
    }

    /// Several processes (this test binary running the test above) and several threads
    /// of this one claim from the same mail root at once: no value twice.
    func testConcurrentProcessesNeverHandOutTheSameValue() throws {
        let maildir = try TempMaildir()
        var environment = ProcessInfo.processInfo.environment
        environment[Self.rootVariable] = maildir.root
        var children: [(Process, Pipe)] = []
        for _ in 0..<Self.childProcesses {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: CommandLine.arguments[0])
            process.arguments = ["MaildirStoreTests.UIDValidityRaceTests/testClaimsOfOneProcessIncrease"]
            process.environment = environment
            let output = Pipe()
            process.standardOutput = output
            process.standardError = FileHandle.nullDevice
            try process.run()
            children.append((process, output))
        }
        defer { for (process, _) in children where process.isRunning { process.terminate() } }
        let deadline = ContinuousClock.now + .seconds(60)
        while try maildir.list("").filter({ $0.hasPrefix("ready.") }).count < Self.childProcesses {
            XCTAssertLessThan(ContinuousClock.now, deadline, "children did not start")
            if ContinuousClock.now >= deadline { return }
            usleep(Self.pollMicroseconds)
        }
        _ = FileManager.default.createFile(atPath: maildir.path("go"), contents: nil)
        var values = try Self.allocateConcurrently(
            root: maildir.root, threads: 2, each: Self.valuesPerClaimant
        ).map { try $0.get() }
        for (process, output) in children {
            let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            XCTAssertEqual(process.terminationStatus, 0, text)
            let mine = text.split(separator: "\n").compactMap { line -> UInt32? in
                guard let range = line.range(of: Self.valuePrefix) else { return nil }
                return UInt32(line[range.upperBound...])
            }
            XCTAssertEqual(mine.count, Self.valuesPerClaimant, text)
            values += mine
        }
        XCTAssertEqual(values.count, (Self.childProcesses + 2) * Self.valuesPerClaimant)
        XCTAssertEqual(Set(values).count, values.count, "\(values.sorted())")
    }
}
