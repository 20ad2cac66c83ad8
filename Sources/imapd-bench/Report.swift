// `imapd-bench report`: gathers the JSON results of a compare.sh run, takes the median
// of each metric over the rounds for each server, and prints the ratio table (markdown)
// with issue 6's targets.
import ArgumentParser
import FoundationEssentials

/// A target of issue 6 for one metric.
enum Target: Equatable, Sendable {
    /// Ours at least this many times better than theirs.
    case ratioAtLeast(Double)
    /// Ours at most this value (in the metric's unit).
    case oursAtMost(Double)

    var text: String {
        switch self {
        case .ratioAtLeast(let r): return "≥ \(Table.format(r))×"
        case .oursAtMost(let v): return "≤ \(Table.format(v))"
        }
    }

    func met(ours: Double, ratio: Double?) -> Bool {
        switch self {
        case .ratioAtLeast(let r): return (ratio ?? 0) >= r
        case .oursAtMost(let v): return ours <= v
        }
    }

    /// Issue 6's (and 15's) targets, by scenario prefix (a-10 and a-50 are both "a") and metric.
    static func of(scenario: String, metric: String) -> Target? {
        // Issue 12: (a)'s open-loop runs ("a-10@800": the same offered load on both
        // servers) compare latency; ours at or below Dovecot's.
        if scenario.hasPrefix("a"), scenario.contains("@") {
            switch metric {
            case "p50", "p99": return .ratioAtLeast(1)
            case "errors": return .oursAtMost(0)
            default: return nil
            }
        }
        switch (scenario.prefix(1), metric) {
        case ("a", "commands/s"): return .ratioAtLeast(1.5)
        case ("a", "errors"): return .oursAtMost(0)
        case ("b", "cold SELECT+FETCH"), ("b", "warm SELECT+FETCH"): return .ratioAtLeast(3)
        // Issue 15: SORT and THREAD at least twice Dovecot's speed cold and warm, the
        // newest ENVELOPE page after a restart faster than Dovecot's.
        case ("b", "cold UID SORT"), ("b", "warm UID SORT"), ("b", "cold UID THREAD"), ("b", "warm UID THREAD"):
            return .ratioAtLeast(2)
        case ("b", let name) where name.hasPrefix("cold UID FETCH") && name.hasSuffix("(ENVELOPE)"):
            return .ratioAtLeast(1)
        case ("c", "memory per session (PSS)"): return .ratioAtLeast(10)
        case ("d", "delivery->EXISTS p99"): return .oursAtMost(50)
        // "Flat in message size": a tenth of the 50 MB message at most.
        case ("e", "FETCH peak RSS growth"), ("e", "APPEND peak RSS growth"): return .oursAtMost(5)
        // Issue 12: stalled readers cost the victim at most twice its time without them.
        case ("f", "victim slowdown, 8 slow readers"), ("f", "victim slowdown, 64 slow readers"):
            return .oursAtMost(2)
        default: return nil
        }
    }
}

struct ReportRow: Codable, Equatable, Sendable {
    var scenario: String
    var metric: String
    var unit: String
    var ours: Double?
    var theirs: Double?
    /// How many times better ours is (theirs/ours for lower-is-better), nil without both.
    var ratio: Double?
    var target: String?
    var met: Bool?
    var rounds: Int
}

enum Ratio {
    static func of(ours: Double, theirs: Double, better: Better) -> Double? {
        switch better {
        case .higher: return theirs > 0 ? ours / theirs : nil
        // Ours at 0: no finite ratio (and JSON has no infinity).
        case .lower: return ours > 0 ? theirs / ours : nil
        }
    }

    /// One row per (scenario, metric), in the order first seen (results of one scenario
    /// and round in the order given: compare.sh's file names order (b)'s phases); medians
    /// over rounds.
    static func rows(_ results: [ScenarioResult], ours: String, theirs: String) -> [ReportRow] {
        var order: [String] = []
        var values: [String: (Metric, [String: [Double]], String)] = [:]
        let ordered = results.enumerated().sorted {
            ($0.element.scenario, $0.element.round, $0.offset) < ($1.element.scenario, $1.element.round, $1.offset)
        }
        for result in ordered.map(\.element) {
            for metric in result.metrics {
                let key = result.scenario + "\u{0}" + metric.name
                if values[key] == nil {
                    order.append(key)
                    values[key] = (metric, [:], result.scenario)
                }
                values[key]?.1[result.server, default: []].append(metric.value)
            }
        }
        return order.compactMap { key in
            guard let (metric, byServer, scenario) = values[key] else { return nil }
            let mine = byServer[ours].flatMap(Percentile.median)
            let other = byServer[theirs].flatMap(Percentile.median)
            let ratio = mine.flatMap { m in other.flatMap { Ratio.of(ours: m, theirs: $0, better: metric.better) } }
            let target = Target.of(scenario: scenario, metric: metric.name)
            return ReportRow(
                scenario: scenario, metric: metric.name, unit: metric.unit, ours: mine, theirs: other, ratio: ratio,
                target: target?.text, met: mine.flatMap { m in target?.met(ours: m, ratio: ratio) },
                rounds: max(byServer[ours]?.count ?? 0, byServer[theirs]?.count ?? 0))
        }
    }

    static func markdown(_ rows: [ReportRow], ours: String, theirs: String) -> String {
        var out = "| scenario | metric | \(ours) | \(theirs) | ours better by | target | met |\n"
        out += "|---|---|---:|---:|---:|---|---|\n"
        for row in rows {
            let unit = row.unit.isEmpty ? "" : " " + row.unit
            out += "| \(row.scenario) | \(row.metric) | \(row.ours.map { Table.format($0) + unit } ?? "-") | "
            out +=
                "\(row.theirs.map { Table.format($0) + unit } ?? "-") | \(row.ratio.map { Table.format($0) + "×" } ?? "-") | "
            out += "\(row.target ?? "") | \(row.met.map { $0 ? "yes" : "**no**" } ?? "") |\n"
        }
        return out
    }
}

struct Report: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Ratio table (markdown and JSON) from a directory of scenario results.")

    @Option(help: "Directory of result JSON files.") var results: String
    @Option(help: "Our server's label.") var ours = "imapd-maildir"
    @Option(help: "The reference server's label.") var theirs = "dovecot"
    @Option(help: "Write the markdown table here.") var markdown: String?
    @Option(help: "Write the rows as JSON here.") var json: String?

    func run() throws {
        var all: [ScenarioResult] = []
        for name in try FileIO.list(results) where name.hasSuffix(".json") {
            all.append(try ScenarioResult.decode(try FileIO.read(results + "/" + name)))
        }
        let rows = Ratio.rows(all, ours: ours, theirs: theirs)
        let table = Ratio.markdown(rows, ours: ours, theirs: theirs)
        Console.out(table)
        let errors = all.filter { $0.server == ours }.reduce(0) { $0 + $1.errors }
        let theirErrors = all.filter { $0.server == theirs }.reduce(0) { $0 + $1.errors }
        Console.out("\nerrors over all runs: \(ours) \(errors), \(theirs) \(theirErrors)\n")
        if let markdown { try FileIO.write(table, to: markdown) }
        if let json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try FileIO.write(Array(try encoder.encode(rows)), to: json, exclusive: false)
        }
    }
}
