import Synchronization

/// Failed-login penalty, after Dovecot's auth_penalty, applied across connections.
///
/// Counting: each failure from an address, and for a user, is counted; entries expire
/// after 5 minutes without failure; a success clears the address's and the user's
/// count. The penalty of n failures is min(maximum, base × 2^(n-1)): 0.5 s, 1 s, 2 s …
/// 15 s.
///
/// Enforcing (`attempt`): a penalty that only delays the answer does not slow a client
/// that sends its guesses in parallel (40 at once from one address were all answered
/// within 15 s). So the wait comes before the password is checked:
/// - Per address, attempts take turns: at most `concurrentAttemptsPerAddress` are
///   checked at once while the address has no recent failure (an office behind one NAT
///   address logging in at 9:00), one at a time once it has; a failed attempt keeps its
///   turn for the address's penalty before the next waiting attempt is checked. One
///   address therefore gets one guess per penalty, however many connections it opens.
/// - Per user, an attempt waits until the penalty of the user's last failure has run
///   out, without queueing behind other attempts: guesses spread over many addresses
///   slow down, and the real user never waits more than `maximum` for them.
/// - The answer to a failed attempt comes after the larger of the two penalties.
///
/// Memory is bounded: expired entries are swept at most once per `forgetAfter`, and
/// when a table still holds `maximumEntries` the longest-quiet entry makes room; an
/// address's turn-taking state exists only while it has attempts running or waiting.
/// Time and sleeping are injected so tests need no real waiting.
public final class LoginThrottle: Sendable {
    private struct Record {
        var failures: Int
        var lastFailure: ContinuousClock.Instant
    }

    /// The attempts of one address now being checked (or serving a penalty), and
    /// those waiting for their turn, first come first served.
    private struct Turns {
        var running = 0
        var waiting: [CheckedContinuation<Void, Never>] = []
    }

    private struct State {
        var byAddress: [String: Record] = [:]
        var byUser: [String: Record] = [:]
        var turns: [String: Turns] = [:]
        var lastSweep: ContinuousClock.Instant
    }

    /// How an attempt ended, as the caller reports it to `attempt`.
    public enum Outcome: Sendable {
        case succeeded
        case failed
        /// Not checked (the connection closed while it waited): neither counted nor
        /// penalized.
        case abandoned
    }

    /// Entries kept per table (addresses, users) before the oldest is dropped. An
    /// attacker with many addresses (IPv6) could otherwise grow the tables without bound.
    static let defaultMaximumEntries = 100_000
    /// Attempts from one address checked at once while it has no recent failure: a
    /// password check is 2–200 ms of one thread, so a burst of logins from a shared
    /// address is not serialized, but a burst of guesses earns the penalty after this
    /// many.
    public static let concurrentAttemptsPerAddress = 4
    /// Doubling stops long before this; counting further only risks overflow.
    private static let maximumCountedFailures = 64

    private let base: Duration
    private let maximum: Duration
    private let forgetAfter: Duration
    private let now: @Sendable () -> ContinuousClock.Instant
    private let sleep: @Sendable (Duration) async -> Void
    private let maximumEntries: Int
    private let state: Mutex<State>

    public convenience init(
        base: Duration = .milliseconds(500), maximum: Duration = .seconds(15),
        forgetAfter: Duration = .seconds(300),
        now: @escaping @Sendable () -> ContinuousClock.Instant = { .now },
        sleep: @escaping @Sendable (Duration) async -> Void = { try? await Task.sleep(for: $0) }
    ) {
        self.init(
            base: base, maximum: maximum, forgetAfter: forgetAfter, maximumEntries: Self.defaultMaximumEntries,
            now: now, sleep: sleep)
    }

    init(
        base: Duration, maximum: Duration, forgetAfter: Duration, maximumEntries: Int,
        now: @escaping @Sendable () -> ContinuousClock.Instant,
        sleep: @escaping @Sendable (Duration) async -> Void = { try? await Task.sleep(for: $0) }
    ) {
        self.maximumEntries = max(maximumEntries, 1)
        self.base = base
        self.maximum = maximum
        self.forgetAfter = forgetAfter
        self.now = now
        self.sleep = sleep
        self.state = Mutex(State(lastSweep: now()))
    }

