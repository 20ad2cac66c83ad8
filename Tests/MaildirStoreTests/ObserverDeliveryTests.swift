import Foundation
import XCTest

@testable import MaildirStore

/// A change another thread applied must reach every observer before any later call on
/// the folder returns, even a call that found nothing new itself: a session's NOOP
/// synchronizes, then drains its inbox, and must see a delivery the inotify watcher's
/// synchronize took in just before (it is in the snapshot already).
final class ObserverDeliveryTests: XCTestCase {
    func testASynchronizeThatFindsNothingWaitsForTheDeliveryInFlight() throws {
        let maildir = try TempMaildir()
        let folder = try maildir.openFolder()
        let inFirstObserver = DispatchSemaphore(value: 0)
        let secondCallReturned = DispatchSemaphore(value: 0)
        let noopDone = DispatchSemaphore(value: 0)
        let heardAtReturn = Shared<Bool?>(nil)
        let session = ChangeRecorder()
        // The delivery of the batch is held up (as by a busy thread) before it reaches
        // the session's inbox, while another thread synchronizes.
        _ = folder.addObserver { changes in
            inFirstObserver.signal()
            // Deadline only: the fixed code keeps the second call waiting until this
            // delivery finished, the old one let it return at once.
            _ = secondCallReturned.wait(timeout: .now() + 1)
            session.callback(changes)
        }

        let watcher = Thread {
            _ = try? folder.synchronize(moveNewToCur: false)
        }
        try maildir.deliver("new/1700000001.M1P1.host")
        watcher.start()
        inFirstObserver.wait()
        let noop = Thread {
            _ = try? folder.synchronize(moveNewToCur: false)
            heardAtReturn.set(!session.added.isEmpty)
            secondCallReturned.signal()
            noopDone.signal()
        }
        noop.start()
        XCTAssertEqual(noopDone.wait(timeout: .now() + 30), .success)
        XCTAssertEqual(heardAtReturn.value, true, "the second call returned before its observers heard of the delivery")
        XCTAssertEqual(session.added, [StoreUID(1)])
    }
}

/// A value shared between threads.
final class Shared<Value: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: Value
    init(_ value: Value) { stored = value }
    var value: Value {
        lock.lock()
        defer { lock.unlock() }
        return stored
    }
    func set(_ value: Value) {
        lock.lock()
        stored = value
        lock.unlock()
    }
}
