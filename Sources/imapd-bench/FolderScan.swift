// `imapd-bench folder`: SELECT then UID FETCH 1:* (FLAGS) on one large folder, in
// several sessions one after the other. Scenario (b): the first session after the
// server started on a fresh copy is "cold", the later ones "warm".
import ArgumentParser
import NIOPosix

struct FolderScan: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "folder", abstract: "Time SELECT and UID FETCH 1:* (FLAGS) on a large folder (scenario b).")

    @OptionGroup var options: RunOptions
    @Option(help: "User owning the folder.") var user = "huge"
    @Option(help: "Folder.") var mailbox = "INBOX"
    @Option(help: "Sessions one after the other; the first is reported as cold, the others as warm.")
    var sessions = 3
    @Option(help: "The FETCH command.") var fetch = "UID FETCH 1:* (FLAGS)"

    func run() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: options.threads)
        var result = ScenarioResult(scenario: options.scenario ?? "b", server: options.server, round: options.round)
        var warm: [(Double, Double)] = []
        for session in 1...max(sessions, 1) {
            let (select, fetchTime, messages, exists) = try await Connector.withClient(options.address, group: group) {
                client in
                _ = try await client.command("LOGIN \(quoted(user)) \(quoted(options.password))")
                let t0 = now()
                _ = try await client.command("SELECT \(mailbox)")
                let t1 = now()
                let fetched = try await client.command(fetch)
                let t2 = now()
                try await client.logout()
                return (Double(t1 - t0) / 1e6, Double(t2 - t1) / 1e6, fetched.untaggedCount, client.exists)
            }
            Console.error(
                "  session \(session): SELECT \(Table.format(select)) ms, FETCH \(Table.format(fetchTime)) ms, \(messages) FETCH responses\n"
            )
            if messages < exists {
                result.errors += 1
                result.errorSamples.append("session \(session): \(messages) FETCH responses for \(exists) messages")
            }
            if session == 1 {
                result.metrics += [
                    Metric(name: "cold SELECT", value: select, unit: "ms", better: .lower),
                    Metric(name: "cold UID FETCH", value: fetchTime, unit: "ms", better: .lower),
                    Metric(name: "cold total", value: select + fetchTime, unit: "ms", better: .lower),
                ]
                result.notes.append("\(exists) messages in \(user)'s \(mailbox); \(fetch)")
            } else {
                warm.append((select, fetchTime))
            }
        }
        if !warm.isEmpty {
            let select = Percentile.median(warm.map(\.0)) ?? 0
            let fetchTime = Percentile.median(warm.map(\.1)) ?? 0
            let total = Percentile.median(warm.map { $0.0 + $0.1 }) ?? 0
            result.metrics += [
                Metric(name: "warm SELECT", value: select, unit: "ms", better: .lower),
                Metric(name: "warm UID FETCH", value: fetchTime, unit: "ms", better: .lower),
                Metric(name: "warm total", value: total, unit: "ms", better: .lower),
            ]
        }
        try options.finish(result)
    }
}
