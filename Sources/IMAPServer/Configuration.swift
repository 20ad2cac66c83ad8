import IMAPProtocol
import MaildirStore

/// Everything the server needs to know, filled in by the executable from the command
/// line and the configuration file. Every limit has the default the README documents.
public struct ServerConfiguration: Sendable {
    /// The spool: user Maildirs are found under it through `userPathTemplate`.
    public var root: String
    /// Dovecot passwd-file. nil only with `anyPassword`.
    public var passwdFile: String?
    /// Plain (STARTTLS-capable later) listeners.
    public var listen: [ListenAddress] = [ListenAddress(host: "0.0.0.0", port: 143)]
    /// `%u` full login, `%n` local part, `%d` domain (Dovecot's variables). Relative
    /// results are under `root`.
    public var userPathTemplate: String = "%u"
    /// Hierarchy delimiter on the wire: "/" (default) or "." (Dovecot 2.3 default).
    public var delimiter: Character = "/"
    /// RFC 6154 special-use attributes set by the administrator: folder name (levels
    /// separated by "/", compared case-insensitively) → `\Sent`, `\Drafts`, …; they
    /// take precedence over the attributes derived from the usual names.
    public var specialUse: [String: String] = [:]
    /// RFC 6154 §2 attributes an administrator may assign.
    public var serverName: String = "localhost"
    /// Default quota rules in Dovecot's syntax (`*:storage=1G`), by position: the first
    /// is `quota_rule`, the second `quota_rule2`, …; a user's passwd extra field of the
    /// same position replaces it (MaildirStore/QuotaRule.swift). Checked at start.
    public var quotaRules: [String] = []
    /// Testing only: accept any password for a user whose Maildir exists.
    public var anyPassword: Bool = false
    /// Testing only, with anyPassword: create a missing user's Maildir at login.
    public var createUsers: Bool = false
    /// Implicit-TLS listeners (RFC 8314 §3.3; port 993 by convention). Need `tlsCertificate`.
    public var tlsListen: [ListenAddress] = []
    /// The server certificate: enables `tlsListen` and STARTTLS on the plain listeners.
    public var tlsCertificate: TLSCertificateSource?
    /// Accept LOGIN/AUTHENTICATE over unencrypted non-loopback connections.
    public var allowPlaintextAuth: Bool = false
    /// Addresses of proxies (nginx's `proxy_protocol on`) whose connections start with a
    /// PROXY protocol v1/v2 header (issue 17): logs, limits and throttling then see the
    /// client address it carries, and plaintext LOGIN is accepted from them (the proxy
    /// ended the client's TLS). A connection from a listed address without a valid
    /// header within `proxyHeaderTimeoutSeconds` is closed. Empty: no PROXY protocol.
    public var proxyProtocolFrom: [String] = []
    /// Deadline for the PROXY header of a connection from a listed proxy.
    public var proxyHeaderTimeoutSeconds: Int = 10
    /// nginx's auth_http service (issue 17; AuthHTTP/): off when nil. nginx sends the
    /// passwords in it, so a non-loopback address needs `authHTTPTLS`.
    public var authHTTPListen: ListenAddress?
    /// Serve the auth_http listener over TLS with the server certificate.
    public var authHTTPTLS: Bool = false
    /// The shard map (user or pattern → backend) the auth_http service answers from;
    /// a passwd entry's `backend=` field wins over it.
    public var shardMapFile: String?
    /// Auth connections served at once; more get 503 (nginx opens one per attempt).
    public var maxAuthHTTPConnections: Int = 64
    /// Time an auth connection gets to send its whole request (not to get its answer).
    public var authHTTPRequestTimeout: Duration = .seconds(10)
    /// RFC 9051 §5.4: at least 30 minutes of inactivity before an autologout. During
    /// IDLE the floor `idleCommandMinimumTimeoutSeconds` applies whatever this says.
    public var idleTimeoutSeconds: Int = 1800
    /// RFC 2177 / RFC 9051 §6.3.13: a client re-issues IDLE at least every 29 minutes,
    /// so a session in IDLE is never logged out sooner.
    public static let idleCommandMinimumTimeoutSeconds = 29 * 60
    /// A client that connects to an implicit-TLS listener, or sends STARTTLS, and does
    /// not complete the TLS handshake within this many seconds is disconnected.
    public var tlsHandshakeTimeoutSeconds: Int = 30
    /// A connection that has not logged in this many seconds after it connected is
    /// closed, however active it is (Dovecot's login timeout is 3 minutes): a client
    /// that trickles a command, or sends NOOPs without logging in, cannot hold a
    /// connection longer.
    public var loginTimeoutSeconds: Int = 180
    /// Open connections, logged in or not: each costs a file descriptor and memory
    /// (about 9 KiB for an idle session); past it new connections get `* BYE` at once.
    public var maxConnections: Int = 10_000
    /// Logged-in sessions per user, from all addresses together: bounds one account's
    /// share of the server (a leaked password used from many places); the per-address
    /// limit below is the one clients meet.
    public var maxConnectionsPerUser: Int = 50
    /// Logged-in sessions per user from one client address (Dovecot's
    /// `mail_max_userip_connections`, also 10): a client opens a few connections per
    /// account (Thunderbird up to 5), so more from one place is a runaway client.
    public var maxConnectionsPerUserAddress: Int = 10
    /// Connections from one client IP address that have not logged in yet. Logged-in
    /// sessions do not count, so many users behind one NAT address are never refused.
    public var maxConnectionsPerAddress: Int = 50
    /// Literal bytes buffered in memory for commands other than APPEND (which streams
    /// to disk), across all connections. A command whose literal does not fit gets
    /// `NO [LIMIT]` before the continuation (`{n}`), or `BYE` (`{n+}`).
    public var maxBufferedLiteralBytes: Int = 256 * 1024 * 1024
    /// Input a connection may queue while a command runs (pipelined commands and
    /// literals) before the server stops reading from it until the command is done.
    public var maxQueuedInputBytes: Int = 256 * 1024
    /// Graceful shutdown: how long busy sessions may finish their command.
    public var shutdownTimeoutSeconds: Int = 30
    public var decoderLimits: DecoderLimits = DecoderLimits()
    /// Threads doing blocking file and crypt work off the event loops.
    public var blockingThreads: Int = 8
    /// How often an IDLE session rescans its folder for changes made by other programs
    /// (the inotify watcher makes this a fallback; Dovecot's mailbox_idle_check_interval).
    public var idlePollSeconds: Int = 30
    /// Memory for the server's cache of parsed messages (ENVELOPE, BODYSTRUCTURE and the
    /// MIME offsets of each message, shared by every session): an estimated byte budget,
    /// least recently used entries evicted beyond it; 0 disables the cache.
    public var messageCacheBytes: Int = 256 * 1024 * 1024
    /// RFC 5267 live searches (CONTEXT=SEARCH/SORT): messages one report of folder
    /// changes may re-evaluate for one of them before it ends with NOUPDATE.
    public var maxLiveSearchReevaluation: Int = 5_000
    /// SORT and THREAD keep what they read of each message's header in files beside
    /// dovecot-uidlist (`imapd-cache.dates`, `imapd-cache.headers`; HeaderCache/), and
    /// FETCH and SEARCH their ENVELOPE, BODYSTRUCTURE and header texts
    /// (`imapd-cache.listing`; ListingCache/), so a restart does not mean reading every
    /// message again. Off: nothing is written.
    public var headerCache: Bool = true

