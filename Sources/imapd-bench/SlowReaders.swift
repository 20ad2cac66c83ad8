// `imapd-bench slow`: one user's connections each ask for large bodies and then read
// nothing (a phone on a bad link); meanwhile another user's LOGIN + SELECT + FETCH
// BODY[] of a small message is timed (scenario f, issue 12). Run with 0, 8 and 64 slow
// readers; the victim should take about as long with them as without.
import ArgumentParser
import Glibc

struct SlowReaders: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "slow", abstract: "Victim LOGIN+SELECT+FETCH time while clients stall large FETCHes (scenario f).")

    @OptionGroup var options: RunOptions
    @Option(help: "User of the slow readers (its INBOX holds large messages).") var slowUser = "big"
    @Option(help: "The victim user (message 1 of its INBOX is fetched).") var victim = "bench0001"
    @Option(help: "Slow-reader counts, one measurement each.") var readers: [Int] = [0, 8, 64]
    @Option(help: "Victim sessions per measurement (sequential); the median is reported.") var repeats = 10
    @Option(help: "Seconds a victim session may wait for an answer.") var victimTimeout = 10

    func run() async throws {
        var result = ScenarioResult(scenario: options.scenario ?? "f", server: options.server, round: options.round)
        var stalled: [BlockingClient] = []
        defer { for reader in stalled { reader.close() } }
        var baseline: Double?
        for count in readers.sorted() {
            while stalled.count < count {
                do {
                    stalled.append(try StalledReader.open(options: options, user: slowUser))
                } catch {
                    result.errors += 1
                    result.errorSamples.append("slow reader \(stalled.count + 1): \(error)")
                    break
                }
            }
            var times: [Double] = []
            for _ in 0..<repeats {
                do {
                    times.append(try victimSession())
                } catch {
                    // A starved server: once is enough to know (each try waits the timeout).
                    result.errors += 1
                    result.errorSamples.append("victim with \(count) slow readers: \(error)")
                    break
                }
            }
            // No figure without a finished session (JSON has no infinity): the errors say why.
            guard let median = Percentile.median(times), let slowest = times.max() else { continue }
            if count == 0 { baseline = median }
            result.metrics.append(
                Metric(name: "victim ms, \(count) slow readers", value: median, unit: "ms", better: .lower))
            result.metrics.append(
                Metric(name: "victim max ms, \(count) slow readers", value: slowest, unit: "ms", better: .lower))
            if count > 0, let baseline, baseline > 0 {
                result.metrics.append(
                    Metric(
                        name: "victim slowdown, \(count) slow readers", value: median / baseline, unit: "x",
                        better: .lower))
            }
        }
        result.notes += [
            "slow readers: \(slowUser) sends FETCH 1:* BODY.PEEK[] with a 4 KiB receive buffer and reads nothing more;"
                + " victim: connect, LOGIN \(victim), SELECT INBOX, FETCH 1 BODY[] (median of \(repeats))"
        ]
        try options.finish(result)
    }

    /// Milliseconds from connect to the end of the FETCH; throws after `victimTimeout`
    /// seconds without an answer (a starved server never answers).
    private func victimSession() throws -> Double {
        let started = now()
        let client = try BlockingClient(options: options, receiveBuffer: nil, timeoutSeconds: victimTimeout)
        defer { client.close() }
        try client.command("L LOGIN \(quoted(victim)) \(quoted(options.password))", tag: "L")
        try client.command("S SELECT INBOX", tag: "S")
        try client.command("F FETCH 1 BODY[]", tag: "F")
        let elapsed = Double(now() - started) / 1e6
        try? client.command("O LOGOUT", tag: "O")
        return elapsed
    }
}

/// A connection of `slowUser` that sends `FETCH 1:* BODY.PEEK[]`, waits for the first
/// response line (the server is streaming) and then reads nothing, with a 4 KiB
/// receive buffer.
enum StalledReader {
    static func open(options: RunOptions, user: String) throws -> BlockingClient {
        let client = try BlockingClient(options: options, receiveBuffer: 4096, timeoutSeconds: 10)
        do {
            try client.command("L LOGIN \(quoted(user)) \(quoted(options.password))", tag: "L")
            try client.command("S SELECT INBOX", tag: "S")
            client.send("F FETCH 1:* BODY.PEEK[]\r\n")
            let first = try client.line()
            guard first.hasPrefix("* 1 FETCH") else { throw BenchError.setup("FETCH answered: \(first)") }
        } catch {
            client.close()
            throw error
        }
        return client
    }
}

/// A blocking IMAP connection whose reads time out: what a stalled server cannot hang.
final class BlockingClient {
    private let fd: Int32
    private var pending: [UInt8] = []

    init(options: RunOptions, receiveBuffer: Int32?, timeoutSeconds: Int) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        if var size = receiveBuffer {
            setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        }
        var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(options.port).bigEndian)
        address.sin_addr.s_addr = inet_addr(options.host)
        let socketFD = fd
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(socketFD, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else {
            Glibc.close(fd)
            throw BenchError.setup("connect failed: errno \(errno)")
        }
        _ = try line()
    }

    func close() { Glibc.close(fd) }

    /// Sends `text` and reads up to its tagged status (literals skipped); throws unless OK.
    func command(_ text: String, tag: String) throws {
        send(text + "\r\n")
        while true {
            var reply = try line()
            while let size = Self.trailingLiteral(reply) {
                try skip(size)
                reply = try line()
            }
            guard reply.hasPrefix(tag + " ") else { continue }
            guard reply.hasPrefix(tag + " OK") else { throw BenchError.setup(reply) }
            return
        }
    }

    func send(_ text: String) {
        let bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return }
            offset += n
        }
    }

    func line() throws -> String {
        while true {
            if let lf = pending.firstIndex(of: 10) {
                let line = String(decoding: pending[..<lf], as: UTF8.self)
                pending.removeSubrange(...lf)
                return line.hasSuffix("\r") ? String(line.dropLast()) : line
            }
            try fill()
        }
    }

    private func skip(_ count: Int) throws {
        while pending.count < count { try fill() }
        pending.removeSubrange(..<count)
    }

    private func fill() throws {
        var buffer = [UInt8](repeating: 0, count: 65536)
        let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        guard n > 0 else { throw BenchError.closed(during: n == 0 ? "read" : "read (timed out or failed)") }
        pending.append(contentsOf: buffer[..<n])
    }

    private static func trailingLiteral(_ line: String) -> Int? {
        guard line.hasSuffix("}"), let open = line.lastIndex(of: "{") else { return nil }
        return Int(line[line.index(after: open)..<line.index(before: line.endIndex)])
    }
}
