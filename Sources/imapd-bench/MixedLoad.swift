// `imapd-bench run`: N clients, each logged in as its own user, run the weighted mixed
// profile (Profile.swift) for a duration or an operation count. Scenario (a).
//
// Each client keeps its own latency samples (no sharing while running); only the
// progress counters are shared, as atomics. In duration mode only commands that
// complete before the deadline count.
import ArgumentParser
import NIOCore
import NIOPosix
import Synchronization

struct MixedLoad: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run", abstract: "Run the mixed profile with N concurrent clients (scenario a).")

    @OptionGroup var options: RunOptions
    @Option(help: "Concurrent clients.") var clients = 10
    @Option(help: "Distinct users; client i logs in as user (i mod users) + 1.") var users = 10
    @Option(help: "User name prefix (users are <prefix>0001…).") var userPrefix = "bench"
    @Option(help: "Seconds to run (ignored with --operations).") var duration = 20.0
    @Option(help: "Stop after this many operations instead of a duration.") var operations: Int?
    @Option(help: "Operation weights, name=weight,… (\(Operation.allCases.map(\.rawValue).joined(separator: " ")))")
    var profile = Profile.defaultSpecification
    @Option(help: "Messages per FETCH FLAGS window.") var flagsWindow = 50
    @Option(help: "Messages per FETCH ENVELOPE window.") var envelopeWindow = 20
    @Option(help: "EXPUNGE only while the mailbox holds more messages than this.") var minMessages = 20
    @Option(help: "Random seed.") var seed: UInt64 = 1
    @Option(
        help: """
            Offered load in commands/s over all clients (open loop): each client starts its \
            commands on a fixed schedule and latency counts from the scheduled start. \
            Without it, every client sends its next command as soon as the last one answered \
            (closed loop: the server's throughput).
            """)
    var rate: Double?

    func run() async throws {
        let parsed = try Profile(parsing: profile)
        let group = MultiThreadedEventLoopGroup(numberOfThreads: options.threads)
        let start = now()
        let shared = LoadShared(
            deadline: operations == nil ? start + UInt64(duration * 1e9) : nil, operationLimit: operations)
        if let rate, !(rate > 0) { throw ValidationError("--rate must be positive") }
        let plan = ClientPlan(
            address: options.address, password: options.password, profile: parsed, flagsWindow: flagsWindow,
            envelopeWindow: envelopeWindow, minMessages: minMessages,
            slotNanoseconds: rate.map { UInt64(Double(clients) / $0 * 1e9) })
        let progress = Task { await Progress.run(shared: shared, start: start) }
        var recorder = LatencyRecorder()
        var errorSamples: [String] = []
        await withTaskGroup(of: ClientOutcome.self) { tasks in
            for index in 0..<clients {
                let user = Generate.userName(prefix: userPrefix, index: index % max(users, 1) + 1)
                let seed = seed &+ UInt64(index) &* 0x9E37_79B9
                tasks.addTask {
                    // Paced clients start spread over one interval, not all at once.
                    let phase = plan.slotNanoseconds.map { $0 * UInt64(index) / UInt64(max(clients, 1)) } ?? 0
                    var client = LoadClient(
                        plan: plan, user: user, shared: shared, group: group, seed: seed, firstSlot: start + phase)
                    return await client.run()
                }
            }
            for await outcome in tasks {
                recorder.merge(outcome.recorder)
                errorSamples += outcome.errors.prefix(max(0, 10 - errorSamples.count))
            }
        }
        let end = now()
        progress.cancel()
        _ = await progress.value
        Console.error("\n")
        let seconds = shared.deadline.map { _ in duration } ?? Double(end - start) / 1e9
        var result = ScenarioResult(
            scenario: options.scenario ?? "a-\(clients)", server: options.server, round: options.round)
        result.commands = recorder.summaries(seconds: seconds)
        let overall = recorder.overall(seconds: seconds)
        result.metrics = [
            Metric(name: "commands/s", value: overall.perSecond, unit: "1/s", better: .higher),
            Metric(name: "p50", value: overall.p50Ms, unit: "ms", better: .lower),
            Metric(name: "p99", value: overall.p99Ms, unit: "ms", better: .lower),
            Metric(name: "max", value: overall.maxMs, unit: "ms", better: .lower),
            Metric(name: "errors", value: Double(shared.errors.load(ordering: .relaxed)), unit: "", better: .lower),
        ]
        result.errors = shared.errors.load(ordering: .relaxed)
        result.errorSamples = errorSamples
        let load = rate.map { "offered \(Table.format($0))/s (open loop)" } ?? "closed loop"
        result.notes = [
            "\(clients) clients, \(users) users, \(load), profile \(parsed.specification), \(Table.format(seconds)) s",
            "NO [EXPUNGEISSUED] answers (not errors): \(shared.expungeIssued.load(ordering: .relaxed))",
        ]
        try options.finish(result)
    }
}

