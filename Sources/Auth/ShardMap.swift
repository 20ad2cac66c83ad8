import Glibc

/// Where each user lives when users are sharded over several backends behind nginx's
/// mail proxy (issue 17; docs/nginx-proxy.md "The shard map"). One rule a line:
///
///     # comment
///     alice              10.0.0.11:143
///     *@example.org      10.0.0.12:143
///     *                  10.0.0.11:143
///
/// The first field is an exact user name or a glob pattern (`*` any run of characters,
/// `?` one character; case-sensitive, like passwd-file user names); the second is the
/// backend as `IPv4:PORT` or `[IPv6]:PORT`. nginx connects to the address it is given
/// without resolving names (its `Auth-Server` must be an IP address), so a host name
/// is refused here rather than at the first login.
///
/// Precedence: an exact name wins over every pattern, wherever it stands, so moving one
/// user is adding or changing one line; among patterns the first that matches, in file
/// order, wins (put `*` last). A `backend=` field in the user's passwd entry wins over
/// the whole map (`ShardMap.backend(for:passwdField:)`).
///
/// Strict: a line that is not exactly two fields, a bad address, or an exact name given
/// twice makes the whole map invalid. A half-understood map routes a user to the wrong
/// backend, where their mail is not (or, worse, where a second copy starts).
public struct ShardMap: Sendable, Equatable {
    /// A backend's address as nginx needs it (`Auth-Server`, `Auth-Port`).
    public struct Backend: Sendable, Hashable, CustomStringConvertible {
        public var host: String
        public var port: Int

        public init(host: String, port: Int) {
            self.host = host
            self.port = port
        }

        /// Parses `IPv4:PORT` or `[IPv6]:PORT`; nil for anything else (host names
        /// included).
        public init?(parsing text: some StringProtocol) {
            let host: Substring
            let port: Substring
            let text = Substring(text)
            if text.hasPrefix("[") {
                guard let close = text.firstIndex(of: "]"), text[text.index(after: close)...].first == ":" else {
                    return nil
                }
                host = text[text.index(after: text.startIndex)..<close]
                port = text[text.index(close, offsetBy: 2)...]
                guard Self.isAddress(host, family: AF_INET6) else { return nil }
            } else {
                guard let colon = text.lastIndex(of: ":") else { return nil }
                host = text[..<colon]
                port = text[text.index(after: colon)...]
                guard Self.isAddress(host, family: AF_INET) else { return nil }
            }
            guard port.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }),
                let number = Int(port), (1...65535).contains(number)
            else { return nil }
            self.init(host: String(host), port: number)
        }

        private static func isAddress(_ text: Substring, family: Int32) -> Bool {
            var storage = in6_addr()
            return inet_pton(family, String(text), &storage) == 1
        }

        public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
    }

    public struct Failure: Error, Equatable, Sendable, CustomStringConvertible {
        public var line: Int
        public var reason: String
        public var description: String { "line \(line) \(reason)" }
    }

    /// The passwd extra field that names a user's backend (`backend=10.0.0.11:143`).
    public static let passwdField = "backend"

    private var exact: [String: Backend] = [:]
    private var patterns: [(pattern: String, backend: Backend)] = []

    public init() {}

    public static func == (lhs: ShardMap, rhs: ShardMap) -> Bool {
        lhs.exact == rhs.exact && lhs.patterns.elementsEqual(rhs.patterns) { $0 == $1 }
    }

    /// Rules in the map (exact names and patterns).
    public var count: Int { exact.count + patterns.count }

    public static func parse(_ contents: [UInt8]) -> Result<ShardMap, Failure> {
        guard let text = String(validating: contents, as: UTF8.self) else {
            return .failure(Failure(line: 0, reason: "is not valid UTF-8"))
        }
        var map = ShardMap()
        var lineNumber = 0
        for rawLine in text.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNumber += 1
            let content = rawLine.prefix { $0 != "#" }
            let fields = content.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" })
            if fields.isEmpty { continue }
            guard fields.count == 2 else {
                return .failure(Failure(line: lineNumber, reason: "is not `user-or-pattern host:port`"))
            }
            guard let backend = Backend(parsing: fields[1]) else {
                return .failure(
                    Failure(line: lineNumber, reason: "has a backend that is not IPv4:PORT or [IPv6]:PORT"))
            }
            let key = String(fields[0])
            if key.contains("*") || key.contains("?") {
                map.patterns.append((key, backend))
            } else {
                guard map.exact[key] == nil else {
                    return .failure(Failure(line: lineNumber, reason: "names a user already named above"))
                }
                map.exact[key] = backend
            }
        }
        return .success(map)
    }

    /// The backend of `user`: the passwd entry's `backend=` field when it has one, else
    /// the exact rule, else the first matching pattern; nil when nothing matches. An
    /// invalid passwd field is `.invalidPasswdField` (a configuration error the caller
    /// reports), never silently replaced by the map.
    public func backend(for user: String, passwdField: String? = nil) -> Lookup {
        if let passwdField {
            guard let backend = Backend(parsing: passwdField) else { return .invalidPasswdField }
            return .found(backend)
        }
        if let backend = exact[user] { return .found(backend) }
        for rule in patterns where Self.glob(rule.pattern, matches: user) {
            return .found(rule.backend)
        }
        return .none
    }

    public enum Lookup: Sendable, Equatable {
        case found(Backend)
        case none
        case invalidPasswdField
    }

    /// `*` any run of characters (also none), `?` exactly one; everything else itself.
    /// Iterative with one backtrack point, so linear-ish for any pattern (no recursion
    /// for a client-chosen user name to blow up).
    static func glob(_ pattern: String, matches text: String) -> Bool {
        let p = Array(pattern.unicodeScalars)
        let t = Array(text.unicodeScalars)
        var (pi, ti) = (0, 0)
        var star: Int? = nil
        var resume = 0
        while ti < t.count {
            if pi < p.count && (p[pi] == "?" || (p[pi] != "*" && p[pi] == t[ti])) {
                pi += 1
                ti += 1
            } else if pi < p.count && p[pi] == "*" {
                star = pi
                resume = ti
                pi += 1
            } else if let star {
                pi = star + 1
                resume += 1
                ti = resume
            } else {
                return false
            }
        }
        while pi < p.count && p[pi] == "*" { pi += 1 }
        return pi == p.count
    }
}
