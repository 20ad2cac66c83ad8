import Foundation
import XCTest

#if canImport(Glibc)
    import Glibc
#endif

/// Issue 18 §4 and issue 11 §5, end to end: many sessions on one folder at once (each a
/// thread with its own connection), with an in-test MDA delivering into new/ meanwhile.
/// Every command must succeed, every acknowledged message must be on disk with its UID,
/// and every untagged response must agree with what its client was told (UntaggedModel,
/// the check imaptest makes).
final class ConcurrentSessionsTests: XCTestCase {
    static let appenders = 4
    static let appendsEach = 30
    /// An INTERNALDATE long past: the tmp/ file carries it as mtime before its rename.
    static let oldDate = "01-Jan-2001 00:00:00 +0000"

    /// Many sessions APPEND while others STORE flags on and EXPUNGE the new messages
    /// and a SELECT loop cleans tmp/: every APPEND is OK with an APPENDUID, and every
    /// acknowledged message that was not expunged is on disk under that UID.
    func testAppendsRacingWithStoreExpungeAndSelectAllSucceed() async throws {
        let server = try await startServer()
        let port = server.port
        let acknowledged = Shared<[(uid: UInt32, id: String)]>([])
        let failures = Shared<[String]>([])
        let appending = Shared(Self.appenders)

        var workers: [@Sendable () -> Void] = []
        for a in 0..<Self.appenders {
            workers.append {
                Self.session(port, failures) { client in
                    for i in 0..<Self.appendsEach {
                        let id = "a\(a)-\(i)"
                        let date = i % 2 == 0 ? " \"\(Self.oldDate)\"" : ""
                        let reply = try Self.append(client, "(\\Seen)\(date)", Self.message(id))
                        guard reply.ok, let uid = Self.appendUID(reply.tagged) else {
                            failures.update { $0.append("APPEND \(id): \(reply.tagged)") }
                            continue
                        }
                        acknowledged.update { $0.append((uid, id)) }
                    }
                }
                appending.update { $0 -= 1 }
            }
        }
        // STORE and EXPUNGE the newest messages as they arrive: flags on all, and every
        // UID divisible by 3 expunged.
        for _ in 0..<2 {
            workers.append {
                Self.session(port, failures) { client in
                    var model = try Self.select(client, failures)
                    var done = Set<UInt32>()
                    while appending.value > 0 {
                        try Self.run(client, "NOOP", &model, failures)
                        let fresh = acknowledged.value.map(\.uid).filter { !done.contains($0) }
                        guard !fresh.isEmpty else { continue }
                        done.formUnion(fresh)
                        let set = fresh.map(String.init).joined(separator: ",")
                        try Self.run(client, "UID STORE \(set) +FLAGS (\\Flagged)", &model, failures)
                        let doomed = fresh.filter { $0 % 3 == 0 }.map(String.init).joined(separator: ",")
                        guard !doomed.isEmpty else { continue }
                        try Self.run(client, "UID STORE \(doomed) +FLAGS.SILENT (\\Deleted)", &model, failures)
                        try Self.run(client, "UID EXPUNGE \(doomed)", &model, failures)
                    }
                }
            }
        }
        // SELECT over and over: each one cleans tmp/ of abandoned files.
        workers.append {
            Self.session(port, failures) { client in
                while appending.value > 0 { _ = try Self.select(client, failures) }
            }
        }
        runThreads(workers)

        XCTAssertEqual(failures.value, [])
        let acked = acknowledged.value
        XCTAssertEqual(acked.count, Self.appenders * Self.appendsEach)
        XCTAssertEqual(Set(acked.map(\.uid)).count, acked.count, "an APPENDUID given twice")
        let onDisk = try Self.messagesByUID(server)
        for (uid, id) in acked {
            if let found = onDisk[uid] {
                XCTAssertEqual(found, id, "UID \(uid)")
            } else {
                XCTAssertEqual(uid % 3, 0, "UID \(uid) (\(id)) acknowledged, never expunged, not on disk")
            }
        }
        XCTAssertEqual(Set(onDisk.values).count, onDisk.count, "a message stored twice")
        XCTAssertEqual(server.maildir.files("alice", "tmp"), [])
    }

