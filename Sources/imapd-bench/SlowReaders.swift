// `imapd-bench slow`: one user's connections each ask for large bodies and then read
// nothing (a phone on a bad link); meanwhile another user's LOGIN + SELECT + FETCH
// BODY[] of a small message is timed (scenario f, issue 12). Run with 0, 8 and 64 slow
// readers; the victim should take about as long with them as without.
import ArgumentParser
import Glibc
import NIOCore
import NIOPosix

struct SlowReaders: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "slow", abstract: "Victim LOGIN+SELECT+FETCH time while clients stall large FETCHes (scenario f).")

    @OptionGroup var options: RunOptions
    @Option(help: "User of the slow readers (its INBOX holds large messages).") var slowUser = "big"
    @Option(help: "The victim user (message 1 of its INBOX is fetched).") var victim = "bench0001"
    @Option(help: "Slow-reader counts, one measurement each.") var readers: [Int] = [0, 8, 64]
    @Option(help: "Victim sessions per measurement (sequential); the median is reported.") var repeats = 10

    func run() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: options.threads)
        var result = ScenarioResult(scenario: options.scenario ?? "f", server: options.server, round: options.round)
        var stalled: [StalledReader] = []
        defer { for reader in stalled { reader.close() } }
        var baseline: Double?
        for count in readers.sorted() {
            while stalled.count < count {
                do {
                    stalled.append(try StalledReader(options: options, user: slowUser))
                } catch {
                    result.errors += 1
                    result.errorSamples.append("slow reader \(stalled.count + 1): \(error)")
                    break
                }
            }
            var times: [Double] = []
            for _ in 0..<repeats {
                do {
                    times.append(try await victimSession(group: group))
                } catch {
                    result.errors += 1
                    if result.errorSamples.count < 5 { result.errorSamples.append("victim: \(error)") }
                }
            }
            let median = Statistics.median(times) ?? .infinity
            if count == 0 { baseline = median }
            result.metrics.append(
                Metric(name: "victim ms, \(count) slow readers", value: median, unit: "ms", better: .lower))
            result.metrics.append(
                Metric(name: "victim max ms, \(count) slow readers", value: times.max() ?? .infinity, unit: "ms", better: .lower))
            if count > 0, let baseline, baseline > 0 {
                result.metrics.append(
                    Metric(name: "victim slowdown, \(count) slow readers", value: median / baseline, unit: "x", better: .lower))
            }
        }
        result.notes = [
            "slow readers: \(slowUser) sends FETCH 1:* BODY.PEEK[] with a 4 KiB receive buffer and reads nothing more;"
                + " victim: connect, LOGIN \(victim), SELECT INBOX, FETCH 1 BODY[] (median of \(repeats))"
        ]
        try options.finish(result)
    }

    /// Milliseconds from connect to the end of the FETCH.
    private func victimSession(group: EventLoopGroup) async throws -> Double {
        let started = now()
        return try await Connector.withClient(options.address, group: group) { client in
            _ = try await client.command("LOGIN \(quoted(victim)) \(quoted(options.password))")
            _ = try await client.command("SELECT INBOX")
            _ = try await client.command("FETCH 1 BODY[]")
            let elapsed = Double(now() - started) / 1e6
            try await client.logout()
            return elapsed
        }
    }
}

/// A blocking socket that logs in, selects INBOX, sends `FETCH 1:* BODY.PEEK[]`, waits
/// for the first response line (the server is streaming) and then reads nothing.
final class StalledReader {
    private let fd: Int32
    private var pending: [UInt8] = []

    init(options: RunOptions, user: String) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var size: Int32 = 4096
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        var timeout = timeval(tv_sec: 30, tv_usec: 0)
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
        try command("L LOGIN \(quoted(user)) \(quoted(options.password))", tag: "L")
        try command("S SELECT INBOX", tag: "S")
        send("F FETCH 1:* BODY.PEEK[]\r\n")
        let first = try line()
        guard first.hasPrefix("* 1 FETCH") else { throw BenchError.setup("FETCH answered: \(first)") }
    }

    func close() { Glibc.close(fd) }

    private func command(_ text: String, tag: String) throws {
        send(text + "\r\n")
        while true {
            let reply = try line()
            guard reply.hasPrefix(tag + " ") else { continue }
            guard reply.hasPrefix(tag + " OK") else { throw BenchError.setup(reply) }
            return
        }
    }

    private func send(_ text: String) {
        let bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return }
            offset += n
        }
    }

    private func line() throws -> String {
        while true {
            if let lf = pending.firstIndex(of: 10) {
                let line = String(decoding: pending[..<lf], as: UTF8.self)
                pending.removeSubrange(...lf)
                return line
            }
            var buffer = [UInt8](repeating: 0, count: 4096)
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            guard n > 0 else { throw BenchError.closed(during: "slow reader setup") }
            pending.append(contentsOf: buffer[..<n])
        }
    }
}
