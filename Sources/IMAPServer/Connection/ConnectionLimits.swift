import Synchronization

/// Who may connect and who may log in, counted for the whole server:
/// - open connections (`maxConnections`): every connection costs a file descriptor and
///   memory, so past the cap new ones get `* BYE` at once;
/// - connections that have not logged in yet, per client address
///   (`maxConnectionsPerAddress`): a logged-in session no longer counts against its
///   address, so a hundred people behind one NAT address are never refused, while one
///   address cannot hold many pre-login connections open;
/// - logged-in sessions per user and client address (`maxConnectionsPerUserAddress`,
///   Dovecot's `mail_max_userip_connections`) and per user (`maxConnectionsPerUser`):
///   the next LOGIN/AUTHENTICATE gets `NO [LIMIT]`.
///
/// Each connection holds a `ConnectionSlot`. Every change of a slot (admitted → logged
/// in → closed) happens under this one lock, in that order only: a closed slot can
/// never log in, so a login that finishes after its connection went away takes
/// nothing (issue 11 item 4), and closing gives back exactly what the slot holds.
final class ConnectionLimits: Sendable {
    /// Whether a new connection may stay.
    enum Admission {
        /// Counted. `refusedBefore`: connections refused in the burst of "server full"
        /// that this one ends (0 when none), for one log line.
        case admitted(ConnectionSlot, refusedBefore: Int)
        /// The server holds `maxConnections`. `firstOfBurst`: the first refusal since
        /// a connection was last admitted, the one to log.
        case serverFull(firstOfBurst: Bool)
        /// `address` holds `maxConnectionsPerAddress` connections not logged in.
        case addressFull
    }

    /// Why a login may not take a session slot.
    enum LoginRefusal: Equatable {
        case perUser(limit: Int)
        case perUserAddress(limit: Int)
        /// The connection closed meanwhile.
        case closed
    }

    private struct UserAddress: Hashable {
        var user: String
        var address: String
    }

    private struct Counts {
        var open = 0
        var unauthenticated: [String: Int] = [:]
        var sessions: [String: Int] = [:]
        var userAddressSessions: [UserAddress: Int] = [:]
        /// Connections refused because the server was full since the last admitted one.
        var refusedInBurst = 0
    }

    private let config: ServerConfiguration
    private let counts = Mutex(Counts())

    init(config: ServerConfiguration) {
        self.config = config
    }

    /// Counts a new connection from `address`, or says why it is refused.
    func admitConnection(address: String) -> Admission {
        counts.withLock { counts in
            guard counts.open < config.maxConnections else {
                counts.refusedInBurst += 1
                return .serverFull(firstOfBurst: counts.refusedInBurst == 1)
            }
            let fromAddress = counts.unauthenticated[address, default: 0]
            guard fromAddress < config.maxConnectionsPerAddress else { return .addressFull }
            counts.open += 1
            counts.unauthenticated[address] = fromAddress + 1
            defer { counts.refusedInBurst = 0 }
            return .admitted(ConnectionSlot(address: address), refusedBefore: counts.refusedInBurst)
        }
    }

    /// The connection of `slot` logs in as `user`: it leaves its address's count of
    /// connections not logged in and takes a session slot, unless a limit is reached
    /// or the connection has closed.
    func logIn(_ slot: ConnectionSlot, user: String) -> LoginRefusal? {
        let key = UserAddress(user: user, address: slot.address)
        return counts.withLock { counts in
            slot.state.withLock { state in
                guard case .unauthenticated = state else { return .closed }
                let forUser = counts.sessions[user, default: 0]
                let forPair = counts.userAddressSessions[key, default: 0]
                if forPair >= config.maxConnectionsPerUserAddress {
                    return .perUserAddress(limit: config.maxConnectionsPerUserAddress)
                }
                if forUser >= config.maxConnectionsPerUser { return .perUser(limit: config.maxConnectionsPerUser) }
                counts.sessions[user] = forUser + 1
                counts.userAddressSessions[key] = forPair + 1
                Self.decrement(&counts.unauthenticated, slot.address)
                state = .loggedIn(user: user)
                return nil
            }
        }
    }

    /// Gives back what `slot` holds. Safe to call more than once (LOGOUT, then the
    /// close of the socket).
    func close(_ slot: ConnectionSlot) {
        counts.withLock { counts in
            slot.state.withLock { state in
                switch state {
                case .closed: return
                case .unauthenticated:
                    Self.decrement(&counts.unauthenticated, slot.address)
                case .loggedIn(let user):
                    Self.decrement(&counts.sessions, user)
                    Self.decrement(&counts.userAddressSessions, UserAddress(user: user, address: slot.address))
                }
                counts.open -= 1
                state = .closed
            }
        }
    }

    /// Logged-in sessions of `user` (all addresses), for tests and diagnostics.
    func sessions(of user: String) -> Int { counts.withLock { $0.sessions[user, default: 0] } }

    /// Connections open, and those not logged in from `address`, for tests.
    func connections(from address: String) -> (open: Int, unauthenticated: Int) {
        counts.withLock { ($0.open, $0.unauthenticated[address, default: 0]) }
    }

    private static func decrement<Key: Hashable>(_ table: inout [Key: Int], _ key: Key) {
        let n = table[key, default: 0] - 1
        table[key] = n > 0 ? n : nil
    }
}

/// One admitted connection's place in `ConnectionLimits`. Its state changes only under
/// the limits' lock (taken first, then this one).
final class ConnectionSlot: Sendable {
    enum State {
        case unauthenticated
        case loggedIn(user: String)
        case closed
    }

    let address: String
    fileprivate let state = Mutex(State.unauthenticated)

    fileprivate init(address: String) { self.address = address }

    var isLoggedIn: Bool {
        state.withLock {
            if case .loggedIn = $0 { return true }
            return false
        }
    }
}

/// A server-wide byte budget: memory that connections reserve before they hold it
/// (literals of buffered commands) and give back when done.
final class ByteBudget: Sendable {
    let capacity: Int
    private let used = Mutex(0)

    init(capacity: Int) { self.capacity = capacity }

    /// Reserves `bytes` unless that would exceed the capacity.
    func reserve(_ bytes: Int) -> Bool {
        used.withLock { used in
            guard bytes <= capacity - used else { return false }
            used += bytes
            return true
        }
    }

    func release(_ bytes: Int) {
        used.withLock { $0 = max(0, $0 - bytes) }
    }

    var inUse: Int { used.withLock { $0 } }
}
