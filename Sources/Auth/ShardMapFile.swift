import Glibc
import Logging
import Synchronization

/// `--shard-map PATH`: the shard map (ShardMap), re-read when the file changes. Every
/// lookup stats the path (one stat(2), cheaper than the crypt before it) and re-reads
/// when its inode, size or mtime changed, so moving a user takes effect at the next
/// login, with no signal and no restart. A file that cannot be read or parsed on reload
/// keeps the last good map and logs a warning once per version; at start-up it is an
/// error (the server does not start with a map it cannot read).
///
/// Races: lookups and reloads run under one mutex, so a lookup sees the old or the new
/// map, never a mix; a file caught mid-write (PasswdFileReader: fstat changed while
/// reading) is read again at the next lookup. Write a new file and rename it over the
/// old one to change the map in one step.
public final class ShardMapFile: Sendable {
    private struct State {
        var map: ShardMap
        var observed: FileSignature?
        /// The version last warned about, so a broken file is logged once, not per login.
        var warnedAbout: FileSignature?
        var unreadableErrno: Int32?
    }

    public let path: String
    private let logger: Logger
    private let state: Mutex<State>

    public init(path: String, logger: Logger) throws {
        var logger = logger
        logger[metadataKey: "shard-map"] = "\(path)"
        self.path = path
        self.logger = logger
        switch PasswdFileReader.read(path: path) {
        case .failure(.system(let code)):
            throw ShardMapError.cannotRead(path: path, errno: code)
        case .failure(.changedWhileReading):
            throw ShardMapError.cannotRead(path: path, errno: EAGAIN)
        case .success(let read):
            switch ShardMap.parse(read.bytes) {
            case .failure(let failure):
                throw ShardMapError.invalid(path: path, failure)
            case .success(let map):
                logger.info("shard map loaded", metadata: ["rules": "\(map.count)"])
                state = Mutex(State(map: map, observed: read.signature))
            }
        }
    }

    /// The map as it is in the file now (re-read first when the file changed).
    public var current: ShardMap {
        state.withLock { state in
            refresh(&state)
            return state.map
        }
    }

    private func refresh(_ state: inout State) {
        switch PasswdFileReader.signature(of: path) {
        case .failure(.system(let code)):
            if state.unreadableErrno != code {
                logger.warning(
                    "cannot examine shard map; keeping the map loaded before",
                    metadata: ["error": "\(systemErrorMessage(code))"])
            }
            state.unreadableErrno = code
            return
        case .failure(.changedWhileReading):
            return
        case .success(let signature):
            state.unreadableErrno = nil
            guard signature != state.observed, signature != state.warnedAbout else { return }
        }
        switch PasswdFileReader.read(path: path) {
        case .failure(.changedWhileReading):
            return  // being written: the next lookup looks again
        case .failure(.system(let code)):
            logger.warning(
                "cannot read shard map; keeping the map loaded before",
                metadata: ["error": "\(systemErrorMessage(code))"])
        case .success(let read):
            switch ShardMap.parse(read.bytes) {
            case .failure(let failure):
                state.warnedAbout = read.signature
                logger.warning(
                    "shard map is invalid; keeping the map loaded before",
                    metadata: ["line": "\(failure.line)", "reason": "\(failure.reason)"])
            case .success(let map):
                state.map = map
                state.observed = read.signature
                state.warnedAbout = nil
                logger.notice("shard map reloaded", metadata: ["rules": "\(map.count)"])
            }
        }
    }
}

/// The shard map could not be read or parsed at start-up.
public enum ShardMapError: Error, Equatable, CustomStringConvertible {
    case cannotRead(path: String, errno: Int32)
    case invalid(path: String, ShardMap.Failure)

    public var description: String {
        switch self {
        case .cannotRead(let path, let code):
            return "cannot read shard map \(path): \(systemErrorMessage(code)) (errno \(code))"
        case .invalid(let path, let failure):
            return "shard map \(path): \(failure)"
        }
    }
}
