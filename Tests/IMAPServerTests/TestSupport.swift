import Auth
import Foundation
import Logging
import XCTest

@testable import IMAPServer

#if canImport(Glibc)
    import Glibc
#endif

/// A temporary Maildir++ tree for one test, removed afterwards.
final class TemporaryMaildir: Sendable {
    let root: String  // the spool; users live below it
    init() throws {
        root = NSTemporaryDirectory() + "imapd-test-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
    }
    deinit { remove() }

    /// Removes the tree now. XCTest keeps every test case, and what its teardown blocks
    /// captured, until the process exits: a deinit alone left hundreds of trees in
    /// /tmp after each run.
    func remove() { try? FileManager.default.removeItem(atPath: root) }

    /// Creates `<root>/<user>` with cur/new/tmp (and `folders` as `.Name` subfolders).
    @discardableResult
    func makeUser(_ user: String, folders: [String] = []) throws -> String {
        let home = root + "/" + user
        for dir in ["", "/cur", "/new", "/tmp"] {
            try FileManager.default.createDirectory(atPath: home + dir, withIntermediateDirectories: true)
        }
        for folder in folders {
            let path = home + "/." + folder
            for dir in ["", "/cur", "/new", "/tmp"] {
                try FileManager.default.createDirectory(atPath: path + dir, withIntermediateDirectories: true)
            }
            _ = FileManager.default.createFile(atPath: path + "/maildirfolder", contents: Data())
        }
        return home
    }

    /// Writes a message file like an MDA would (tmp, then rename into place).
    @discardableResult
    func deliver(
        _ user: String, folder: String? = nil, name: String, into subdir: String = "new", body: String,
        mtime: TimeInterval? = nil
    ) throws -> String {
        let base = root + "/" + user + (folder.map { "/." + $0 } ?? "")
        let tmp = base + "/tmp/" + name
        _ = FileManager.default.createFile(atPath: tmp, contents: Data(body.utf8))
        if let mtime {
            try FileManager.default.setAttributes(
                [.modificationDate: Date(timeIntervalSince1970: mtime)], ofItemAtPath: tmp)
        }
        let target = base + "/" + subdir + "/" + name
        guard rename(tmp, target) == 0 else { throw POSIXError(.EIO) }
        return target
    }

    func files(_ user: String, _ subdir: String, folder: String? = nil) -> [String] {
        let dir = root + "/" + user + (folder.map { "/." + $0 } ?? "") + "/" + subdir
        return ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).filter { !$0.hasPrefix(".") }
            .sorted()
    }
}

/// The real server on 127.0.0.1 with an ephemeral port. Tests start it with
/// `startServer` (ConnectionTestSupport.swift), which stops it at teardown whatever the
/// outcome; `stop()` stops it earlier (a second stop does nothing).
final class RunningServer: Sendable {
    let server: IMAPServer
    let port: Int
    let maildir: TemporaryMaildir
    let passwdPath: String

    /// `hashes`: further users with a crypt(3) hash instead of a plaintext password;
    /// `throttle`: a login throttle whose sleeping the test controls; `logger`: to
    /// record what the server logs.
    init(
        users: [String: String] = ["alice": "secret", "bob": "hunter2"], hashes: [String: String] = [:],
        throttle: LoginThrottle = LoginThrottle(), logger: Logger? = nil,
        configure: (inout ServerConfiguration) -> Void = { _ in }
    ) async throws {
        maildir = try TemporaryMaildir()
        passwdPath = maildir.root + "/passwd"
        let lines =
            (users.map { "\($0.key):{PLAIN}\($0.value)::::::" } + hashes.map { "\($0.key):\($0.value)::::::" })
            .joined(separator: "\n") + "\n"
        _ = FileManager.default.createFile(atPath: passwdPath, contents: Data(lines.utf8))
        for user in Array(users.keys) + Array(hashes.keys) { try maildir.makeUser(user) }
        var config = ServerConfiguration(root: maildir.root, passwdFile: passwdPath)
        config.listen = [ListenAddress(host: "127.0.0.1", port: 0)]
        config.serverName = "test"
        configure(&config)
        var quiet = Logger(label: "test")
        quiet.logLevel = .error
        server = try IMAPServer(configuration: config, logger: logger ?? quiet, throttle: throttle)
        let addresses = try await server.start()
        port = addresses.first?.port ?? 0
    }

    func stop() async { await server.shutdown() }

    func connect() throws -> TestClient { try TestClient(port: port) }
}