/// Counters every client updates; read by the progress line.
final class LoadShared: Sendable {
    let completed = Atomic<Int>(0)
    let started = Atomic<Int>(0)
    let errors = Atomic<Int>(0)
    /// `NO [EXPUNGEISSUED]` answers (RFC 9051 §7.1): another session of the same user
    /// expunged a message this one still sees; legitimate, so counted apart from errors.
    let expungeIssued = Atomic<Int>(0)
    let deadline: UInt64?
    let operationLimit: Int?

    init(deadline: UInt64?, operationLimit: Int?) {
        self.deadline = deadline
        self.operationLimit = operationLimit
    }

    /// May a client start one more operation?
    func mayStart() -> Bool {
        if let deadline { return now() < deadline }
        guard let operationLimit else { return false }
        return started.add(1, ordering: .relaxed).newValue <= operationLimit
    }

    /// Does a command that completed at `time` count?
    func counts(_ time: UInt64) -> Bool { deadline.map { time <= $0 } ?? true }
}

enum Progress {
    /// `\r  12 s  34567 commands  2880/s  errors 0` once a second until cancelled.
    static func run(shared: LoadShared, start: UInt64) async {
        var last = 0
        while !Task.isCancelled {
            try? await Task.sleep(nanoseconds: 1_000_000_000)
            let done = shared.completed.load(ordering: .relaxed)
            let seconds = Int((now() - start) / 1_000_000_000)
            Console.error(
                "\r  \(seconds) s  \(done) commands  \(done - last)/s  errors \(shared.errors.load(ordering: .relaxed))   "
            )
            last = done
        }
    }
}

struct ClientPlan: Sendable {
    var address: ServerAddress
    var password: String
    var profile: Profile
    var flagsWindow: Int
    var envelopeWindow: Int
    var minMessages: Int
    /// Open loop: the time between one client's command starts (clients / rate).
    var slotNanoseconds: UInt64?
    static let mailbox = "INBOX"
}

struct ClientOutcome: Sendable {
    var recorder: LatencyRecorder
    var errors: [String]
}

/// One simulated user: log in, select INBOX, run operations, log out and in again
/// when the profile says so; on an error, count it and reconnect.
struct LoadClient {
    let plan: ClientPlan
    let user: String
    let shared: LoadShared
    let group: EventLoopGroup
    var rng: SplitMix64
    var recorder = LatencyRecorder()
    var errors: [String] = []
    /// Open loop: when this client's next command is due.
    var nextSlot: UInt64
    /// Consecutive failed sessions after which a client gives up (server gone).
    static let maxConsecutiveFailures = 5

    init(plan: ClientPlan, user: String, shared: LoadShared, group: EventLoopGroup, seed: UInt64, firstSlot: UInt64) {
        self.plan = plan
        self.nextSlot = firstSlot
        self.user = user
        self.shared = shared
        self.group = group
        self.rng = SplitMix64(seed: seed)
    }

    mutating func run() async -> ClientOutcome {
        var failures = 0
        while shared.mayStartSession(), failures < Self.maxConsecutiveFailures {
            do {
                try await session()
                failures = 0
            } catch {
                failures += 1
                fail("\(user): \(error)")
            }
        }
        return ClientOutcome(recorder: recorder, errors: errors)
    }

    private mutating func fail(_ message: String) {
        shared.errors.add(1, ordering: .relaxed)
        if errors.count < 10 { errors.append(message) }
    }

    /// The moment the next step's latency counts from. Closed loop: now. Open loop: the
    /// step's slot in the schedule, after waiting for it; when the server is behind,
    /// the slot has passed and the lag counts too, so a slow answer cannot hide the
    /// commands it delayed (no coordinated omission).
    private mutating func begin() async -> UInt64 {
        guard let slot = plan.slotNanoseconds else { return now() }
        let due = nextSlot
        nextSlot += slot
        let current = now()
        if due > current { try? await Task.sleep(nanoseconds: due - current) }
        return due
    }

    private mutating func record(_ command: String, since start: UInt64) {
        let end = now()
        guard shared.counts(end) else { return }
        recorder.record(command, nanoseconds: end - start)
        shared.completed.add(1, ordering: .relaxed)
    }