    /// Sessions STORE, EXPUNGE, COPY and MOVE while an MDA delivers into new/ and an
    /// IDLE session listens: no session is ever sent an EXPUNGE or FETCH for a sequence
    /// number it was not told exists, nor a UID that contradicts what it was told.
    func testUntaggedResponsesUnderConcurrentDeliveryMatchWhatEachClientWasTold() async throws {
        let server = try await startServer { $0.idlePollSeconds = 1 }
        try server.maildir.makeUser("alice", folders: ["Other"])
        let port = server.port
        let home = server.maildir.root + "/alice"
        let failures = Shared<[String]>([])
        let working = Shared(4)
        let commandsDone = DispatchSemaphore(value: 0)
        let idling = DispatchSemaphore(value: 0)

        var workers: [@Sendable () -> Void] = []
        for w in 0..<4 {
            workers.append {
                Self.session(port, failures) { client in
                    var model = try Self.select(client, failures)
                    var random = SystemRandomNumberGenerator()
                    for step in 0..<60 {
                        let n = model.count
                        let command: String
                        switch (n, Int.random(in: 0..<7, using: &random)) {
                        case (0, _), (_, 0): command = "NOOP"
                        case (_, 1): command = "FETCH 1:* (UID FLAGS)"
                        case (_, 2): command = "STORE \(Int.random(in: 1...n, using: &random)) +FLAGS (\\Seen)"
                        case (_, 3):
                            // The newest message, probably a delivery others were not told of yet.
                            try Self.run(client, "STORE \(n) +FLAGS.SILENT (\\Deleted)", &model, failures)
                            command = "EXPUNGE"
                        case (_, 4): command = "COPY \(Int.random(in: 1...n, using: &random)) Other"
                        case (_, 5): command = "MOVE \(Int.random(in: 1...n, using: &random)) Other"
                        default: command = "UID FETCH \(w + step):* (FLAGS)"
                        }
                        try Self.run(client, command, &model, failures)
                        commandsDone.signal()
                    }
                    // Quiet now (the MDA stops with the last worker): NOOP, then every
                    // message's UID must fit what the model learned.
                    working.update { $0 -= 1 }
                    try Self.run(client, "NOOP", &model, failures)
                    try Self.run(client, "FETCH 1:* (UID)", &model, failures)
                }
            }
        }
        // The MDA: one message per command the workers complete, until they finish;
        // then one more, which the IDLE session is sure to see after they finished.
        workers.append {
            var k = 0
            idling.wait()
            while working.value > 0 {
                guard commandsDone.wait(timeout: .now() + 0.2) == .success else { continue }
                k += 1
                Self.deliver(home, name: "1700001000.M\(k)P99.mda", body: Self.message("mda-\(k)"))
            }
            Self.deliver(home, name: "1700002000.M1P99.last", body: Self.message("last"))
        }
        // IDLE throughout, DONE once the workers finished.
        workers.append {
            Self.session(port, failures) { client in
                var model = try Self.select(client, failures)
                client.sendRaw("I1 IDLE\r\n")
                guard try client.readLine().hasPrefix("+ ") else { throw POSIXError(.EPROTO) }
                idling.signal()
                var sentDone = false
                while true {
                    let line = try client.readLine()
                    if line.hasPrefix("I1 ") {
                        if !line.hasPrefix("I1 OK") { failures.update { $0.append("IDLE: \(line)") } }
                        break
                    }
                    model.read(line)
                    if !sentDone && working.value == 0 {
                        client.sendRaw("DONE\r\n")
                        sentDone = true
                    }
                }
                Self.report(model, "IDLE session", failures)
                try Self.run(client, "NOOP", &model, failures)
                try Self.run(client, "FETCH 1:* (UID)", &model, failures)
            }
        }
        runThreads(workers)
        XCTAssertEqual(failures.value, [])
    }

    // MARK: - Helpers

    static func message(_ id: String) -> String {
        "From: t@example.org\r\nSubject: \(id)\r\nX-Test-ID: \(id)\r\n\r\nbody of \(id)\r\n"
    }

    /// An MDA's delivery: tmp/, then rename into new/.
    static func deliver(_ home: String, name: String, body: String) {
        let tmp = home + "/tmp/" + name
        _ = FileManager.default.createFile(atPath: tmp, contents: Data(body.utf8))
        _ = rename(tmp, home + "/new/" + name)
    }