/// A blocking line-oriented IMAP client over a real TCP socket. Reads time out after
/// 10 s so a server bug fails the test instead of hanging it.
final class TestClient {
    private let fd: Int32
    private var pending: [UInt8] = []
    private var tagCounter = 0

    /// `receiveBufferBytes`: a small socket receive buffer (set before connecting, which
    /// turns off its autotuning), so the server blocks writing a large response the
    /// test does not read.
    /// `preamble`: bytes sent before the greeting is read (a PROXY protocol header).
    init(port: Int, receiveBufferBytes: Int32? = nil, preamble: [UInt8] = []) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        if var size = receiveBufferBytes {
            setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let socketFD = fd
        let ok = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(socketFD, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard ok == 0 else { throw POSIXError(.ECONNREFUSED) }
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        if !preamble.isEmpty { sendRaw(preamble) }
        greetingLine = try readLine()
    }
    private(set) var greetingLine: String = ""

    deinit { close(fd) }

    func sendRaw(_ bytes: [UInt8]) {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return }
            offset += n
        }
    }

    func sendRaw(_ text: String) { sendRaw(Array(text.utf8)) }

    /// Ends the TCP connection as a client that gives up does (the descriptor itself is
    /// closed by deinit).
    func disconnect() { shutdown(fd, Int32(SHUT_RDWR)) }

    /// One line without CRLF. Literals inside a response come as separate reads.
    func readLine() throws -> String {
        var line = try readLineBytes()
        if line.last == 10 { line.removeLast() }
        if line.last == 13 { line.removeLast() }
        return String(decoding: line, as: UTF8.self)
    }

    /// One line exactly as received, its LF (and CR) included.
    func readLineBytes() throws -> [UInt8] {
        while true {
            if let lf = pending.firstIndex(of: 10) {
                let line = Array(pending[...lf])
                pending.removeSubrange(...lf)
                return line
            }
            try fill()
        }
    }

    func readBytes(_ count: Int) throws -> [UInt8] {
        while pending.count < count { try fill() }
        let out = Array(pending[..<count])
        pending.removeSubrange(..<count)
        return out
    }

    private func fill() throws {
        var buffer = [UInt8](repeating: 0, count: 65536)
        let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        guard n > 0 else { throw POSIXError(.ECONNRESET) }
        pending.append(contentsOf: buffer[..<n])
    }

    /// Waits up to `timeout` seconds for the server to close the connection, keeping
    /// what it sends meanwhile for `readUntilClosed`. True when it closed.
    func closes(within timeout: TimeInterval) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let left = deadline.timeIntervalSinceNow
            guard left > 0 else { return false }
            var descriptor = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&descriptor, 1, Int32(left * 1000) + 1) > 0 else { continue }
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { return true }
            pending.append(contentsOf: buffer[..<n])
        }
    }

    /// Reads until the connection closes; returns everything read.
    func readUntilClosed() -> String {
        var all = pending
        pending = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { break }
            all.append(contentsOf: buffer[..<n])
        }
        return String(decoding: all, as: UTF8.self)
    }

    struct Reply {
        var untagged: [String]
        var tagged: String
        /// Literal payloads in order of appearance.
        var literals: [[UInt8]]
        var ok: Bool { tagged.split(separator: " ").dropFirst().first == "OK" }
        var status: String { String(tagged.split(separator: " ").dropFirst().first ?? "") }
    }

    /// Sends `tag command` and collects everything up to the tagged reply. Lines that
    /// announce a literal `{n}` have the literal read and stored.
    @discardableResult
    func command(_ text: String) throws -> Reply {
        tagCounter += 1
        let tag = "T\(tagCounter)"
        sendRaw("\(tag) \(text)\r\n")
        return try collect(tag: tag)
    }

    func collect(tag: String) throws -> Reply {
        var untagged: [String] = []
        var literals: [[UInt8]] = []
        while true {
            var line = try readLine()
            while let size = TestClient.trailingLiteral(line) {
                let literal = try readBytes(size)
                literals.append(literal)
                line += "{literal}" + (try readLine())
            }
            if line.hasPrefix(tag + " ") { return Reply(untagged: untagged, tagged: line, literals: literals) }
            untagged.append(line)
        }
    }

    static func trailingLiteral(_ line: String) -> Int? {
        guard line.hasSuffix("}"), let open = line.lastIndex(of: "{") else { return nil }
        return Int(line[line.index(after: open)..<line.index(before: line.endIndex)])
    }

    func login(_ user: String = "alice", _ password: String = "secret") throws {
        let reply = try command("LOGIN \(user) \(password)")
        XCTAssertTrue(reply.ok, reply.tagged)
    }
}
