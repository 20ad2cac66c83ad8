// `imapd-bench folder`: scenario (b), a webmail opening one large folder. Each session
// logs in, SELECTs the folder, then runs the listed commands in order, each timed:
// `UID FETCH 1:* (FLAGS)`, `UID SORT (REVERSE DATE) UTF-8 ALL`, `UID THREAD REFERENCES
// UTF-8 ALL`, an ENVELOPE fetch of the newest page, and a SEARCH on a header field
// (`UID SEARCH FROM "dubois"`). compare.sh decides what state
// the server is in (first-ever, cold, warm) and passes it as --phase, the label of the
// figures; this command only measures over a real socket and checks every answer
// covered the whole folder.
import ArgumentParser
import NIOPosix

/// A command of scenario (b) after SELECT.
enum FolderOperation: String, CaseIterable, ExpressibleByArgument, Sendable {
    case flags, sort, thread, envelope, search
}

struct FolderScan: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "folder",
        abstract:
            "Time SELECT, UID FETCH 1:* (FLAGS), UID SORT, UID THREAD, an ENVELOPE page and a header SEARCH on a large folder (b)."
    )

    @OptionGroup var options: RunOptions
    @Option(help: "User owning the folder.") var user = "huge"
    @Option(help: "Folder.") var mailbox = "INBOX"
    @Option(help: "Label of the figures: the server's state (first-ever, cold, warm).") var phase = "cold"
    @Option(
        parsing: .upToNextOption,
        help:
            "Commands after SELECT, in this order: \(FolderOperation.allCases.map(\.rawValue).joined(separator: " ")).")
    var operations: [FolderOperation] = [.flags]
    @Option(help: "Sessions one after the other; each figure is their median.") var sessions = 1
    @Option(help: "Sessions run first and not counted (to warm a running server).") var warmup = 0
    @Option(help: "The FLAGS listing.") var fetch = "UID FETCH 1:* (FLAGS)"
    @Option(help: "The SORT command.") var sort = "UID SORT (REVERSE DATE) UTF-8 ALL"
    @Option(help: "The THREAD command.") var thread = "UID THREAD REFERENCES UTF-8 ALL"
    @Option(help: "Messages of the ENVELOPE page, the newest UIDs.") var page = 50
    /// One sender in six of the generated spool (MessageFactory.names).
    @Option(help: "The header SEARCH.") var search = "UID SEARCH FROM \"dubois\""

    /// The metric names, "<phase> <what>", in the order they are reported.
    func name(_ what: String) -> String { phase + " " + what }

    func label(_ operation: FolderOperation) -> String {
        switch operation {
        case .flags: return "UID FETCH (FLAGS)"
        case .sort: return "UID SORT"
        case .thread: return "UID THREAD"
        case .envelope: return "UID FETCH \(page) (ENVELOPE)"
        case .search: return "UID SEARCH FROM"
        }
    }

    func run() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: options.threads)
        var result = ScenarioResult(scenario: options.scenario ?? "b", server: options.server, round: options.round)
        var samples: [String: [Double]] = [:]
        var order: [String] = []
        for session in 1...max(sessions + warmup, 1) {
            let (times, problems) = try await Connector.withClient(options.address, group: group) { client in
                try await runSession(&client)
            }
            let counted = session > warmup
            Console.error(
                "  \(phase) session \(session)\(counted ? "" : " (warm-up)"): "
                    + times.map { "\($0.0) \(Table.format($0.1)) ms" }.joined(separator: ", ") + "\n")
            result.errors += problems.count
            result.errorSamples += problems.map { "session \(session): \($0)" }
            guard counted else { continue }
            // "(SELECT)": SELECT before a command other than the FLAGS listing, printed only.
            for (what, ms) in times where !what.hasPrefix("(") {
                if samples[what] == nil { order.append(what) }
                samples[what, default: []].append(ms)
            }
        }
        for what in order {
            let value = Percentile.median(samples[what] ?? []) ?? 0
            result.metrics.append(Metric(name: name(what), value: value, unit: "ms", better: .lower))
        }
        result.notes.append(
            "\(phase): \(user)'s \(mailbox), SELECT then \(operations.map(label).joined(separator: ", ")); "
                + "median of \(max(sessions, 1)) session(s) after \(warmup) warm-up")
        try options.finish(result)
    }

    /// One session: LOGIN, SELECT, the operations; the times in ms by figure name, and
    /// any answer that did not cover the folder.
    func runSession(_ client: inout IMAPClient) async throws -> ([(String, Double)], [String]) {
        _ = try await client.command("LOGIN \(quoted(user)) \(quoted(options.password))")
        var times: [(String, Double)] = []
        var problems: [String] = []
        let t0 = now()
        _ = try await client.command("SELECT \(mailbox)")
        let select = Double(now() - t0) / 1e6
        // SELECT is reported where it starts the FLAGS listing (what a client opening the
        // folder does); before SORT alone it is printed but not reported.
        if operations.first == .flags { times.append(("SELECT", select)) } else { times.append(("(SELECT)", select)) }
        let exists = client.exists
        for operation in operations {
            let command: String
            switch operation {
            case .flags: command = fetch
            case .sort: command = sort
            case .thread: command = thread
            // The newest UIDs: the UIDNEXT of SELECT minus the page. A generated folder
            // has UIDs 1…n without gaps, so this is the newest `page` messages.
            case .envelope: command = "UID FETCH \(max(1, client.uidNext - page)):* (ENVELOPE)"
            case .search: command = search
            }
            client.listed = 0
            let start = now()
            let answer = try await client.command(command)
            let ms = Double(now() - start) / 1e6
            times.append((label(operation), ms))
            if operation == .flags, times.count == 2 { times.append(("SELECT+FETCH", select + ms)) }
            let (got, wanted): (Int, Int)
            switch operation {
            case .flags: (got, wanted) = (answer.untaggedCount, exists)
            case .sort, .thread: (got, wanted) = (client.listed, exists)
            case .envelope: (got, wanted) = (answer.untaggedCount, min(page, exists))
            // A sixth of the generated senders; anything much less is a wrong answer.
            case .search: (got, wanted) = (client.listed, exists / 7)
            }
            if got < wanted { problems.append("\(command): \(got) messages answered of \(wanted)") }
        }
        try await client.logout()
        return (times, problems)
    }
}
