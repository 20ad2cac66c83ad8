import ArgumentParser
import Dispatch
import IMAPServer
import Logging

#if canImport(Glibc)
    import Glibc
#endif

/// The server itself; `imapd-maildir passwd` and `check` are its subcommands.
@main
struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "imapd-maildir",
        abstract: "An IMAP4rev2 server (RFC 9051) that serves Maildir spools in place.",
        discussion: """
            Every user's Maildir++ tree under --root is served as it is: flags in file names, \
            UIDs in Dovecot's dovecot-uidlist, keywords in dovecot-keywords. Options may also \
            come from --config FILE, one `name = value` per line with the long option names \
            below (`listen` may repeat); options on the command line win.
            """,
        version: Serve.version,
        subcommands: [Passwd.self, Check.self])

    static let version = "imapd-maildir 0.9.0"

    @Option(help: "Read options from this file (`name = value` lines; relative paths are relative to it).")
    var config: String?
    @Option(help: "The spool: each user's Maildir is found under it through --user-path.")
    var root: String?
    @Option(help: "Dovecot passwd-file with the users and their crypt(3) hashes.")
    var passwd: String?
    @Option(help: "Address to listen on, HOST:PORT; repeat for several (default 0.0.0.0:143).")
    var listen: [String] = []
    @Option(help: "Implicit-TLS address, HOST:PORT (993 by convention); repeat for several.")
    var tlsListen: [String] = []
    @Option(help: "PEM certificate chain, server certificate first (with --tls-key). Reloaded on SIGHUP.")
    var tlsCert: String?
    @Option(help: "PEM private key of --tls-cert.")
    var tlsKey: String?
    @Option(help: "PKCS#12 bundle with certificate and key (instead of --tls-cert/--tls-key).")
    var tlsPkcs12: String?
    @Option(help: "File whose first line is the --tls-pkcs12 password.")
    var tlsPkcs12PasswordFile: String?
    @Option(help: "Maildir path of a user under --root: %u login, %n local part, %d domain (default %u).")
    var userPath: String?
    @Option(help: "Hierarchy delimiter on the wire: / (default) or .")
    var delimiter: String?
    @Option(
        help: "Special-use attribute of a folder, NAME=\\Sent (RFC 6154; levels separated by /); repeat for several.")
    var specialUse: [String] = []
    @Option(
        help:
            "Default quota rule in Dovecot's syntax (*:storage=1G, *:messages=10000); repeat for quota_rule2, …; passwd fields quota_rule… replace it."
    )
    var quotaRule: [String] = []
    @Option(help: "Name in the greeting (default: the host name).")
    var serverName: String?
    @Flag(help: "Testing only: accept any password for users whose Maildir exists. Loopback listeners only.")
    var anyPassword = false
    @Flag(help: "Testing only, with --any-password: create a missing user's Maildir at login.")
    var createUsers = false
    @Flag(help: "Accept LOGIN and AUTHENTICATE without TLS from non-loopback clients.")
    var allowPlaintextAuth = false
    @Option(
        help:
            "IP address of a proxy (nginx proxy_protocol on) whose connections start with a PROXY v1/v2 header; repeat for several."
    )
    var proxyProtocolFrom: [String] = []
    @Option(help: "Seconds a listed proxy gets to send its PROXY header (default 10).")
    var proxyHeaderTimeout: Int?
    @Option(
        help: ArgumentHelp(
            "Answer nginx's auth_http requests (mail proxy) on HOST:PORT (default: off).",
            discussion:
                "Loopback addresses only, unless --auth-http-tls: nginx sends the passwords in these requests."))
    var authHttpListen: String?
    @Flag(help: "Serve --auth-http-listen over TLS with the server certificate (required off loopback).")
    var authHttpTls = false
    @Option(help: "Shard map for --auth-http-listen: lines `user-or-pattern IP:PORT` (docs/nginx-proxy.md).")
    var shardMap: String?
    @Option(help: "auth_http connections served at once; more get 503 (default 64).")
    var maxAuthHttpConnections: Int?
    @Flag(help: "Serve a fresh temporary copy of --root, removed at exit (demos and client testing).")
    var copyRoot = false
    @Option(
        help:
            "Seconds of client silence before the server logs it out (default 1800, RFC 9051 minimum; never under 1740 during IDLE)."
    )
    var idleTimeout: Int?
    @Option(help: "Seconds a client gets to complete the TLS handshake (implicit TLS or STARTTLS; default 30).")
    var tlsHandshakeTimeout: Int?
    @Option(help: "Seconds a connection gets to log in, counted from connect, whatever it sends (default 180).")
    var loginTimeout: Int?
    @Option(help: "Open connections allowed in total, logged in or not (default 10000).")
    var maxConnections: Int?
    @Option(help: "Logged-in sessions allowed per user, from all addresses (default 50).")
    var maxConnectionsPerUser: Int?
    @Option(help: "Logged-in sessions allowed per user from one client address (default 10).")
    var maxConnectionsPerUserAddress: Int?
    @Option(help: "Longest command line in bytes (default 65536).")
    var maxLineLength: Int?
    @Option(help: "Largest literal in bytes (default 67108864).")
    var maxLiteralSize: Int?
    @Option(help: "Connections not logged in yet allowed per client IP address (default 50).")
    var maxConnectionsPerAddress: Int?
    @Option(help: "Total literal bytes of one command, e.g. MULTIAPPEND (default 134217728).")
    var maxCommandLiteralBytes: Int?
    @Option(
        help: "Literal bytes buffered for commands other than APPEND, all connections together (default 268435456).")
    var maxBufferedLiteralBytes: Int?
    @Option(help: "Bytes a connection may queue while its command runs before reading pauses (default 262144).")
    var maxQueuedInput: Int?
    @Option(help: "Memory for the cache of parsed messages, in bytes; 0 disables it (default 268435456).")
    var messageCacheSize: Int?
    @Option(help: "Serve Prometheus metrics over HTTP on HOST:PORT (default: off).")
    var metricsListen: String?
    @Option(help: "Run as this user (and its groups) once the listeners are bound; start as root to use it.")
    var user: String?
    @Option(help: "Seconds busy sessions get to finish after SIGTERM or SIGINT (default 30).")
    var shutdownTimeout: Int?
    @Option(help: "trace, debug, info (default), notice, warning or error.")
    var logLevel: String?
    @Flag(help: "Check the configuration (options, --config file, root, passwd file, certificate) and exit.")
    var checkConfig = false

    /// Synchronous on purpose: the main thread stays a live thread blocked here (an
    /// async main parks it, exited for glibc, in Dispatch's sigsuspend, and a setuid
    /// from any other thread then leaves its credentials at root). Async work runs in
    /// tasks the main thread waits for.
    func run() throws {
        let file = try config.map { try ConfigFile(path: $0) }
        let settings = try Settings(command: self, file: file)
        LoggingSystem.bootstrap { label in EscapingLogHandler(label: label, level: settings.logLevel) }
        let logger = Logger(label: "imapd-maildir")
        var configuration = settings.server
        try StartupChecks.checkRoot(configuration.root, logger: logger)
        if checkConfig {
            // Loads the passwd file and the certificate as serving would; binds nothing.
            _ = try IMAPServer(configuration: configuration, logger: logger)
            print("imapd-maildir: configuration OK")
            return
        }
        let scratch = settings.copyRoot ? try RootCopy.make(of: configuration.root) : nil
        if let scratch {
            configuration.root = scratch
            logger.info("serving a temporary copy of the root", metadata: ["copy": "\(scratch)"])
        }
        if geteuid() == 0 && settings.runAsUser == nil {
            // Before any thread exists: capabilities are per thread (Privileges.swift).
            try Privileges.keepOnlyFileCapabilities()
            logger.notice(
                "running as root: each user's files are read and written with that user's ids",
                metadata: ["capabilities": "\(Privileges.keptCapabilities.map(\.name).joined(separator: " "))"])
        }
        let metricsRegistry = settings.metricsListen.map { _ in MetricsEndpoint.bootstrap() }
        let server = try IMAPServer(configuration: configuration, logger: logger)
        // Signals first, so a SIGTERM arriving during start-up is not lost.
        let (stopRequests, stop) = AsyncStream<Void>.makeStream()
        let signals = SignalWatcher(signals: [SIGTERM, SIGINT]) { stop.yield() }
        let addresses = try runBlocking { try await server.bind() }
        let metrics = try settings.metricsListen.flatMap { address in
            try metricsRegistry.map { registry in
                do {
                    return try runBlocking {
                        try await MetricsEndpoint(registry: registry, address: address, server: server)
                    }
                } catch {
                    throw ListenFailure(address: address, kind: "metrics", error: error)
                }
            }
        }
        if let metrics {
            logger.info("metrics", metadata: ["address": "\(metrics.localAddress?.description ?? "?")"])
        }
        if let user = settings.runAsUser {
            // Listeners are bound (privileged ports need root); no client is accepted
            // before the process is `user` for good.
            // Here, on the main thread: glibc applies it to every thread of the process.
            try Privileges.drop(to: user)
            logger.info("dropped privileges", metadata: ["user": "\(user)"])
            // The passwd file is re-read when it changes (issue 13 item 3): that must
            // still work now, or new users would fail to log in until a restart.
            if let passwd = configuration.passwdFile {
                try StartupChecks.checkReadableAfterDrop(passwd, user: user)
            }
        }
        server.beginAccepting()
        for address in addresses {
            print("imapd-maildir: listening on \(address.ipAddress ?? "?"):\(address.port ?? 0)")
        }
        if let address = metrics?.localAddress {
            print("imapd-maildir: metrics on \(address.ipAddress ?? "?"):\(address.port ?? 0)")
        }
        if let address = server.authHTTPAddress {
            print("imapd-maildir: auth_http on \(address.ipAddress ?? "?"):\(address.port ?? 0)")
        }
        fflush(nil)
        // SIGHUP: new connections get the re-read certificate; a broken file keeps the old.
        let reload = SignalWatcher(signals: [SIGHUP]) {
            do {
                try server.reloadCertificates()
                logger.notice("TLS certificate reloaded")
            } catch {
                logger.error("TLS certificate reload failed; keeping the old one", metadata: ["error": "\(error)"])
            }
        }
        try runBlocking {
            for await _ in stopRequests { break }
            logger.notice("stopping: no new connections; BYE to every session")
            await server.shutdown()
            await metrics?.shutdown()
        }
        if let scratch { RootCopy.remove(scratch) }
        logger.notice("stopped")
        withExtendedLifetime((signals, reload)) {}
    }
}

/// Runs `body` in a task and blocks the calling thread until it finishes.
func runBlocking<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) throws -> T {
    let box = ResultBox<T>()
    let done = DispatchSemaphore(value: 0)
    Task {
        do { box.result = .success(try await body()) } catch { box.result = .failure(error) }
        done.signal()
    }
    done.wait()
    guard let result = box.result else { throw CancellationError() }
    return try result.get()
}

/// `@unchecked Sendable`: written once by the task before it signals the semaphore,
/// read only after the wait returns (the semaphore orders the two).
private final class ResultBox<T>: @unchecked Sendable {
    var result: Result<T, Error>?
}

/// SIGTERM / SIGINT handling through Dispatch signal sources. `@unchecked Sendable`:
/// the sources are created in `init`, never changed, and only kept alive here.
final class SignalWatcher: @unchecked Sendable {
    private let sources: [DispatchSourceSignal]

    init(signals: [Int32], handler: @escaping @Sendable () -> Void) {
        sources = signals.map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler(handler: handler)
            source.resume()
            return source
        }
    }
}