    /// Seconds of client silence before the autologout: `idleTimeoutSeconds`, raised
    /// to the IDLE floor while the session is in IDLE.
    public func inactivityTimeoutSeconds(idling: Bool) -> Int {
        idling ? max(idleTimeoutSeconds, Self.idleCommandMinimumTimeoutSeconds) : idleTimeoutSeconds
    }

    public init(root: String, passwdFile: String?) {
        self.root = root
        self.passwdFile = passwdFile
    }
}

/// Where the server certificate and its private key come from. Both forms are read
/// again by `IMAPServer.reloadCertificates()` (SIGHUP).
public enum TLSCertificateSource: Sendable, Hashable {
    /// A PEM certificate chain (server certificate first) and a PEM private key.
    case pem(certificateFile: String, keyFile: String)
    /// A PKCS#12 bundle and a file whose first line is the bundle's password.
    case pkcs12(file: String, passwordFile: String)
}

public struct ListenAddress: Sendable, Hashable, CustomStringConvertible {
    public var host: String
    public var port: Int
    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// Parses `HOST:PORT`, `[v6]:PORT`, or `:PORT` (all addresses).
    public init?(parsing text: String) {
        let hostPart: Substring
        let portPart: Substring
        if text.hasPrefix("["), let close = text.firstIndex(of: "]") {
            hostPart = text[text.index(after: text.startIndex)..<close]
            let rest = text[text.index(after: close)...]
            guard rest.first == ":" else { return nil }
            portPart = rest.dropFirst()
        } else {
            guard let colon = text.lastIndex(of: ":") else { return nil }
            hostPart = text[..<colon]
            portPart = text[text.index(after: colon)...]
        }
        guard let port = Int(portPart), (0...65535).contains(port) else { return nil }
        self.init(host: hostPart.isEmpty ? "0.0.0.0" : String(hostPart), port: port)
    }

    public var isLoopback: Bool {
        host == "localhost" || host == "::1" || host.hasPrefix("127.")
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}

extension ServerConfiguration {
    /// Why a `--quota-rule` cannot be used (a per-folder rule, a bad limit), or nil.
    public static func quotaRuleProblem(_ rule: String) -> String? {
        do throws(QuotaRuleError) {
            _ = try QuotaRule.limits([rule])
            return nil
        } catch {
            return error.message
        }
    }
}
