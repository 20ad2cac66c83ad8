import Foundation
import Synchronization
import XCTest

@testable import Auth
@testable import IMAPServer

/// Sleeping the test controls: every sleep waits until `releaseAll()`.
final class GatedSleeper: Sendable {
    private let sleepers = Mutex<[CheckedContinuation<Void, Never>]>([])

    var sleep: @Sendable (Duration) async -> Void {
        { [self] _ in
            await withCheckedContinuation { continuation in sleepers.withLock { $0.append(continuation) } }
        }
    }

    var waiting: Int { sleepers.withLock { $0.count } }

    func releaseAll() {
        for continuation in sleepers.withLock({ all in
            defer { all = [] }; return all
        }) { continuation.resume() }
    }
}

/// Issue 11 item 12: 40 wrong LOGINs sent in parallel from one address were all
/// answered within 15 s (about 3 guesses a second): the penalty delayed each answer
/// but not the next check. Now the attempts of an address take turns and a failure
/// keeps the turn for its penalty. The throttle's sleeping is in the test's hands, so
/// this counts checks (recorded failures) against answers, without timing anything.
final class LoginThrottleServerTests: XCTestCase {
    private final class Counter: Sendable {
        private let value = Mutex(0)
        func increment() { value.withLock { $0 += 1 } }
        var current: Int { value.withLock { $0 } }
    }

    func testParallelWrongLoginsFromOneAddressAreCheckedOneAtATime() async throws {
        let sleeper = GatedSleeper()
        let throttle = LoginThrottle(sleep: sleeper.sleep)
        let server = try await startServer(throttle: throttle)
        let attempts = 40
        let answered = Counter()
        let refused = Counter()
        let port = server.port
        for _ in 0..<attempts {
            Thread {
                guard let client = try? TestClient(port: port),
                    let reply = try? client.command("LOGIN alice wrong-\(UUID().uuidString)")
                else { return }
                answered.increment()
                if reply.tagged.contains("NO [AUTHENTICATIONFAILED]") { refused.increment() }
            }.start()
        }
        let address = "127.0.0.1"
        var failures: Int { throttle.failureCounts(address: address, user: "alice").address }
        // At rest every attempt is answered, sleeping (a penalty) or waiting for its
        // turn: nothing moves until the test ends a sleep.
        let atRest = {
            answered.current + sleeper.waiting + throttle.waitingAttempts(address: address) == attempts
        }
        XCTAssertTrue(pollUntil(atRest))
        let firstWave = failures
        XCTAssertTrue((1...LoginThrottle.concurrentAttemptsPerAddress).contains(firstWave), "\(firstWave) checked")
        XCTAssertEqual(answered.current, 0, "nothing is answered before its penalty")
        var rounds = 0
        while answered.current < attempts && rounds < 2 * attempts {
            sleeper.releaseAll()
            rounds += 1
            XCTAssertTrue(pollUntil(atRest))
            // One more password check per round of penalties, however many wait.
            XCTAssertLessThanOrEqual(failures, firstWave + rounds)
        }
        XCTAssertEqual(answered.current, attempts)
        XCTAssertEqual(refused.current, attempts)
        XCTAssertEqual(failures, attempts)
        // The right password still works (after the penalty), and clears the count.
        let client = try server.connect()
        client.sendRaw("ok LOGIN alice secret\r\n")
        XCTAssertTrue(pollUntil { sleeper.waiting == 1 })
        sleeper.releaseAll()
        XCTAssertTrue(try client.collect(tag: "ok").ok)
        XCTAssertEqual(failures, 0)
    }
}
