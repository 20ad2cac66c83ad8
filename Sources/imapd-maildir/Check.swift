import ArgumentParser
import IMAPServer

#if canImport(Glibc)
    import Glibc
#endif

/// `imapd-maildir check --connect HOST:PORT` (or `--config FILE`): a health check for
/// systemd or an orchestrator. Connects, reads the greeting (`* OK` or `* PREAUTH`),
/// sends LOGOUT and expects its tagged OK. Exit status 0 when all of that worked, 1
/// otherwise. With `--config` the address is the file's first `listen`, else its first
/// `tls-listen`, where only the TCP connection is checked (no TLS client here); a
/// wildcard host (0.0.0.0, ::) is checked on loopback. `--wait N` retries for N seconds
/// (a unit's ExecStartPost while the server starts).
struct Check: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Connect, read the greeting, LOGOUT; exit 0 if the server answered properly, 1 if not.")

    @Option(help: "The server to check, HOST:PORT.")
    var connect: String?
    @Option(help: "Check the listener configured in this file (first listen, else first tls-listen).")
    var config: String?
    @Option(help: "Seconds to wait for each answer (default 10).")
    var timeout: Int = 10
    @Option(help: "Keep trying for this many seconds before failing (default 0: one try).")
    var wait: Int = 0
    /// `--config` is also the server's option, and ArgumentParser gives it to the parent
    /// command when both declare it.
    @ParentCommand var server: Serve

    static let logoutTag = "check1"

    func run() throws {
        let (address, greetingExpected) = try target()
        let deadline = ContinuousClock.now + .seconds(wait)
        while true {
            do {
                try check(address, greetingExpected: greetingExpected)
                print("imapd-maildir check: \(address) OK")
                return
            } catch {
                if ContinuousClock.now < deadline {
                    usleep(200_000)  // retry interval while the server starts
                    continue
                }
                print("imapd-maildir check: \(address) FAILED: \(error)")
                throw ExitCode(1)
            }
        }
    }

    /// The address to check and whether an IMAP greeting is expected there (not over TLS).
    private func target() throws -> (ListenAddress, Bool) {
        if let connect {
            guard let address = ListenAddress(parsing: connect) else {
                throw ValidationError("--connect: expected HOST:PORT, got \(connect)")
            }
            return (address, true)
        }
        guard let config = config ?? server.config else {
            throw ValidationError("give --connect HOST:PORT or --config FILE")
        }
        let file = try ConfigFile(path: config)
        let plain = file.entries("listen").first
        guard let entry = plain ?? file.entries("tls-listen").first else {
            return (ListenAddress(host: "127.0.0.1", port: 143), true)  // the server's default
        }
        guard var address = ListenAddress(parsing: entry.value) else {
            throw file.problem(entry.name, "expected HOST:PORT, got \(entry.value)", line: entry.line)
        }
        if address.host == "0.0.0.0" { address = ListenAddress(host: "127.0.0.1", port: address.port) }
        if address.host == "::" { address = ListenAddress(host: "::1", port: address.port) }
        return (address, plain != nil)
    }

    private func check(_ address: ListenAddress, greetingExpected: Bool) throws {
        let connection = try LineConnection(host: address.host, port: address.port, timeoutSeconds: timeout)
        defer { connection.close() }
        guard greetingExpected else { return }
        let greeting = try connection.readLine()
        guard greeting.hasPrefix("* OK") || greeting.hasPrefix("* PREAUTH") else {
            throw CheckFailure(description: "unexpected greeting: \(greeting.prefix(200))")
        }
        try connection.send("\(Self.logoutTag) LOGOUT\r\n")
        while true {
            let line = try connection.readLine()
            if line.hasPrefix(Self.logoutTag + " ") {
                guard line.hasPrefix(Self.logoutTag + " OK") else {
                    throw CheckFailure(description: "LOGOUT refused: \(line.prefix(200))")
                }
                return
            }
        }
    }
}

struct CheckFailure: Error, CustomStringConvertible {
    let description: String
}

/// A blocking TCP client reading CRLF lines; reads and writes time out.
final class LineConnection {
    private let fd: Int32
    private var pending: [UInt8] = []
    static let maxLine = 64 * 1024

    init(host: String, port: Int, timeoutSeconds: Int) throws {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &list) == 0, let first = list else {
            throw CheckFailure(description: "cannot resolve \(host)")
        }
        defer { freeaddrinfo(list) }
        var current: UnsafeMutablePointer<addrinfo>? = first
        var connected: Int32 = -1
        while let info = current {
            let fd = socket(info.pointee.ai_family, info.pointee.ai_socktype, info.pointee.ai_protocol)
            if fd >= 0 {
                var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
                let size = socklen_t(MemoryLayout<timeval>.size)
                setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, size)
                setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, size)
                if Glibc.connect(fd, info.pointee.ai_addr, info.pointee.ai_addrlen) == 0 {
                    connected = fd
                    break
                }
                Glibc.close(fd)
            }
            current = info.pointee.ai_next
        }
        guard connected >= 0 else {
            throw CheckFailure(description: "cannot connect: \(String(cString: strerror(errno)))")
        }
        fd = connected
    }

    func send(_ text: String) throws {
        var bytes = Array(text.utf8)[...]
        while !bytes.isEmpty {
            let n = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { throw CheckFailure(description: "send failed (errno \(errno))") }
            bytes = bytes.dropFirst(n)
        }
    }

    func readLine() throws -> String {
        while true {
            if let lf = pending.firstIndex(of: 10) {
                var line = Array(pending[..<lf])
                pending.removeSubrange(...lf)
                if line.last == 13 { line.removeLast() }
                return String(decoding: line, as: UTF8.self)
            }
            guard pending.count < Self.maxLine else { throw CheckFailure(description: "line too long") }
            var buffer = [UInt8](repeating: 0, count: 4096)
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            guard n > 0 else {
                throw CheckFailure(description: n == 0 ? "connection closed" : "read failed or timed out")
            }
            pending.append(contentsOf: buffer[..<n])
        }
    }

    func close() { Glibc.close(fd) }
}
