import Synchronization

/// Failed-login penalty, as Dovecot's auth_penalty: each failure from an address (or
/// for a user; the larger count applies) doubles the delay:
/// delay = min(maximum, base × 2^(failures-1)), so 0.5 s, 1 s, 2 s … 15 s; entries
/// expire after 5 minutes without failure; a success for an address clears it.
/// Time is injected so tests need no sleeping.
///
/// Counting per user as well as per address slows a guesser who spreads attempts over
/// many addresses. A success clears both the address's and the user's count, so the
/// real user is not kept waiting after someone else's failed guesses.
///
/// Memory is bounded: expired entries are swept at most once per `forgetAfter`, and
/// when a table still holds `maximumEntries` the longest-quiet entry makes room.
public final class LoginThrottle: Sendable {
    private struct Record {
        var failures: Int
        var lastFailure: ContinuousClock.Instant
    }

    private struct State {
        var byAddress: [String: Record] = [:]
        var byUser: [String: Record] = [:]
        var lastSweep: ContinuousClock.Instant
    }

    /// Entries kept per table (addresses, users) before the oldest is dropped. An
    /// attacker with many addresses (IPv6) could otherwise grow the tables without bound.
    static let defaultMaximumEntries = 100_000
    /// Doubling stops long before this; counting further only risks overflow.
    private static let maximumCountedFailures = 64

    private let base: Duration
    private let maximum: Duration
    private let forgetAfter: Duration
    private let now: @Sendable () -> ContinuousClock.Instant
    private let maximumEntries: Int
    private let state: Mutex<State>

    public convenience init(
        base: Duration = .milliseconds(500), maximum: Duration = .seconds(15),
        forgetAfter: Duration = .seconds(300),
        now: @escaping @Sendable () -> ContinuousClock.Instant = { .now }
    ) {
        self.init(
            base: base, maximum: maximum, forgetAfter: forgetAfter, maximumEntries: Self.defaultMaximumEntries,
            now: now)
    }

    init(
        base: Duration, maximum: Duration, forgetAfter: Duration, maximumEntries: Int,
        now: @escaping @Sendable () -> ContinuousClock.Instant
    ) {
        self.maximumEntries = max(maximumEntries, 1)
        self.base = base
        self.maximum = maximum
        self.forgetAfter = forgetAfter
        self.now = now
        self.state = Mutex(State(lastSweep: now()))
    }

    /// How long to wait before answering a failed attempt from this address/user.
    /// Also records the failure.
    public func delayForFailure(address: String, user: String) -> Duration {
        let instant = now()
        let failures = state.withLock { state -> Int in
            sweepIfDue(&state, at: instant)
            let fromAddress = recordFailure(in: &state.byAddress, key: address, at: instant)
            let forUser = recordFailure(in: &state.byUser, key: user, at: instant)
            return max(fromAddress, forUser)
        }
        return delay(afterFailures: failures)
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

    /// Sizes of the two tables, for tests.
    var entryCounts: (addresses: Int, users: Int) {
        state.withLock { ($0.byAddress.count, $0.byUser.count) }
    }
}
