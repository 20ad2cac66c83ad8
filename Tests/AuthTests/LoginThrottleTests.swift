import Synchronization
import XCTest

@testable import Auth

final class LoginThrottleTests: XCTestCase {
    private let clock = TestClock()

    private func makeThrottle() -> LoginThrottle {
        LoginThrottle(now: clock.source)
    }

    func testDelayDoublesUpToTheCap() {
        let throttle = makeThrottle()
        let delays = (0..<8).map { _ in throttle.delayForFailure(address: "192.0.2.1", user: "tim") }
        XCTAssertEqual(
            delays,
            [
                .milliseconds(500), .seconds(1), .seconds(2), .seconds(4), .seconds(8), .seconds(15), .seconds(15),
                .seconds(15),
            ])
    }

    func testManyFailuresStayAtTheCap() {
        let throttle = makeThrottle()
        var last = Duration.zero
        for _ in 0..<500 { last = throttle.delayForFailure(address: "a", user: "u") }
        XCTAssertEqual(last, .seconds(15))
        XCTAssertEqual(throttle.failureCounts(address: "a", user: "u").address, 64)
    }

    func testLargerOfAddressAndUserCountApplies() {
        let throttle = makeThrottle()
        // Three failures for "tim" from different addresses.
        _ = throttle.delayForFailure(address: "a1", user: "tim")
        _ = throttle.delayForFailure(address: "a2", user: "tim")
        _ = throttle.delayForFailure(address: "a3", user: "tim")
        // A new address guessing tim: the user count (4) wins.
        XCTAssertEqual(throttle.delayForFailure(address: "a4", user: "tim"), .seconds(4))
        // The same new address guessing someone else: its own count (2) applies.
        XCTAssertEqual(throttle.delayForFailure(address: "a4", user: "kurt"), .seconds(1))
    }

    func testEntriesExpireAfterQuietPeriod() {
        let throttle = makeThrottle()
        _ = throttle.delayForFailure(address: "a", user: "u")
        _ = throttle.delayForFailure(address: "a", user: "u")
        clock.advance(by: .seconds(299))
        XCTAssertEqual(throttle.delayForFailure(address: "a", user: "u"), .seconds(2), "still remembered")
        clock.advance(by: .seconds(300))
        XCTAssertEqual(throttle.failureCounts(address: "a", user: "u").address, 0)
        XCTAssertEqual(throttle.delayForFailure(address: "a", user: "u"), .milliseconds(500), "forgotten")
    }

    func testSuccessClearsAddressAndUser() {
        let throttle = makeThrottle()
        for _ in 0..<4 { _ = throttle.delayForFailure(address: "a", user: "u") }
        throttle.recordSuccess(address: "a", user: "u")
        XCTAssertEqual(throttle.failureCounts(address: "a", user: "u").address, 0)
        XCTAssertEqual(throttle.failureCounts(address: "a", user: "u").user, 0)
        XCTAssertEqual(throttle.delayForFailure(address: "a", user: "u"), .milliseconds(500))
    }

    func testSuccessElsewhereDoesNotClearOtherAddresses() {
        let throttle = makeThrottle()
        for _ in 0..<3 { _ = throttle.delayForFailure(address: "attacker", user: "x") }
        throttle.recordSuccess(address: "friend", user: "y")
        XCTAssertEqual(throttle.delayForFailure(address: "attacker", user: "z"), .seconds(4))
    }

    func testCustomParameters() {
        let throttle = LoginThrottle(
            base: .seconds(1), maximum: .seconds(3), forgetAfter: .seconds(10), now: clock.source)
        XCTAssertEqual(throttle.delayForFailure(address: "a", user: "u"), .seconds(1))
        XCTAssertEqual(throttle.delayForFailure(address: "a", user: "u"), .seconds(2))
        XCTAssertEqual(throttle.delayForFailure(address: "a", user: "u"), .seconds(3))
        clock.advance(by: .seconds(10))
        XCTAssertEqual(throttle.delayForFailure(address: "a", user: "u"), .seconds(1))
    }

