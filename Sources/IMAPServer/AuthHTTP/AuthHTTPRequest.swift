// nginx's auth_http protocol (ngx_mail_auth_http_module, "Protocol"): nginx sends one
// GET per login attempt with the credentials in headers and reads only the answer's
// headers. Issue 17 item 1.
import NIOHTTP1

/// One auth request from nginx, as far as this server uses it.
struct AuthHTTPRequest: Sendable, Equatable {
    enum Method: String, Sendable {
        case plain, login
    }

    var method: Method
    var user: String
    /// The client's password (nginx has it for plain and login). Never logged.
    var password: [UInt8]
    /// The real client's address: the throttle's key, as IMAP LOGIN uses the peer.
    var clientIP: String
    /// 1 for the first attempt of the client's session, counted by nginx.
    var loginAttempt: Int

    /// Why a request is refused before any password is checked.
    enum Refusal: Error, Equatable {
        /// Not nginx's protocol (a header missing or unreadable): HTTP 400.
        case badRequest(String)
        /// A method without a password (apop, cram-md5, external): nginx gets an
        /// Auth-Status without Auth-Wait, and closes the client's session.
        case unsupportedMethod
        /// Not `Auth-Protocol: imap`: the backends serve IMAP only.
        case unsupportedProtocol
    }

    /// Reads the request's headers. `Auth-User` and `Auth-Pass` arrive percent-encoded
    /// (nginx escapes space, `%` and control and non-ASCII bytes, NGX_ESCAPE_MAIL_AUTH).
    static func parse(_ headers: HTTPHeaders) -> Result<AuthHTTPRequest, Refusal> {
        func single(_ name: String) -> Result<String, Refusal> {
            let values = headers[name]
            guard values.count == 1, let value = values.first else {
                return .failure(.badRequest(values.isEmpty ? "no \(name) header" : "\(name) repeated"))
            }
            return .success(value)
        }
        do throws(Refusal) {
            let methodName = try single("Auth-Method").get().lowercased()
            guard let method = Method(rawValue: methodName) else { return .failure(.unsupportedMethod) }
            guard try single("Auth-Protocol").get().lowercased() == "imap" else {
                return .failure(.unsupportedProtocol)
            }
            guard let userBytes = percentDecoded(try single("Auth-User").get()),
                let user = String(validating: userBytes, as: UTF8.self), !user.isEmpty
            else { return .failure(.badRequest("Auth-User is not a percent-encoded UTF-8 name")) }
            guard let password = percentDecoded(try single("Auth-Pass").get()) else {
                return .failure(.badRequest("Auth-Pass is not percent-encoded"))
            }
            let clientIP = try single("Client-IP").get()
            guard !clientIP.isEmpty else { return .failure(.badRequest("empty Client-IP")) }
            var attempt = 1
            if headers.contains(name: "Auth-Login-Attempt") {
                guard let number = Int(try single("Auth-Login-Attempt").get()), number >= 1 else {
                    return .failure(.badRequest("Auth-Login-Attempt is not a positive number"))
                }
                attempt = number
            }
            return .success(
                AuthHTTPRequest(
                    method: method, user: user, password: password, clientIP: clientIP, loginAttempt: attempt))
        } catch {
            return .failure(error)
        }
    }

    /// `%XX` → the byte; any other byte itself. nil for a `%` not followed by two hex
    /// digits.
    static func percentDecoded(_ text: String) -> [UInt8]? {
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count)
        var bytes = text.utf8.makeIterator()
        while let byte = bytes.next() {
            guard byte == UInt8(ascii: "%") else {
                out.append(byte)
                continue
            }
            guard let high = bytes.next().flatMap(hexValue), let low = bytes.next().flatMap(hexValue) else {
                return nil
            }
            out.append(high << 4 | low)
        }
        return out
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}

/// What the endpoint tells nginx (always HTTP 200; nginx reads only these headers).
enum AuthHTTPAnswer: Sendable, Equatable {
    /// Connect the client to this backend.
    case route(host: String, port: Int)
    /// Wrong password or unknown user. `waitSeconds` nil: no `Auth-Wait`, so nginx
    /// answers the client and closes the session (its documentation asks for that
    /// after 10–20 attempts, since each attempt costs nginx memory until the session
    /// ends).
    case invalid(waitSeconds: Int?)
    /// The password was right but no backend is known, or the check could not run.
    case temporaryFailure
    case unsupportedMethod
    case unsupportedProtocol

    static let invalidStatus = "Invalid login or password"
    static let temporaryStatus = "Temporary server problem, try again later"

    var headers: HTTPHeaders {
        var headers = HTTPHeaders()
        switch self {
        case .route(let host, let port):
            headers.add(name: "Auth-Status", value: "OK")
            headers.add(name: "Auth-Server", value: host)
            headers.add(name: "Auth-Port", value: String(port))
        case .invalid(let wait):
            headers.add(name: "Auth-Status", value: Self.invalidStatus)
            if let wait { headers.add(name: "Auth-Wait", value: String(wait)) }
        case .temporaryFailure:
            headers.add(name: "Auth-Status", value: Self.temporaryStatus)
        case .unsupportedMethod:
            headers.add(name: "Auth-Status", value: "Unsupported authentication method")
        case .unsupportedProtocol:
            headers.add(name: "Auth-Status", value: "Unsupported protocol")
        }
        return headers
    }

    /// nginx's Auth-Wait is whole seconds, and 0 would close the session: the throttle's
    /// delay rounded up, at least 1.
    static func waitSeconds(for delay: Duration) -> Int {
        let (seconds, attoseconds) = delay.components
        return max(1, Int(seconds) + (attoseconds > 0 ? 1 : 0))
    }
}
