import ArgumentParser
import Dispatch
import IMAPServer
import Logging

#if canImport(Glibc)
    import Glibc
#endif

/// The server itself; `imapd-maildir passwd` is its one subcommand.
@main
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "imapd-maildir",
        abstract: "An IMAP4rev2 server (RFC 9051) that serves Maildir spools in place.",
        discussion: """
            Every user's Maildir++ tree under --root is served as it is: flags in file names, \
            UIDs in Dovecot's dovecot-uidlist, keywords in dovecot-keywords. Options may also \
            come from --config FILE, one `name = value` per line with the long option names \
            below (`listen` may repeat); options on the command line win.
            """,
        subcommands: [Passwd.self])

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
    @Option(help: "Name in the greeting (default: the host name).")
    var serverName: String?
    @Flag(help: "Testing only: accept any password for users whose Maildir exists. Loopback listeners only.")
    var anyPassword = false
    @Flag(help: "Testing only, with --any-password: create a missing user's Maildir at login.")
    var createUsers = false
    @Flag(help: "Accept LOGIN and AUTHENTICATE without TLS from non-loopback clients.")
    var allowPlaintextAuth = false
    @Flag(help: "Serve a fresh temporary copy of --root, removed at exit (demos and client testing).")
    var copyRoot = false
    @Option(help: "Seconds of client silence before the server logs it out (default 1800, RFC 9051 minimum).")
    var idleTimeout: Int?
    @Option(help: "Logged-in connections allowed per user (default 20).")
    var maxConnectionsPerUser: Int?
    @Option(help: "Longest command line in bytes (default 65536).")
    var maxLineLength: Int?
    @Option(help: "Largest literal in bytes (default 67108864).")
    var maxLiteralSize: Int?
    @Option(help: "trace, debug, info (default), notice, warning or error.")
    var logLevel: String?

    func run() async throws {
        let file = try config.map { try ConfigFile(path: $0) }
        let settings = try Settings(command: self, file: file)
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = settings.logLevel
            return handler
        }
        let logger = Logger(label: "imapd-maildir")
        var configuration = settings.server
        let scratch = settings.copyRoot ? try RootCopy.make(of: configuration.root) : nil
        if let scratch {
            configuration.root = scratch
            logger.info("serving a temporary copy of the root", metadata: ["copy": "\(scratch)"])
        }
        let server = try IMAPServer(configuration: configuration, logger: logger)
        let addresses = try await server.start()
        for address in addresses {
            print("imapd-maildir: listening on \(address.ipAddress ?? "?"):\(address.port ?? 0)")
        }
        fflush(nil)
        // SIGTERM/SIGINT close the listeners; run() then returns through the cleanup below.
        let signals = SignalWatcher(signals: [SIGTERM, SIGINT]) {
            logger.notice("stopping")
            Task { await server.shutdown() }
        }
        // SIGHUP: new connections get the re-read certificate; a broken file keeps the old.
        let reload = SignalWatcher(signals: [SIGHUP]) {
            do {
                try server.reloadCertificates()
                logger.notice("TLS certificate reloaded")
            } catch {
                logger.error("TLS certificate reload failed; keeping the old one", metadata: ["error": "\(error)"])
            }
        }
        try await server.waitUntilClosed()
        await server.shutdown()
        if let scratch { RootCopy.remove(scratch) }
        withExtendedLifetime((signals, reload)) {}
    }
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