    func testDelayFormula() {
        let throttle = makeThrottle()
        XCTAssertEqual(throttle.delay(afterFailures: 0), .zero)
        XCTAssertEqual(throttle.delay(afterFailures: 1), .milliseconds(500))
        XCTAssertEqual(throttle.delay(afterFailures: 5), .seconds(8))
        XCTAssertEqual(throttle.delay(afterFailures: Int.max), .seconds(15))
        let free = LoginThrottle(base: .zero, now: clock.source)
        XCTAssertEqual(free.delayForFailure(address: "a", user: "u"), .zero)
    }

    func testExpiredEntriesAreSwept() {
        let throttle = makeThrottle()
        for index in 0..<100 { _ = throttle.delayForFailure(address: "a\(index)", user: "u\(index)") }
        clock.advance(by: .seconds(301))
        // This call sweeps; the old entries are gone even when queried without the clock check.
        _ = throttle.delayForFailure(address: "new", user: "new")
        XCTAssertEqual(throttle.entryCounts.addresses, 1)
        XCTAssertEqual(throttle.entryCounts.users, 1)
    }
}

final class LoginThrottleCapacityTests: XCTestCase {
    func testTablesAreBoundedAndDropTheOldest() {
        let clock = TestClock()
        let throttle = LoginThrottle(
            base: .milliseconds(500), maximum: .seconds(15), forgetAfter: .seconds(300), maximumEntries: 3,
            now: clock.source)
        for index in 0..<3 {
            _ = throttle.delayForFailure(address: "a\(index)", user: "u")
            clock.advance(by: .seconds(1))
        }
        _ = throttle.delayForFailure(address: "a3", user: "u")
        XCTAssertEqual(throttle.entryCounts.addresses, 3)
        XCTAssertEqual(throttle.failureCounts(address: "a0", user: "u").address, 0, "oldest dropped")
        XCTAssertEqual(throttle.failureCounts(address: "a1", user: "u").address, 1)
        XCTAssertEqual(throttle.failureCounts(address: "a3", user: "u").address, 1)
        // Known keys keep counting without evicting anything.
        XCTAssertEqual(throttle.delayForFailure(address: "a3", user: "u"), .seconds(8), "user count is 5")
        XCTAssertEqual(throttle.entryCounts.addresses, 3)
    }
}

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

/// Issue 11 item 12: the penalty is enforced before the password is checked, so
/// attempts sent in parallel from one address are checked one per penalty.
final class LoginThrottleAttemptTests: XCTestCase {
    private final class Counter: Sendable {
        private let value = Mutex(0)
        func increment() { value.withLock { $0 += 1 } }
        var current: Int { value.withLock { $0 } }
    }

    private func waitUntil(_ condition: () -> Bool) -> Bool {
        let deadline = ContinuousClock.now + .seconds(10)
        while ContinuousClock.now < deadline {
            if condition() { return true }
            usleep(1000)
        }
        return condition()
    }

