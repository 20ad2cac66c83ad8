// Latency percentiles and per-command counters of a load run. Pure arithmetic, no
// clock: callers pass nanoseconds.

/// Nearest-rank percentiles over samples (the smallest sample with at least p% of the
/// samples at or below it). No interpolation: every figure reported was observed.
enum Percentile {
    /// `sorted` ascending; `p` in 0...100. Nil for no samples.
    static func nearestRank(_ sorted: [UInt64], _ p: Double) -> UInt64? {
        guard !sorted.isEmpty else { return nil }
        let rank = Int((p / 100 * Double(sorted.count)).rounded(.up))
        return sorted[min(max(rank, 1), sorted.count) - 1]
    }

    /// The median of a few values (rounds of a benchmark): the middle one, or the mean
    /// of the two middle ones.
    static func median(_ values: [Double]) -> Double? {
        guard !values.isEmpty else { return nil }
        let sorted = values.sorted()
        let mid = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
    }
}

/// Count, rate and latency figures of one command kind.
struct CommandSummary: Codable, Equatable, Sendable {
    var command: String
    var count: Int
    var perSecond: Double
    var p50Ms: Double
    var p99Ms: Double
    var maxMs: Double
}

/// Latency samples by command name. Each client keeps its own; they are merged at the end.
struct LatencyRecorder: Sendable {
    private(set) var samples: [String: [UInt64]] = [:]

    mutating func record(_ command: String, nanoseconds: UInt64) {
        samples[command, default: []].append(nanoseconds)
    }

    mutating func merge(_ other: LatencyRecorder) {
        for (command, values) in other.samples { samples[command, default: []].append(contentsOf: values) }
    }

    var total: Int { samples.values.reduce(0) { $0 + $1.count } }

    /// One row per command (sorted by name), rates over `seconds`.
    func summaries(seconds: Double) -> [CommandSummary] {
        samples.keys.sorted().map { command in
            let sorted = samples[command, default: []].sorted()
            return Self.summary(command, sorted: sorted, seconds: seconds)
        }
    }

    /// Every command together.
    func overall(seconds: Double) -> CommandSummary {
        Self.summary("all", sorted: samples.values.flatMap { $0 }.sorted(), seconds: seconds)
    }

    static func summary(_ command: String, sorted: [UInt64], seconds: Double) -> CommandSummary {
        func ms(_ value: UInt64?) -> Double { Double(value ?? 0) / 1e6 }
        return CommandSummary(
            command: command, count: sorted.count, perSecond: seconds > 0 ? Double(sorted.count) / seconds : 0,
            p50Ms: ms(Percentile.nearestRank(sorted, 50)), p99Ms: ms(Percentile.nearestRank(sorted, 99)),
            maxMs: ms(sorted.last))
    }
}