    // MARK: - Attempts

    /// Runs one login attempt: waits for the user's penalty and the address's turn,
    /// runs `check` (which verifies the password and says how that went), then applies
    /// the penalty of a failure before returning `check`'s value. Runs on the caller's
    /// actor, so `check` may use the caller's state.
    public func attempt<T>(
        address: String, user: String, isolation: isolated (any Actor)? = #isolation,
        _ check: () async -> (Outcome, T)
    ) async -> T {
        let userWait = state.withLock { state in remainingPenalty(state.byUser[user], at: now()) }
        if userWait > .zero { await sleep(userWait) }
        await takeTurn(address: address)
        let (outcome, value) = await check()
        switch outcome {
        case .succeeded:
            recordSuccess(address: address, user: user)
            endTurn(address: address)
        case .abandoned:
            endTurn(address: address)
        case .failed:
            let (addressPenalty, answerDelay) = recordFailure(address: address, user: user)
            // The turn is kept for the address's own penalty: the next attempt from
            // this address is checked only after it.
            await sleep(addressPenalty)
            endTurn(address: address)
            if answerDelay > addressPenalty { await sleep(answerDelay - addressPenalty) }
        }
        return value
    }

    /// As `attempt`, for a caller whose client does the final waiting itself (nginx's
    /// auth_http `Auth-Wait`, issue 17): the user's penalty and the address's turn are
    /// waited for as in `attempt`, but the delay before a failure's answer is returned
    /// rather than slept (zero after a success). The address keeps its turn for its
    /// penalty all the same (released in the background), so an address still gets one
    /// guess per penalty however many proxied connections it opens.
    public func attemptDeferringAnswer<T>(
        address: String, user: String, isolation: isolated (any Actor)? = #isolation,
        _ check: () async -> (Outcome, T)
    ) async -> (value: T, answerDelay: Duration) {
        let userWait = state.withLock { state in remainingPenalty(state.byUser[user], at: now()) }
        if userWait > .zero { await sleep(userWait) }
        await takeTurn(address: address)
        let (outcome, value) = await check()
        switch outcome {
        case .succeeded:
            recordSuccess(address: address, user: user)
            endTurn(address: address)
            return (value, .zero)
        case .abandoned:
            endTurn(address: address)
            return (value, .zero)
        case .failed:
            let (addressPenalty, answerDelay) = recordFailure(address: address, user: user)
            Task { [self] in
                await sleep(addressPenalty)
                endTurn(address: address)
            }
            return (value, answerDelay)
        }
    }

