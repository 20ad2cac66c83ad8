import Auth
import Logging
import NIOCore
import NIOPosix
import Synchronization

/// The server: binds the listeners and serves connections until `shutdown()`.
///
/// Threads: SwiftNIO event loops (one per core) do socket I/O and framing; every
/// blocking operation (readdir, open, rename, fsync, crypt) runs on a separate thread
/// pool (`ServerConfiguration.blockingThreads`), so a slow disk or an expensive hash
/// never stalls other clients' sockets.
public final class IMAPServer: Sendable {
    public let configuration: ServerConfiguration
    private let context: ServerContext
    private let group: MultiThreadedEventLoopGroup
    private let threadPool: NIOThreadPool
    private let channels = Mutex<[Channel]>([])
    private let stopped = Mutex(false)

    /// Loads the passwd file (when one is configured) and prepares the threads.
    public init(configuration: ServerConfiguration, logger: Logger) throws {
        self.configuration = configuration
        let passwd = try configuration.passwdFile.map { try PasswdDatabase(path: $0, logger: logger) }
        if let passwd, !passwd.plaintextUsers.isEmpty {
            logger.warning(
                "passwd file holds plaintext passwords; use `imapd-maildir passwd` to hash them",
                metadata: ["users": "\(passwd.plaintextUsers.count)"])
        }
        threadPool = NIOThreadPool(numberOfThreads: max(1, configuration.blockingThreads))
        threadPool.start()
        group = MultiThreadedEventLoopGroup(numberOfThreads: System.coreCount)
        context = ServerContext(config: configuration, passwd: passwd, threadPool: threadPool, logger: logger)
    }

    /// Binds every listener. Returns the bound addresses (port 0 becomes the real port).
    public func start() async throws -> [SocketAddress] {
        var bound: [SocketAddress] = []
        let server = context
        // One inotify instance for the server: IDLE learns of deliveries at once. If it
        // cannot start, IDLE's periodic rescan (idlePollSeconds) still finds changes.
        do {
            try context.registry.startWatching()
        } catch {
            context.logger.warning("inotify unavailable: falling back to rescans", metadata: ["error": "\(error)"])
        }
        for address in configuration.listen {
            let channel = try await ServerBootstrap(group: group)
                .serverChannelOption(.backlog, value: 256)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelOption(.socketOption(.so_keepalive), value: 1)
                .childChannelOption(.autoRead, value: true)
                .childChannelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(IMAPConnectionHandler(server: server))
                    }
                }
                .bind(host: address.host, port: address.port).get()
            channels.withLock { $0.append(channel) }
            if let local = channel.localAddress { bound.append(local) }
            context.logger.info("listening", metadata: ["address": "\(channel.localAddress?.description ?? "?")"])
        }
        return bound
    }

    /// Waits until every listener is closed.
    public func waitUntilClosed() async throws {
        for channel in channels.withLock({ $0 }) {
            try await channel.closeFuture.get()
        }
    }

    /// Stops accepting connections and releases the threads. Safe to call more than
    /// once (a signal handler and the normal exit path may both call it).
    public func shutdown() async {
        let first = stopped.withLock { stopped in
            defer { stopped = true }
            return !stopped
        }
        guard first else { return }
        for channel in channels.withLock({ $0 }) {
            try? await channel.close()
        }
        context.registry.stopWatching()
        try? await group.shutdownGracefully()
        try? await threadPool.shutdownGracefully()
    }
}
