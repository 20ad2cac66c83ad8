// One inotify instance for all open folders: deliveries by the MTA (IN_MOVED_TO /
// IN_CREATE in new/), flag renames and moves by other programs (IN_MOVED_FROM/TO in
// cur/), and unlinks (IN_DELETE) make the registry synchronize that folder, which
// notifies its observers (sessions in IDLE push at once).
//
// Races handled here:
// - Bursts (thousands of deliveries): every event readable at the moment is drained
//   before acting, and each affected folder is synchronized once per drain.
// - Queue overflow (IN_Q_OVERFLOW, events lost): every watched folder is synchronized.
// - A folder directory deleted or moved (IN_DELETE_SELF / IN_MOVE_SELF / IN_IGNORED):
//   the synchronize reports the failure; the watch is dropped by the kernel.
// - Our own renames also produce events: they cost one extra cheap synchronize.
// The reader runs on its own thread blocked in poll(2); stop() wakes it through a pipe.
import Glibc
import Logging
import Synchronization

final class FolderWatcher: Sendable {
    private struct State: Sendable {
        var folders: [Int32: SharedFolder] = [:]
        var stopped = false
    }

    private let inotify: Int32
    private let wakeRead: Int32
    private let wakeWrite: Int32
    private let state = Mutex(State())
    private let logger: Logger
    private let onChange: @Sendable ([SharedFolder]) -> Void
    private let statistics: WatcherStatistics

    private static let mask: UInt32 =
        UInt32(IN_CREATE) | UInt32(IN_MOVED_TO) | UInt32(IN_MOVED_FROM) | UInt32(IN_DELETE)
        | UInt32(IN_DELETE_SELF) | UInt32(IN_MOVE_SELF) | UInt32(IN_ONLYDIR)
    /// struct inotify_event without its name: wd, mask, cookie, len.
    private static let eventHeaderSize = 16
    /// Large enough for many events (a buffer smaller than one event fails with EINVAL).
    private static let bufferSize = 64 * 1024

    init(
        logger: Logger, statistics: WatcherStatistics, onChange: @escaping @Sendable ([SharedFolder]) -> Void
    ) throws {
        let fd = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
        guard fd >= 0 else { throw POSIX.error("inotify_init1") }
        var pipeFDs: [Int32] = [0, 0]
        guard pipe(&pipeFDs) == 0 else {
            close(fd)
            throw POSIX.error("pipe")
        }
        for end in pipeFDs { _ = fcntl(end, F_SETFD, FD_CLOEXEC) }
        inotify = fd
        wakeRead = pipeFDs[0]
        wakeWrite = pipeFDs[1]
        self.logger = logger
        self.onChange = onChange
        self.statistics = statistics
        try startThread()
    }

    /// Watches the folder's new/ and cur/.
    func watch(_ folder: SharedFolder) {
        for path in [folder.context.newPath, folder.context.curPath] {
            let wd = inotify_add_watch(inotify, path, Self.mask)
            guard wd >= 0 else {
                logger.warning("cannot watch directory", metadata: ["path": "\(path)", "errno": "\(errno)"])
                continue
            }
            state.withLock { $0.folders[wd] = folder }
        }
    }

    func unwatch(_ folder: SharedFolder) {
        let descriptors = state.withLock { state in
            let mine = state.folders.filter { $0.value === folder }.map(\.key)
            for wd in mine { state.folders[wd] = nil }
            return mine
        }
        for wd in descriptors { inotify_rm_watch(inotify, wd) }
    }

    func stop() {
        let first = state.withLock { state in
            defer { state.stopped = true }
            return !state.stopped
        }
        guard first else { return }
        var byte: UInt8 = 1
        _ = write(wakeWrite, &byte, 1)
    }

    private func startThread() throws {
        let box = Unmanaged.passRetained(self).toOpaque()
        var thread = pthread_t()
        let rc = pthread_create(
            &thread, nil,
            { argument in
                guard let argument else { return nil }
                let watcher = Unmanaged<FolderWatcher>.fromOpaque(argument).takeRetainedValue()
                watcher.run()
                return nil
            }, box)
        guard rc == 0 else {
            Unmanaged<FolderWatcher>.fromOpaque(box).release()
            throw StoreError.io("pthread_create", errno: rc)
        }
        pthread_detach(thread)
    }

    /// The reader loop; returns (closing every descriptor) once stop() was called.
    private func run() {
        defer {
            close(inotify)
            close(wakeRead)
            close(wakeWrite)
        }
        var buffer = [UInt8](repeating: 0, count: Self.bufferSize)
        while true {
            var fds = [
                pollfd(fd: inotify, events: Int16(POLLIN), revents: 0),
                pollfd(fd: wakeRead, events: Int16(POLLIN), revents: 0),
            ]
            let ready = poll(&fds, 2, -1)
            if ready < 0 {
                if errno == EINTR { continue }
                logger.error("poll on inotify failed", metadata: ["errno": "\(errno)"])
                return
            }
            if fds[1].revents != 0 || state.withLock({ $0.stopped }) { return }
            var changed: [ObjectIdentifier: SharedFolder] = [:]
            var overflow = false
            // Drain everything readable now: one synchronize per folder per burst.
            while true {
                let count = buffer.withUnsafeMutableBytes { read(inotify, $0.baseAddress, $0.count) }
                if count <= 0 { break }
                overflow = parse(buffer[0..<count], into: &changed) || overflow
            }
            if overflow {
                statistics.rescans.add(1, ordering: .relaxed)
                logger.warning("inotify queue overflow: rescanning every open folder")
                for folder in state.withLock({ Array($0.folders.values) }) {
                    changed[ObjectIdentifier(folder)] = folder
                }
            }
            if !changed.isEmpty { onChange(Array(changed.values)) }
        }
    }

    /// Adds the folders named by the events; true on IN_Q_OVERFLOW.
    private func parse(_ bytes: ArraySlice<UInt8>, into changed: inout [ObjectIdentifier: SharedFolder]) -> Bool {
        var overflow = false
        var offset = bytes.startIndex
        while offset + Self.eventHeaderSize <= bytes.endIndex {
            let wd = Int32(bitPattern: Self.uint32(bytes, offset))
            let mask = Self.uint32(bytes, offset + 4)
            let nameLength = Int(Self.uint32(bytes, offset + 12))
            offset += Self.eventHeaderSize + nameLength
            statistics.events.add(1, ordering: .relaxed)
            if mask & UInt32(IN_Q_OVERFLOW) != 0 { overflow = true }
            if let folder = state.withLock({ $0.folders[wd] }) { changed[ObjectIdentifier(folder)] = folder }
            if mask & UInt32(IN_IGNORED) != 0 { state.withLock { _ = $0.folders.removeValue(forKey: wd) } }
        }
        return overflow
    }

    /// Native-endian UInt32 at `offset` (the caller checked the bounds).
    private static func uint32(_ bytes: ArraySlice<UInt8>, _ offset: Int) -> UInt32 {
        var value: UInt32 = 0
        withUnsafeMutableBytes(of: &value) { raw in
            for i in 0..<4 { raw[i] = bytes[offset + i] }
        }
        return value
    }
}

/// What the watcher did, for the metrics: inotify events read, and full rescans after
/// the kernel queue overflowed (IN_Q_OVERFLOW).
public final class WatcherStatistics: Sendable {
    public let events = Atomic<Int>(0)
    public let rescans = Atomic<Int>(0)
    public init() {}
}