    private mutating func session() async throws {
        var me = self
        defer { self = me }
        // Connection set-up (TCP connect and the greeting) is latency the user waits
        // through too; a server that forks per connection spends it here, outside
        // every command, so it is recorded as its own row.
        let connectStarted = await me.begin()
        try await Connector.withClient(plan.address, group: group) { client in
            me.record("CONNECT", since: connectStarted)
            var t = await me.begin()
            _ = try await client.command("LOGIN \(quoted(me.user)) \(quoted(me.plan.password))")
            me.record("LOGIN", since: t)
            t = await me.begin()
            _ = try await client.command("SELECT \(ClientPlan.mailbox)")
            me.record("SELECT", since: t)
            while me.shared.mayStart() {
                let operation = me.plan.profile.pick(using: &me.rng)
                let goOn = try await me.perform(operation, client: &client)
                for error in client.takeProtocolErrors() { me.fail("\(me.user): untagged BAD: \(error)") }
                if !goOn { return }
            }
            t = await me.begin()
            try await client.logout()
            me.record("LOGOUT", since: t)
        }
    }

    /// A FETCH or STORE: OK, or NO [EXPUNGEISSUED] when another session of the same user
    /// expunged one of the messages; anything else is an error.
    private mutating func tolerant(_ command: String, _ client: inout IMAPClient) async throws {
        let result = try await client.command(command, expectOK: false)
        if result.status == .ok { return }
        if result.status == .no && result.text.contains(Self.expungeIssuedCode) {
            shared.expungeIssued.add(1, ordering: .relaxed)
            return
        }
        throw BenchError.unexpectedStatus(command: IMAPClient.verb(command), status: result.status, text: result.text)
    }
    static let expungeIssuedCode = "[EXPUNGEISSUED]"

    /// A window of `size` sequence numbers inside 1…exists.
    private mutating func window(_ size: Int, exists: Int) -> String {
        let first = 1 + Int(rng.next() % UInt64(max(1, exists - size + 1)))
        return "\(first):\(min(exists, first + size - 1))"
    }

    private mutating func randomMessage(_ exists: Int) -> Int { 1 + Int(rng.next() % UInt64(max(exists, 1))) }

    /// Runs one operation; false when the session ended (LOGOUT).
    private mutating func perform(_ operation: Operation, client: inout IMAPClient) async throws -> Bool {
        let exists = client.exists
        let t = await begin()
        switch operation {
        case .select:
            _ = try await client.command("SELECT \(ClientPlan.mailbox)")
            record("SELECT", since: t)
        case .fetchFlags:
            guard exists > 0 else { return true }
            try await tolerant("FETCH \(window(plan.flagsWindow, exists: exists)) (UID FLAGS)", &client)
            record("FETCH FLAGS", since: t)
        case .fetchEnvelope:
            guard exists > 0 else { return true }
            try await tolerant(
                "FETCH \(window(plan.envelopeWindow, exists: exists)) (UID RFC822.SIZE FLAGS INTERNALDATE ENVELOPE)",
                &client)
            record("FETCH ENVELOPE", since: t)
        case .fetchBody:
            guard exists > 0 else { return true }
            try await tolerant("FETCH \(randomMessage(exists)) BODY.PEEK[]", &client)
            record("FETCH BODY", since: t)
        case .store:
            guard exists > 0 else { return true }
            let sign = rng.next() % 2 == 0 ? "+" : "-"
            try await tolerant("STORE \(randomMessage(exists)) \(sign)FLAGS (\\Flagged)", &client)
            record("STORE", since: t)
        case .append:
            let message = MessageFactory.message(index: Int(rng.next() % 1_000_000), small: false, rng: &rng)
            _ = try await client.append(
                mailbox: ClientPlan.mailbox, flags: "\\Seen", message: ByteBuffer(bytes: message))
            record("APPEND", since: t)
        case .expunge:
            // The newest message (often one this client appended), so the folder keeps its size.
            guard exists > plan.minMessages else { return true }
            try await tolerant("STORE \(exists) +FLAGS.SILENT (\\Deleted)", &client)
            record("STORE", since: t)
            let t2 = await begin()
            _ = try await client.command("EXPUNGE")
            record("EXPUNGE", since: t2)
        case .idle:
            let tag = try await client.startIdle()
            _ = try await client.done(tag)
            record("IDLE", since: t)
        case .logout:
            try await client.logout()
            record("LOGOUT", since: t)
            return false
        }
        return true
    }
}

extension LoadShared {
    /// A new session may start while operations may.
    func mayStartSession() -> Bool {
        if let deadline { return now() < deadline }
        guard let operationLimit else { return false }
        return started.load(ordering: .relaxed) < operationLimit
    }
}