    private func takeTurn(address: String) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let admitted = state.withLock { state -> Bool in
                var turns = state.turns[address, default: Turns()]
                if turns.waiting.isEmpty && turns.running < capacity(state, address) {
                    turns.running += 1
                    state.turns[address] = turns
                    return true
                }
                turns.waiting.append(continuation)
                state.turns[address] = turns
                return false
            }
            if admitted { continuation.resume() }
        }
    }

    /// Ends a turn and starts the waiting attempts that now fit, in arrival order.
    private func endTurn(address: String) {
        let admitted = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            guard var turns = state.turns[address] else { return [] }
            turns.running -= 1
            var admitted: [CheckedContinuation<Void, Never>] = []
            let limit = capacity(state, address)
            while !turns.waiting.isEmpty && turns.running < limit {
                admitted.append(turns.waiting.removeFirst())
                turns.running += 1
            }
            state.turns[address] = turns.running == 0 && turns.waiting.isEmpty ? nil : turns
            return admitted
        }
        for continuation in admitted { continuation.resume() }
    }

    /// Attempts from `address` that may be checked at once.
    private func capacity(_ state: State, _ address: String) -> Int {
        isRecent(state.byAddress[address], at: now()) ? 1 : Self.concurrentAttemptsPerAddress
    }

    private func isRecent(_ record: Record?, at instant: ContinuousClock.Instant) -> Bool {
        guard let record else { return false }
        return instant - record.lastFailure < forgetAfter
    }

    /// What is left at `instant` of the penalty of `record`'s last failure.
    private func remainingPenalty(_ record: Record?, at instant: ContinuousClock.Instant) -> Duration {
        guard let record, isRecent(record, at: instant) else { return .zero }
        let left = record.lastFailure + delay(afterFailures: record.failures) - instant
        return max(left, .zero)
    }

    // MARK: - Counting

    /// Records a failure for the address and the user. Returns the address's penalty
    /// and the delay before the answer (the larger of the two penalties).
    func recordFailure(address: String, user: String) -> (address: Duration, answer: Duration) {
        let instant = now()
        let (fromAddress, forUser) = state.withLock { state -> (Int, Int) in
            sweepIfDue(&state, at: instant)
            let fromAddress = recordFailure(in: &state.byAddress, key: address, at: instant)
            let forUser = recordFailure(in: &state.byUser, key: user, at: instant)
            return (fromAddress, forUser)
        }
        return (delay(afterFailures: fromAddress), delay(afterFailures: max(fromAddress, forUser)))
    }

    /// Records a failure; returns how long to wait before answering it.
    public func delayForFailure(address: String, user: String) -> Duration {
        recordFailure(address: address, user: user).answer
    }

    public func recordSuccess(address: String, user: String) {
        state.withLock { state in
            state.byAddress[address] = nil
            state.byUser[user] = nil
        }
    }

    /// base × 2^(failures-1), capped at `maximum`, computed by doubling so it never
    /// overflows.
    func delay(afterFailures failures: Int) -> Duration {
        guard failures > 0, base > .zero else { return .zero }
        var delay = base
        var counted = 1
        while counted < failures && delay < maximum {
            delay = delay * 2
            counted += 1
        }
        return min(delay, maximum)
    }

    /// Adds a failure for `key`, starting again from 1 when the previous one is older
    /// than `forgetAfter`; returns the count including this failure.
    private func recordFailure(
        in table: inout [String: Record], key: String, at instant: ContinuousClock.Instant
    ) -> Int {
        var record = Record(failures: 0, lastFailure: instant)
        if let existing = table[key], instant - existing.lastFailure < forgetAfter {
            record.failures = existing.failures
        } else if table[key] == nil && table.count >= maximumEntries {
            Self.dropOldest(from: &table)
        }
        record.failures = min(record.failures + 1, Self.maximumCountedFailures)
        record.lastFailure = instant
        table[key] = record
        return record.failures
    }

    /// O(n), only reached when a table is full of entries younger than `forgetAfter`.
    private static func dropOldest(from table: inout [String: Record]) {
        guard let oldest = table.min(by: { $0.value.lastFailure < $1.value.lastFailure }) else { return }
        table[oldest.key] = nil
    }

    private func sweepIfDue(_ state: inout State, at instant: ContinuousClock.Instant) {
        guard instant - state.lastSweep >= forgetAfter else { return }
        state.lastSweep = instant
        state.byAddress = state.byAddress.filter { instant - $0.value.lastFailure < forgetAfter }
        state.byUser = state.byUser.filter { instant - $0.value.lastFailure < forgetAfter }
    }

    /// Failures currently counted for an address and for a user (0 when expired or
    /// unknown), for tests and diagnostics.
    public func failureCounts(address: String, user: String) -> (address: Int, user: Int) {
        let instant = now()
        return state.withLock { state in
            func live(_ record: Record?) -> Int {
                guard let record, instant - record.lastFailure < forgetAfter else { return 0 }
                return record.failures
            }
            return (live(state.byAddress[address]), live(state.byUser[user]))
        }
    }

    /// Attempts from `address` waiting for their turn, for tests.
    public func waitingAttempts(address: String) -> Int {
        state.withLock { $0.turns[address]?.waiting.count ?? 0 }
    }

    /// Sizes of the two tables, and addresses with attempts running or waiting, for tests.
    var entryCounts: (addresses: Int, users: Int, turns: Int) {
        state.withLock { ($0.byAddress.count, $0.byUser.count, $0.turns.count) }
    }
}
