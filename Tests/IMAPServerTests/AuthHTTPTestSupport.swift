import Auth
import Foundation
import Logging
import XCTest

@testable import IMAPServer

#if canImport(Glibc)
    import Glibc
#endif

/// A plain TCP connection to the auth_http endpoint: raw bytes out, everything the
/// server sends until it closes in. Reads time out after 10 s so a hang fails the test.
final class RawHTTPConnection {
    private let fd: Int32

    init(port: Int) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
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
        guard ok == 0 else {
            close(fd)
            throw POSIXError(.ECONNREFUSED)
        }
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { close(fd) }

    func send(_ text: String) {
        let bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return }
            offset += n
        }
    }

    /// Everything until the server closes; throws when it stays open past the timeout.
    func readUntilClosed() throws -> String {
        var received: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n == 0 { break }
            if n < 0 {
                if errno == EINTR { continue }
                if errno == ECONNRESET { break }  // closed with our request unread
                throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO)
            }
            received += chunk[0..<n]
        }
        return String(decoding: received, as: UTF8.self)
    }
}

/// One auth_http answer: the status line and the headers.
struct AuthHTTPReply {
    var statusLine: String
    var headers: [String: String]

    init(_ raw: String) {
        let lines = raw.components(separatedBy: "\r\n")
        statusLine = lines.first ?? ""
        headers = [:]
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[String(line[..<colon])] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
    }

    var status: String? { headers["Auth-Status"] }
    var wait: Int? { headers["Auth-Wait"].flatMap { Int($0) } }
}

extension RunningServer {
    var authHTTPPort: Int { server.authHTTPAddress?.port ?? 0 }

    /// nginx's request for one login attempt, answered.
    func authRequest(
        user: String, password: String, clientIP: String = "192.0.2.1", method: String = "plain",
        attempt: Int = 1
    ) throws -> AuthHTTPReply {
        try rawAuthRequest(
            "GET /auth HTTP/1.0\r\nHost: localhost\r\nAuth-Method: \(method)\r\nAuth-User: \(user)\r\n"
                + "Auth-Pass: \(password)\r\nAuth-Protocol: imap\r\nAuth-Login-Attempt: \(attempt)\r\n"
                + "Client-IP: \(clientIP)\r\nClient-Host: [UNAVAILABLE]\r\n\r\n")
    }

    func rawAuthRequest(_ request: String) throws -> AuthHTTPReply {
        let connection = try RawHTTPConnection(port: authHTTPPort)
        connection.send(request)
        return AuthHTTPReply(try connection.readUntilClosed())
    }
}