    /// Runs `body` on a logged-in connection of alice; errors become failures.
    static func session(_ port: Int, _ failures: Shared<[String]>, _ body: (TestClient) throws -> Void) {
        do {
            let client = try TestClient(port: port)
            let login = try client.command("LOGIN alice secret")
            guard login.ok else { throw POSIXError(.EACCES) }
            try body(client)
            _ = try? client.command("LOGOUT")
        } catch {
            failures.update { $0.append("session: \(error)") }
        }
    }

    /// SELECT INBOX; the model starts from its EXISTS.
    static func select(_ client: TestClient, _ failures: Shared<[String]>) throws -> UntaggedModel {
        var model = UntaggedModel(count: 0)
        let reply = try client.command("SELECT INBOX")
        if !reply.ok { failures.update { $0.append("SELECT: \(reply.tagged)") } }
        model.read(reply.untagged)
        return model
    }

    /// Sends a command, checks its untagged responses against the model; NO is a
    /// failure except [EXPUNGEISSUED] (a message expunged meanwhile, RFC 9051 §7.5.1).
    static func run(_ client: TestClient, _ command: String, _ model: inout UntaggedModel, _ failures: Shared<[String]>)
        throws
    {
        let reply = try client.command(command)
        let before = model.violations.count
        model.read(reply.untagged)
        for violation in model.violations.dropFirst(before) {
            failures.update { $0.append("\(command): \(violation)") }
        }
        if !reply.ok && !reply.tagged.contains("[EXPUNGEISSUED]") {
            failures.update { $0.append("\(command): \(reply.tagged)") }
        }
    }

    static func report(_ model: UntaggedModel, _ who: String, _ failures: Shared<[String]>) {
        for violation in model.violations { failures.update { $0.append("\(who): \(violation)") } }
    }

    /// APPEND with a synchronizing literal.
    static func append(_ client: TestClient, _ options: String, _ message: String) throws -> TestClient.Reply {
        let tag = "A\(UInt32.random(in: 0...UInt32.max))"
        client.sendRaw("\(tag) APPEND INBOX \(options) {\(message.utf8.count)}\r\n")
        let continuation = try client.readLine()
        guard continuation.hasPrefix("+") else {
            return TestClient.Reply(untagged: [], tagged: continuation, literals: [])
        }
        client.sendRaw(message + "\r\n")
        return try client.collect(tag: tag)
    }

    /// The UID of `[APPENDUID validity uid]`.
    static func appendUID(_ tagged: String) -> UInt32? {
        guard let range = tagged.range(of: "[APPENDUID ") else { return nil }
        let fields = tagged[range.upperBound...].prefix { $0 != "]" }.split(separator: " ")
        return fields.count == 2 ? UInt32(fields[1]) : nil
    }

    /// UID → X-Test-ID of every message in INBOX, read by a fresh session.
    static func messagesByUID(_ server: RunningServer) throws -> [UInt32: String] {
        let client = try server.connect()
        try client.login()
        XCTAssertTrue(try client.command("SELECT INBOX").ok)
        let reply = try client.command("UID FETCH 1:* (UID BODY.PEEK[HEADER.FIELDS (X-TEST-ID)])")
        XCTAssertTrue(reply.ok, reply.tagged)
        XCTAssertEqual(reply.untagged.count, reply.literals.count)
        var found: [UInt32: String] = [:]
        for (line, literal) in zip(reply.untagged, reply.literals) {
            guard let uid = UntaggedModel.uid(in: line) else { continue }
            let header = String(decoding: literal, as: UTF8.self)
            found[uid] = header.replacingOccurrences(of: "X-Test-ID: ", with: "")
                .trimmingCharacters(in: .whitespacesAndNewlines)
        }
        return found
    }
}

/// A value shared by the test's threads.
final class Shared<Value: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: Value

    init(_ value: Value) { stored = value }

    var value: Value {
        lock.lock()
        defer { lock.unlock() }
        return stored
    }

    func update(_ change: (inout Value) -> Void) {
        lock.lock()
        change(&stored)
        lock.unlock()
    }
}

/// Runs each body on its own thread, all released together, and waits for all.
func runThreads(_ bodies: [@Sendable () -> Void]) {
    let start = DispatchSemaphore(value: 0)
    let done = DispatchGroup()
    for body in bodies {
        done.enter()
        Thread {
            start.wait()
            body()
            done.leave()
        }.start()
    }
    for _ in bodies { start.signal() }
    done.wait()
}
