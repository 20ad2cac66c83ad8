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
    /// SORT and THREAD's header fields on disk, per folder (HeaderCache/); nil when off.
    let headerCache: HeaderCache?
    /// ENVELOPE, BODYSTRUCTURE and SEARCH's header texts on disk, per folder
    /// (ListingCache/); nil when the header cache is off.
    let listingCache: ListingCache?
    /// What SEARCH did with message contents (Commands/SearchText.swift).
    let searchStatistics = SearchStatistics()
    let pools: WorkPools
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
        config: ServerConfiguration, passwd: PasswdDatabase?, pools: WorkPools, logger: Logger,
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
        self.headerCache = config.headerCache ? HeaderCache(logger: logger) : nil
        self.listingCache = config.headerCache ? ListingCache(logger: logger) : nil
        self.pools = pools
        self.logger = logger
    }

    func makeSessionID() -> UInt64 { nextSessionID.add(1, ordering: .relaxed).oldValue }

    /// Runs blocking file-system work (scans, renames, fsync) on the general pool,
    /// never on an event loop or the cooperative pool.
    func blocking<T: Sendable>(
        isolation: isolated (any Actor)? = #isolation, _ body: @escaping @Sendable () throws -> T
    ) async throws -> T {
        try await Self.run(on: pools.general, body)
    }

    /// Message-content work (a FETCH step, a SEARCH slice): its own pool, so no amount
    /// of it delays LOGIN, SELECT or NOOP of other users (WorkPools).
    func content<T: Sendable>(
        isolation: isolated (any Actor)? = #isolation, _ body: @escaping @Sendable () throws -> T
    ) async throws -> T {
        try await Self.run(on: pools.content, body)
    }

    /// Password checks (crypt): their own pool, never queued behind message work.
    func authentication<T: Sendable>(
        isolation: isolated (any Actor)? = #isolation, _ body: @escaping @Sendable () throws -> T
    ) async throws -> T {
        try await Self.run(on: pools.authentication, body)
    }

    /// Runs `body` on `pool` and resumes the caller directly on its own executor (a
    /// session: its event loop), not first on the cooperative pool: one thread switch
    /// each way (NIOThreadPool.runIfActive resumes on the cooperative pool, which cost
    /// every NOOP and STORE a third switch).
    private static func run<T: Sendable>(
        on pool: NIOThreadPool, isolation: isolated (any Actor)? = #isolation,
        _ body: @escaping @Sendable () throws -> T
    ) async throws -> T {
        try await withCheckedThrowingContinuation(isolation: isolation) { continuation in
            pool.submit { state in
                guard case .active = state else {
                    continuation.resume(throwing: NIOThreadPoolError.ThreadPoolInactive())
                    return
                }
                continuation.resume(with: Result { try body() })
            }
        }
    }
}

/// The thread pools for blocking work, split by kind so one kind cannot starve another
/// (issue 12): a user's 64 large FETCHes or a SEARCH over 100,000 messages queue on
/// `content`; LOGIN's crypt runs on `authentication`; SELECT, STATUS, STORE, NOOP's
/// rescan and the other file-system work run on `general`. No job on any pool waits for
/// a client: output waits in ChannelOutput, suspended, holding no thread.
struct WorkPools: Sendable {
    let general: NIOThreadPool
    let content: NIOThreadPool
    let authentication: NIOThreadPool

    /// `generalThreads`: ServerConfiguration.blockingThreads. The content pool gets as
    /// many (FETCH steps are short: a chunk of at most `FetchJob.stepBytes`); crypt gets
    /// two threads, enough for the login rate the throttle lets through.
    init(generalThreads: Int) {
        general = NIOThreadPool(numberOfThreads: max(1, generalThreads))
        content = NIOThreadPool(numberOfThreads: max(2, generalThreads))
        authentication = NIOThreadPool(numberOfThreads: 2)
        for pool in [general, content, authentication] { pool.start() }
    }

    func shutdown() async {
        for pool in [general, content, authentication] { try? await pool.shutdownGracefully() }
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
