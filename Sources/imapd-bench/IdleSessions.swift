// `imapd-bench idle`: N sessions LOGIN, SELECT INBOX and IDLE; the server's memory is
// measured before and after they are open (scenario c); then messages are delivered
// into one user's new/ as an MDA does (write tmp/, rename into new/) and the time from
// the rename to each of that user's sessions seeing `* n EXISTS` is recorded
// (scenario d).
//
// Memory: PSS (proportional set size: shared pages divided among the processes sharing
// them) summed over the server's whole process tree, so Dovecot's process per session
// and imapd-maildir's single process are counted alike.
import ArgumentParser
import Glibc
import NIOCore
import NIOPosix

enum SessionEvent: Sendable {
    case ready(Int, exists: Int)
    case failed(Int, String)
    case exists(Int, count: Int, time: UInt64)
    case tick
}

struct IdleSessions: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "idle",
        abstract: "Hold N IDLE sessions: server memory per session; delivery → EXISTS latency (scenarios c, d).")

    @OptionGroup var options: RunOptions
    @Option(help: "IDLE sessions.") var sessions = 1000
    @Option(help: "Users; session i logs in as user (i mod users) + 1.") var users = 50
    @Option(help: "User name prefix (<prefix>0001…), or a single user's name with --users 1 and --exact-user.")
    var userPrefix = "bench"
    @Option(help: "Log every session in as this user instead (deliveries reach all of them).") var exactUser: String?
    @Option(help: "Sessions being set up at once.") var connectConcurrency = 32
    @Option(help: "Server process (Dovecot: the master); its tree's memory is measured.") var serverPid: Int32?
    @Option(help: "Seconds to wait after the last session is open before measuring memory.") var settle = 2.0
    @Option(help: "Messages to deliver (0: none).") var deliveries = 0
    @Option(help: "Maildir of user 1 (or --exact-user), where deliveries go.") var maildir: String?
    @Option(help: "Seconds to wait for every session to see one delivery.") var deliveryTimeout = 30.0

    func validate() throws {
        if deliveries > 0 && maildir == nil { throw ValidationError("--deliveries needs --maildir") }
    }

    func user(of index: Int) -> String {
        exactUser ?? Generate.userName(prefix: userPrefix, index: index % max(users, 1) + 1)
    }

    /// Sessions that see the deliveries (those of user 1).
    func receives(_ index: Int) -> Bool { exactUser != nil || index % max(users, 1) == 0 }

    func run() async throws {
        Limits.raiseOpenFiles()
        let group = MultiThreadedEventLoopGroup(numberOfThreads: options.threads)
        var result = ScenarioResult(
            scenario: options.scenario ?? (deliveries > 0 ? "d" : "c"), server: options.server, round: options.round)
        let before = serverPid.map { ProcFS.memory(ofTree: $0) }
        let (stream, continuation) = AsyncStream<SessionEvent>.makeStream()
        let ticker = Task {
            while !Task.isCancelled {
                try? await Task.sleep(nanoseconds: 500_000_000)
                continuation.yield(.tick)
            }
        }
        var latencies: [UInt64] = []
        let opened = now()
        var openSeconds = 0.0
        var after: TreeMemory?
        var ready = 0
        await withTaskGroup(of: Void.self) { tasks in
            var events = stream.makeAsyncIterator()
            var launched = 0
            var inSetup = 0
            var failed = 0
            var base: [Int: Int] = [:]
            var seen: [Int: Int] = [:]
            while ready + failed < sessions {
                while inSetup < connectConcurrency && launched < sessions {
                    let index = launched
                    let user = user(of: index)
                    tasks.addTask {
                        await Self.session(index, user: user, options: options, group: group, continuation)
                    }
                    launched += 1
                    inSetup += 1
                }
                guard let event = await events.next() else { break }
                switch event {
                case .ready(let index, let exists):
                    inSetup -= 1
                    ready += 1
                    base[index] = exists
                    seen[index] = exists
                    if ready % 500 == 0 { Console.error("\r  \(ready) sessions idle   ") }
                case .failed(_, let message):
                    inSetup -= 1
                    failed += 1
                    result.errors += 1
                    if result.errorSamples.count < 10 { result.errorSamples.append(message) }
                case .exists(let index, let count, _): seen[index] = count
                case .tick: break
                }
            }
            openSeconds = Double(now() - opened) / 1e9
            Console.error("\r  \(ready) sessions idle in \(Table.format(openSeconds)) s\n")
            if settle > 0 { try? await Task.sleep(nanoseconds: UInt64(settle * 1e9)) }
            after = serverPid.map { ProcFS.memory(ofTree: $0) }
            if deliveries > 0, let maildir {
                let receivers = base.keys.filter(receives)
                for k in 1...deliveries {
                    let t0: UInt64
                    do {
                        t0 = try Self.deliver(k, into: maildir)
                    } catch {
                        result.errors += 1
                        result.errorSamples.append("delivery \(k): \(error)")
                        break
                    }
                    var waiting = Set(receivers.filter { (seen[$0] ?? 0) < (base[$0] ?? 0) + k })
                    for index in receivers where !waiting.contains(index) { latencies.append(0) }
                    let deadline = t0 + UInt64(deliveryTimeout * 1e9)
                    while !waiting.isEmpty, let event = await events.next() {
                        switch event {
                        case .exists(let index, let count, let time):
                            seen[index] = count
                            if waiting.contains(index) && count >= (base[index] ?? 0) + k {
                                waiting.remove(index)
                                latencies.append(time - t0)
                            }
                        case .failed(_, let message):
                            result.errors += 1
                            if result.errorSamples.count < 10 { result.errorSamples.append(message) }
                        case .ready, .tick: break
                        }
                        if now() > deadline {
                            result.errors += waiting.count
                            result.errorSamples.append("delivery \(k): \(waiting.count) sessions saw no EXISTS")
                            break
                        }
                    }
                }
            }
            tasks.cancelAll()
        }
        ticker.cancel()
        continuation.finish()
        if let before, let after, ready > 0 {
            result.metrics += [
                Metric(
                    name: "memory per session (PSS)", value: Double(after.pssKiB - before.pssKiB) / Double(ready),
                    unit: "KiB", better: .lower),
                Metric(
                    name: "RSS per session", value: Double(after.rssKiB - before.rssKiB) / Double(ready), unit: "KiB",
                    better: .lower),
                Metric(
                    name: "server PSS with sessions", value: Double(after.pssKiB) / 1024, unit: "MiB", better: .lower),
            ]
            result.notes.append(
                "PSS and RSS summed over the server's process tree: \(before.processes) processes before, "
                    + "\(after.processes) with \(ready) IDLE sessions; PSS \(before.pssKiB) KiB -> \(after.pssKiB) KiB")
        }
        result.metrics.append(
            Metric(name: "sessions opened/s", value: Double(ready) / openSeconds, unit: "1/s", better: .higher))
        if deliveries > 0 {
            latencies.sort()
            func ms(_ p: Double) -> Double { Double(Percentile.nearestRank(latencies, p) ?? 0) / 1e6 }
            result.metrics += [
                Metric(name: "delivery->EXISTS p50", value: ms(50), unit: "ms", better: .lower),
                Metric(name: "delivery->EXISTS p99", value: ms(99), unit: "ms", better: .lower),
                Metric(
                    name: "delivery->EXISTS max", value: Double(latencies.last ?? 0) / 1e6, unit: "ms", better: .lower),
            ]
            result.notes.append("\(deliveries) deliveries, \(latencies.count) EXISTS observed")
        }
        result.errors += 0
        try options.finish(result)
    }

    /// One session: LOGIN, SELECT INBOX, IDLE, then report every EXISTS until cancelled.
    static func session(
        _ index: Int, user: String, options: RunOptions, group: EventLoopGroup,
        _ events: AsyncStream<SessionEvent>.Continuation
    ) async {
        do {
            try await Connector.withClient(options.address, group: group) { client in
                _ = try await client.command("LOGIN \(quoted(user)) \(quoted(options.password))")
                _ = try await client.command("SELECT INBOX")
                _ = try await client.startIdle()
                events.yield(.ready(index, exists: client.exists))
                client.onExists = { count, time in events.yield(.exists(index, count: count, time: time)) }
                while !Task.isCancelled {
                    let response = try await client.next(during: "IDLE")
                    if response.isUntaggedBAD { events.yield(.failed(index, "untagged BAD: \(response.excerpt)")) }
                }
            }
        } catch {
            if !Task.isCancelled { events.yield(.failed(index, "session \(index) (\(user)): \(error)")) }
        }
    }

    /// An MDA's delivery: the file written in tmp/, then renamed into new/. Returns the
    /// time of the rename.
    static func deliver(_ k: Int, into maildir: String) throws -> UInt64 {
        var rng = SplitMix64(seed: UInt64(k))
        let message = MessageFactory.message(index: k, small: true, rng: &rng)
        let name =
            "\(MessageFactory.epoch + 10_000_000 + k).M\(k)P\(getpid()).imapd-bench,S=\(message.count),W=\(MessageFactory.virtualSize(message))"
        try FileIO.write(message, to: maildir + "/tmp/" + name)
        let t0 = now()
        try FileIO.rename(maildir + "/tmp/" + name, maildir + "/new/" + name)
        return t0
    }
}

enum Limits {
    /// Raises the soft open-file limit to the hard one (thousands of sessions).
    static func raiseOpenFiles() {
        var limit = rlimit()
        guard getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur < limit.rlim_max
        else { return }
        limit.rlim_cur = limit.rlim_max
        _ = setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit)
    }
}
