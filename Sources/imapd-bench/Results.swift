// What every scenario run writes: one JSON file per run (server, scenario, round),
// later gathered by `imapd-bench report` into the ratio table.
import ArgumentParser
import FoundationEssentials

enum Better: String, Codable, Sendable {
    case higher, lower
}

struct Metric: Codable, Equatable, Sendable {
    var name: String
    var value: Double
    var unit: String
    var better: Better
}

struct ScenarioResult: Codable, Sendable {
    var scenario: String
    var server: String
    var round: Int
    var metrics: [Metric] = []
    var commands: [CommandSummary] = []
    var errors = 0
    var errorSamples: [String] = []
    var notes: [String] = []

    func metric(_ name: String) -> Metric? { metrics.first { $0.name == name } }

    /// JSON, keys sorted, for `--json`.
    func encoded() throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return Array(try encoder.encode(self))
    }

    static func decode(_ bytes: [UInt8]) throws -> ScenarioResult {
        try JSONDecoder().decode(ScenarioResult.self, from: Data(bytes))
    }

    /// The human-readable table printed at the end of a run.
    func table() -> String {
        var out = "\(scenario) on \(server) (round \(round))\n"
        if !commands.isEmpty {
            out += Table.render(
                header: ["command", "count", "per s", "p50 ms", "p99 ms", "max ms"],
                rows: commands.map {
                    [
                        $0.command, "\($0.count)", Table.format($0.perSecond), Table.format($0.p50Ms),
                        Table.format($0.p99Ms), Table.format($0.maxMs),
                    ]
                })
        }
        out += Table.render(
            header: ["metric", "value", "unit"], rows: metrics.map { [$0.name, Table.format($0.value), $0.unit] })
        out += "errors: \(errors)\n"
        for sample in errorSamples { out += "  " + sample + "\n" }
        for note in notes { out += "note: " + note + "\n" }
        return out
    }
}

enum Table {
    /// Aligned plain-text columns.
    static func render(header: [String], rows: [[String]]) -> String {
        var widths = header.map(\.count)
        for row in rows {
            for (i, cell) in row.enumerated() where i < widths.count { widths[i] = max(widths[i], cell.count) }
        }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { i, cell in
                let pad = String(repeating: " ", count: max(0, widths[i] - cell.count))
                return i == 0 ? cell + pad : pad + cell
            }.joined(separator: "  ") + "\n"
        }
        return line(header) + rows.map(line).joined()
    }

    /// 3 significant figures or so, no exponent.
    static func format(_ value: Double) -> String {
        guard value.isFinite else { return "-" }
        let magnitude = abs(value)
        let decimals = magnitude >= 100 ? 0 : magnitude >= 10 ? 1 : magnitude >= 1 ? 2 : 3
        var scale = 1.0
        for _ in 0..<decimals { scale *= 10 }
        let rounded = (value * scale).rounded() / scale
        if decimals == 0 { return String(Int(rounded)) }
        let whole = Int(rounded.magnitude)
        let fraction = Int(((rounded.magnitude - Double(whole)) * scale).rounded())
        let digits = String(fraction)
        return (rounded < 0 ? "-" : "") + "\(whole)." + String(repeating: "0", count: decimals - digits.count) + digits
    }
}

/// Options every scenario takes.
struct RunOptions: ParsableArguments {
    @Option(help: "Server host.") var host = "127.0.0.1"
    @Option(help: "Server port.") var port: Int
    @Option(help: "Password of every user.") var password = "bench"
    @Option(help: "Label of the server in the results (imapd-maildir, dovecot).") var server = "server"
    @Option(help: "Round number, recorded in the results.") var round = 1
    @Option(help: "Scenario name recorded in the results (default: the subcommand's).") var scenario: String?
    @Option(help: "Write the result as JSON here.") var json: String?
    @Option(help: "Event-loop threads of the load generator.") var threads = 1

    var address: ServerAddress { ServerAddress(host: host, port: port) }

    func finish(_ result: ScenarioResult) throws {
        Console.out(result.table())
        if let json { try FileIO.write(try result.encoded(), to: json, exclusive: false) }
    }
}
