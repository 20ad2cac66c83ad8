import Foundation
import MaildirStore
import Synchronization
import XCTest

@testable import IMAPServer

/// The inbox a folder's observer fills for one session, and the IDLE wake-up it calls.
final class ChangeInboxTests: XCTestCase {
    /// One IDLE that sees many deliveries: every push wakes the session once, and a
    /// wake-up costs the same after thousands of them. (A closure kept bare in the
    /// Mutex gained two reabstraction thunks per push; on a thread with a small stack
    /// the chain overflowed it.)
    func testEveryPushWakesOnceAndWakeUpsDoNotDeepen() throws {
        let pushes = 20_000
        let inbox = ChangeInbox()
        let wakes = Atomic<Int>(0)
        inbox.setWaker { wakes.add(1, ordering: .relaxed) }
        let drained = Atomic<Int>(0)
        let done = DispatchSemaphore(value: 0)
        // A small stack, as a cooperative-pool thread has: a deepening call chain
        // would crash here rather than pass slowly.
        let thread = Thread {
            for i in 0..<pushes {
                inbox.push([.keywordsChanged(["k\(i % 7)"])])
                if i % 100 == 99 { drained.add(inbox.drain().count, ordering: .relaxed) }
            }
            done.signal()
        }
        thread.stackSize = 256 * 1024
        thread.start()
        XCTAssertEqual(done.wait(timeout: .now() + 120), .success)
        XCTAssertEqual(wakes.load(ordering: .relaxed), pushes)
        XCTAssertEqual(drained.load(ordering: .relaxed), pushes)
        XCTAssertTrue(inbox.isEmpty)

        inbox.setWaker(nil)
        inbox.push([.keywordsChanged([])])
        XCTAssertEqual(wakes.load(ordering: .relaxed), pushes, "no wake-up after IDLE ended")
        XCTAssertEqual(inbox.drain().count, 1)
    }
}