    func testParallelFailuresFromOneAddressAreCheckedOnePerPenalty() async {
        let sleeper = GatedSleeper()
        let throttle = LoginThrottle(sleep: sleeper.sleep)
        let attempts = 40
        let checked = Counter()
        let finished = Counter()
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<attempts {
                group.addTask {
                    await throttle.attempt(address: "192.0.2.7", user: "tim") { () -> (LoginThrottle.Outcome, Void) in
                        checked.increment()
                        return (.failed, ())
                    }
                    finished.increment()
                }
            }
            // At rest, every attempt is finished, sleeping (its penalty, or the user's)
            // or waiting for its turn; nothing can move until a sleep ends.
            let atRest = {
                finished.current + sleeper.waiting + throttle.waitingAttempts(address: "192.0.2.7") == attempts
            }
            XCTAssertTrue(waitUntil(atRest))
            // At most the first few were checked together (while the address had no
            // failure yet); the others wait for the penalty.
            let firstWave = checked.current
            XCTAssertTrue((1...LoginThrottle.concurrentAttemptsPerAddress).contains(firstWave), "\(firstWave)")
            XCTAssertEqual(finished.current, 0, "no answer before the penalty")
            var released = 0
            while finished.current < attempts {
                sleeper.releaseAll()
                released += 1
                XCTAssertTrue(waitUntil(atRest))
                // Each round of penalties lets exactly one more attempt be checked.
                XCTAssertLessThanOrEqual(checked.current, firstWave + released)
                guard released < 2 * attempts else { return XCTFail("attempts do not finish") }
            }
        }
        XCTAssertEqual(checked.current, attempts)
        XCTAssertEqual(throttle.failureCounts(address: "192.0.2.7", user: "tim").address, attempts)
        XCTAssertEqual(throttle.entryCounts.turns, 0, "no turn-taking state left behind")
    }

    func testSuccessAndAbandonedAttempts() async {
        let sleeper = GatedSleeper()
        let throttle = LoginThrottle(sleep: sleeper.sleep)
        // A clean address: nothing waits, nothing is counted.
        let first: Int = await throttle.attempt(address: "a", user: "u") { (.succeeded, 1) }
        let second: Int = await throttle.attempt(address: "a", user: "u") { (.abandoned, 2) }
        XCTAssertEqual([first, second], [1, 2])
        XCTAssertEqual(sleeper.waiting, 0)
        XCTAssertEqual(throttle.failureCounts(address: "a", user: "u").address, 0)
        XCTAssertEqual(throttle.entryCounts.turns, 0)
    }

    /// Another address guessing the same user waits for the user's penalty, but does
    /// not queue behind the first address's attempts.
    func testUserPenaltyDelaysOtherAddressesWithoutQueueing() async {
        let sleeper = GatedSleeper()
        let throttle = LoginThrottle(sleep: sleeper.sleep)
        let checked = Counter()
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                await throttle.attempt(address: "a", user: "u") { () -> (LoginThrottle.Outcome, Void) in (.failed, ()) }
            }
            XCTAssertTrue(waitUntil { sleeper.waiting == 1 })  // serving its penalty
            group.addTask {
                await throttle.attempt(address: "b", user: "u") { () -> (LoginThrottle.Outcome, Void) in
                    checked.increment()
                    return (.succeeded, ())
                }
            }
            XCTAssertTrue(waitUntil { sleeper.waiting == 2 })  // waits for the user's penalty
            XCTAssertEqual(checked.current, 0)
            XCTAssertEqual(throttle.waitingAttempts(address: "b"), 0)
            sleeper.releaseAll()
            XCTAssertTrue(waitUntil { checked.current == 1 })
        }
        // Its success clears the user's count.
        XCTAssertEqual(throttle.failureCounts(address: "b", user: "u").user, 0)
    }

    /// nginx's Auth-Wait (issue 17): the answer delay comes back instead of being slept,
    /// but the address keeps its turn for its penalty, so its next attempt is checked
    /// only after it.
    func testDeferredAnswerReturnsTheDelayAndKeepsTheTurn() async {
        let sleeper = GatedSleeper()
        let throttle = LoginThrottle(sleep: sleeper.sleep)
        let first = await throttle.attemptDeferringAnswer(address: "a", user: "u") { (.failed, 1) }
        XCTAssertEqual(first.value, 1)
        XCTAssertEqual(first.answerDelay, .milliseconds(500))
        // Returned at once; the turn is held by the background penalty.
        XCTAssertTrue(waitUntil { sleeper.waiting == 1 })
        let checked = Counter()
        await withTaskGroup(of: Duration.self) { group in
            group.addTask {
                await throttle.attemptDeferringAnswer(address: "a", user: "v") { () -> (LoginThrottle.Outcome, Void) in
                    checked.increment()
                    return (.failed, ())
                }.answerDelay
            }
            XCTAssertTrue(waitUntil { throttle.waitingAttempts(address: "a") == 1 })
            XCTAssertEqual(checked.current, 0, "checked only after the first attempt's penalty")
            sleeper.releaseAll()
            let second = await group.next()
            XCTAssertEqual(second, .seconds(1), "the address's second failure")
        }
        XCTAssertEqual(checked.current, 1)
        let success = await throttle.attemptDeferringAnswer(address: "b", user: "w") { (.succeeded, 3) }
        XCTAssertEqual(success.answerDelay, .zero)
        XCTAssertEqual(throttle.failureCounts(address: "a", user: "u").address, 2)
    }
}
