import Auth
import Logging
import MaildirStore
import NIOCore
import NIOPosix
import Synchronization

/// What every connection shares: configuration, the passwd database, the open-folder
/// registry, the blocking-work thread pool and the connection counts.
final class ServerContext: Sendable {
    let config: ServerConfiguration
    let passwd: PasswdDatabase?
    let throttle: LoginThrottle
    let registry: FolderRegistry
    /// What was parsed of each message, for every session (MessageCache/).
    let messageCache: ParsedMessageCache
    /// What SEARCH did with message contents (Commands/SearchText.swift).
    let searchStatistics = SearchStatistics()
    let threadPool: NIOThreadPool
    let logger: Logger
    /// The certificate, when TLS is configured (implicit TLS and STARTTLS).
    let tls: TLSContextHolder?
    /// Open connections, per address before login, logged-in sessions per user.
    let limits: ConnectionLimits
    /// Literal bytes of buffered commands, across all connections.
    let literalBudget: ByteBudget
    let liveConnections = LiveConnections()
    private let nextSessionID = Atomic<UInt64>(1)

    init(
        config: ServerConfiguration, passwd: PasswdDatabase?, threadPool: NIOThreadPool, logger: Logger,
        tls: TLSContextHolder? = nil, throttle: LoginThrottle = LoginThrottle()
    ) {
        self.config = config
        self.tls = tls
        self.passwd = passwd
        self.throttle = throttle
        self.limits = ConnectionLimits(config: config)
        self.literalBudget = ByteBudget(capacity: config.maxBufferedLiteralBytes)
        self.registry = FolderRegistry(logger: logger)
        self.messageCache = ParsedMessageCache(budget: config.messageCacheBytes)
        self.threadPool = threadPool
        self.logger = logger
    }

    func makeSessionID() -> UInt64 { nextSessionID.add(1, ordering: .relaxed).oldValue }

    /// Runs blocking work (file system, crypt) on the thread pool, never on an event
    /// loop or the cooperative pool.
    func blocking<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await threadPool.runIfActive(body)
    }
}

/// Every open client connection, so shutdown can say BYE to each and wait for them.
final class LiveConnections: Sendable {
    private let channels = Mutex<[ObjectIdentifier: Channel]>([:])

    func add(_ channel: Channel) {
        let key = ObjectIdentifier(channel)
        channels.withLock { $0[key] = channel }
        channel.closeFuture.whenComplete { [weak self] _ in
            self?.channels.withLock { _ = $0.removeValue(forKey: key) }
        }
    }

    func all() -> [Channel] { channels.withLock { Array($0.values) } }
    var count: Int { channels.withLock { $0.count } }
}
