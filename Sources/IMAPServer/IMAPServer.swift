import Auth
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The server: binds the listeners and serves connections until `shutdown()`.
///
/// Threads: SwiftNIO event loops (one per core) do socket I/O and framing; every
/// blocking operation (readdir, open, rename, fsync, crypt) runs on a thread pool
/// (WorkPools: file system, message content, crypt), so a slow disk or an expensive
/// hash never stalls other clients' sockets, and output waits for a slow client
/// without a thread (ChannelOutput).
public final class IMAPServer: Sendable {
    public let configuration: ServerConfiguration
    let context: ServerContext
    let group: MultiThreadedEventLoopGroup
    private let pools: WorkPools
    let channels = Mutex<[Channel]>([])
    private let stopped = Mutex(false)
    let tls: TLSContextHolder?
    let authHTTP: AuthHTTPEndpoint?
    let authHTTPChannel = Mutex<Channel?>(nil)

    /// Loads the passwd file (when one is configured) and prepares the threads.
    public convenience init(configuration: ServerConfiguration, logger: Logger) throws {
        try self.init(configuration: configuration, logger: logger, throttle: LoginThrottle())
    }

    /// `throttle`: tests inject one whose clock and sleeping they control.
    init(configuration: ServerConfiguration, logger: Logger, throttle: LoginThrottle) throws {
        self.configuration = configuration
        let passwd = try configuration.passwdFile.map { try PasswdDatabase(path: $0, logger: logger) }
        if let passwd, !passwd.plaintextUsers.isEmpty {
            logger.warning(
                "passwd file holds plaintext passwords; use `imapd-maildir passwd` to hash them",
                metadata: ["users": "\(passwd.plaintextUsers.count)"])
        }
        guard configuration.tlsListen.isEmpty || configuration.tlsCertificate != nil else {
            throw IMAPServerError.tlsListenWithoutCertificate
        }
        let tls = try configuration.tlsCertificate.map { try TLSContextHolder(source: $0) }
        self.tls = tls
        pools = WorkPools(generalThreads: configuration.blockingThreads)
        group = MultiThreadedEventLoopGroup(numberOfThreads: System.coreCount)
        context = ServerContext(
            config: configuration, passwd: passwd, pools: pools, logger: logger, tls: tls,
            throttle: throttle)
        authHTTP = try Self.makeAuthHTTP(configuration: configuration, context: context, logger: logger)
    }

    /// Binds every listener and starts accepting. Returns the bound addresses (port 0 becomes the real port).
    /// Plain listeners come first, then the implicit-TLS ones, each in configured order.
    public func start() async throws -> [SocketAddress] {
        let bound = try await bind()
        beginAccepting()
        return bound
    }

    /// Binds every listener without accepting yet: connections wait in the kernel's
    /// backlog until `beginAccepting()`, so privileges can be dropped in between
    /// (`--user`) and no client is ever served by a root process.
    public func bind() async throws -> [SocketAddress] {
        var bound: [SocketAddress] = []
        let server = context
        // One inotify instance for the server: IDLE learns of deliveries at once. If it
        // cannot start, IDLE's periodic rescan (idlePollSeconds) still finds changes.
        do {
            try context.registry.startWatching()
        } catch {
            context.logger.warning("inotify unavailable: falling back to rescans", metadata: ["error": "\(error)"])
        }
        let tls = self.tls
        let listeners = configuration.listen.map { ($0, false) } + configuration.tlsListen.map { ($0, true) }
        for (address, implicitTLS) in listeners {
            let channel: Channel
            do {
                channel = try await ServerBootstrap(group: group)
                    .serverChannelOption(.backlog, value: 256)
                    .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                    .serverChannelOption(.autoRead, value: false)
                    .childChannelOption(.socketOption(.so_keepalive), value: 1)
                    .childChannelOption(.autoRead, value: true)
                    .childChannelInitializer { channel in
                        server.liveConnections.add(channel)
                        return channel.eventLoop.makeCompletedFuture {
                            let pipeline = channel.pipeline.syncOperations
                            guard let proxy = server.proxyProtocol(from: channel.remoteAddress) else {
                                try Self.addHandlers(pipeline, server: server, tls: tls, implicitTLS: implicitTLS)
                                return
                            }
                            // A listed proxy: its PROXY header comes before TLS and IMAP.
                            try pipeline.addHandler(
                                ProxyProtocolHandler(deadline: proxy) { client, pipeline in
                                    try Self.addHandlers(
                                        pipeline, server: server, tls: tls, implicitTLS: implicitTLS, client: client)
                                })
                        }
                    }
                    .bind(host: address.host, port: address.port).get()
            } catch {
                throw ListenFailure(address: address, kind: implicitTLS ? "IMAP over TLS" : "IMAP", error: error)
            }
            channels.withLock { $0.append(channel) }
            if let local = channel.localAddress { bound.append(local) }
            context.logger.info(
                "listening",
                metadata: ["address": "\(channel.localAddress?.description ?? "?")", "tls": "\(implicitTLS)"])
        }
        try await bindAuthHTTP()
        return bound
    }

    /// Reads the TLS certificate and key again (SIGHUP). Connections accepted from now
    /// on use the new certificate; running ones keep theirs. On error the old
    /// certificate stays in use and the error is thrown. Without TLS, does nothing.
    public func reloadCertificates() throws {
        try tls?.reload()
    }

    /// inotify watcher counters (events read, overflow rescans) for the metrics.
    public var watcherEvents: Int { context.registry.watcherStatistics.events.load(ordering: .relaxed) }
    public var watcherRescans: Int { context.registry.watcherStatistics.rescans.load(ordering: .relaxed) }
    /// Open client connections.
    public var openConnections: Int { context.liveConnections.count }

    /// Starts accepting connections on every bound listener.
    public func beginAccepting() {
        for channel in channels.withLock({ $0 }) {
            channel.setOption(.autoRead, value: true).whenFailure { [logger = context.logger] error in
                logger.error("cannot start accepting", metadata: ["error": "\(error)"])
            }
        }
    }

    /// Waits until every listener is closed.
    public func waitUntilClosed() async throws {
        for channel in channels.withLock({ $0 }) {
            try await channel.closeFuture.get()
        }
    }

    /// Graceful stop (SIGTERM/SIGINT): stop accepting, send `* BYE` to every session
    /// (at once when it waits for a command or idles, after its command otherwise, so
    /// nothing acknowledged is left half written), wait up to `gracePeriod`
    /// (`shutdownTimeoutSeconds` by default) for them to close, close the rest, then
    /// release the threads.
    /// Safe to call more than once (a signal and the normal exit path may both call it).
    public func shutdown(gracePeriod: Duration? = nil) async {
        let first = stopped.withLock { stopped in
            defer { stopped = true }
            return !stopped
        }
        guard first else { return }
        for channel in channels.withLock({ $0 }) {
            try? await channel.close()
        }
        let open = context.liveConnections.all()
        for channel in open {
            channel.pipeline.fireUserInboundEventTriggered(ServerShutdownEvent())
        }
        let grace = gracePeriod ?? .seconds(configuration.shutdownTimeoutSeconds)
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                for channel in open { try? await channel.closeFuture.get() }
            }
            group.addTask { try? await Task.sleep(for: grace) }
            _ = await group.next()
            group.cancelAll()
            // Whatever is still open after the grace period is cut off; this also lets
            // the first task above finish.
            for channel in open where channel.isActive { channel.close(promise: nil) }
        }
        context.registry.stopWatching()
        // The next start loads large folders from their imapd-index (FolderIndex.swift).
        let registry = context.registry
        // And the first THREAD of a large folder reads its thread file (FolderCache.swift).
        let headerCache = context.headerCache
        // And the listing cache's offsets, so its file is not read to find them.
        let listingCache = context.listingCache
        try? await pools.general.runIfActive {
            registry.saveIndexes()
            headerCache?.saveThreadFiles()
            listingCache?.saveOffsets()
        }
        try? await group.shutdownGracefully()
        await pools.shutdown()
    }
}

public enum IMAPServerError: Error, CustomStringConvertible {
    case tlsListenWithoutCertificate
    case authHTTPWithoutTLSOffLoopback(ListenAddress)
    case authHTTPWithoutPasswd
    case shardMapWithoutAuthHTTP

    public var description: String {
        switch self {
        case .tlsListenWithoutCertificate:
            return "a TLS listener needs a certificate (--tls-cert/--tls-key or --tls-pkcs12)"
        case .authHTTPWithoutTLSOffLoopback(let address):
            return "--auth-http-listen \(address) is not a loopback address: nginx sends passwords to it, "
                + "so it needs --auth-http-tls (and a certificate) there"
        case .authHTTPWithoutPasswd:
            return "--auth-http-listen needs --passwd (it checks the passwords nginx forwards)"
        case .shardMapWithoutAuthHTTP:
            return "--shard-map is read by the auth_http endpoint: it needs --auth-http-listen"
        }
    }
}

extension IMAPServer {
    /// Implicit TLS (RFC 8314 §3.3): TLS first, before the greeting; then IMAP.
    fileprivate static func addHandlers(
        _ pipeline: ChannelPipeline.SynchronousOperations, server: ServerContext, tls: TLSContextHolder?,
        implicitTLS: Bool, client: ProxiedClient? = nil
    ) throws {
        if implicitTLS, let tls {
            try pipeline.addHandler(NIOSSLServerHandler(context: tls.current))
        }
        try pipeline.addHandler(IMAPConnectionHandler(server: server, implicitTLS: implicitTLS, proxiedClient: client))
    }
}

extension ServerContext {
    /// The PROXY header deadline when `peer` is a listed proxy (issue 17), else nil.
    func proxyProtocol(from peer: SocketAddress?) -> TimeAmount? {
        guard let address = peer?.ipAddress, config.proxyProtocolFrom.contains(address) else { return nil }
        return .seconds(Int64(config.proxyHeaderTimeoutSeconds))
    }
}

/// Sent through every connection's pipeline when the server stops.
struct ServerShutdownEvent: Sendable {}

/// A listener that could not be bound, named with its address and kind (IMAP, IMAP over
/// TLS, metrics) and the system's reason (issue 13 item 2).
public struct ListenFailure: Error, CustomStringConvertible {
    public let description: String

    public init(address: ListenAddress, kind: String, error: any Error) {
        let reason: String
        if let io = error as? IOError {
            reason = String(cString: strerror(io.errnoCode))
        } else {
            reason = "\(error)"
        }
        description = "cannot listen on \(address) (\(kind)): \(reason)"
    }
}
