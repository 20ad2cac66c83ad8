// Memory mappings of message files that a truncation cannot turn into a crash (issue 11
// item 2).
//
// Why: a page of a file mapping that lies past the file's end faults with SIGBUS when
// touched, and SIGBUS kills the whole process: every user's sessions. Maildir files are
// never rewritten in place by well-behaved programs, but their owner, a careless tool or
// a disk repair can truncate one while FETCH streams it or the MIME parser reads it.
// Reading with pread instead would need the MIME parser (MailMessage) to work on chunks;
// a mapping keeps its random access and the page cache keeps memory bounded for 50 MB
// messages (FetchJob.releaseSentPages), so the mapping stays and is made safe instead.
//
// How: every live message mapping is registered here (start, end). The SIGBUS handler
// looks up the faulting address; inside a registered mapping it maps anonymous zero
// pages over the rest of that mapping (MAP_FIXED), notes the fault in the mapping's slot
// and returns, so the faulting read is retried and reads zeros. The reader checks
// `ShrinkProbe.fileShrank` and discards what it read (FetchJob, SearchJob). A SIGBUS
// anywhere else goes to the handler that was installed before ours (the Swift runtime's
// backtracer) or, with none, to the default action: a real fault still crashes.
//
// Signal safety: the handler allocates nothing, takes no lock and calls only mmap(2)
// (a system call wrapper) and atomic loads and stores on memory allocated once, before
// the handler was installed.
//
// Races: slots are claimed with a compare-and-exchange on `ends` (0 free, -1 being
// filled in), then `starts` and `ends` are stored; the handler reads `ends`, `starts` and
// `ends` again, so it never pairs the start of one mapping with the end of another. A
// mapping is unregistered before it is unmapped, so an address reused by a later mmap
// is never patched. Only the thread reading a mapping can fault in it, and it unmaps it
// only after it stopped reading, so the handler never races with the unmapping.
import Glibc
import Synchronization

/// Tells whether a message file shrank while its bytes were being read: a page of its
/// mapping past the new end was touched (and read as zeros), or a read came back short.
/// Check it after reading and before using what was read.
public struct ShrinkProbe: Sendable {
    let slot: Int?
    let shortRead: Bool

    /// For bytes read into memory: `shortRead` when fewer bytes came than the file had.
    public init(shortRead: Bool) {
        slot = nil
        self.shortRead = shortRead
    }

    /// For a registered mapping; `shortRead` when the file was already shorter than
    /// when it was opened.
    init(slot: Int, shortRead: Bool) {
        self.slot = slot
        self.shortRead = shortRead
    }

    public var fileShrank: Bool {
        if shortRead { return true }
        guard let slot else { return false }
        return TruncationGuard.shared.faulted(slot)
    }
}

/// The registry of live message mappings and the SIGBUS handler that patches them.
final class TruncationGuard: @unchecked Sendable {
    /// Mappings that can be live at once; more wait for the file to be read instead
    /// (MessageFile.withMappedBytes). Each blocking thread maps one file at a time.
    static let slotCount = 1024
    /// `ends` value of a slot being filled in.
    private static let claimed = -1
    /// SIG_IGN, a C macro Swift does not import: the handler value 1.
    private static let ignore = 1

    static let shared = TruncationGuard()

    // Allocated once and never freed: the handler may read them at any time.
    private let starts: UnsafeMutablePointer<Atomic<Int>>
    private let ends: UnsafeMutablePointer<Atomic<Int>>
    private let faults: UnsafeMutablePointer<Atomic<Bool>>
    private let previous: UnsafeMutablePointer<sigaction>
    private let pageSize: Int

    private init() {
        starts = .allocate(capacity: Self.slotCount)
        ends = .allocate(capacity: Self.slotCount)
        faults = .allocate(capacity: Self.slotCount)
        for slot in 0..<Self.slotCount {
            (starts + slot).initialize(to: Atomic(0))
            (ends + slot).initialize(to: Atomic(0))
            (faults + slot).initialize(to: Atomic(false))
        }
        previous = .allocate(capacity: 1)
        previous.initialize(to: sigaction())
        pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))
        var action = sigaction()
        action.__sigaction_handler.sa_sigaction = truncationGuardHandler
        action.sa_flags = SA_SIGINFO | SA_ONSTACK
        sigemptyset(&action.sa_mask)
        sigaction(SIGBUS, &action, previous)
    }

    /// Registers the mapping `[start, end)`; nil when every slot is taken.
    func register(start: Int, end: Int) -> Int? {
        for slot in 0..<Self.slotCount {
            guard ends[slot].compareExchange(expected: 0, desired: Self.claimed, ordering: .acquiring).exchanged
            else { continue }
            faults[slot].store(false, ordering: .relaxed)
            starts[slot].store(start, ordering: .relaxed)
            ends[slot].store(end, ordering: .releasing)
            return slot
        }
        return nil
    }

    /// Before the mapping is unmapped.
    func unregister(_ slot: Int) {
        ends[slot].store(0, ordering: .releasing)
    }

    func faulted(_ slot: Int) -> Bool {
        faults[slot].load(ordering: .acquiring)
    }

    /// From the signal handler: when `address` is inside a registered mapping, replaces
    /// its pages from `address` on with zero pages and returns true.
    fileprivate func patch(_ address: Int) -> Bool {
        for slot in 0..<Self.slotCount {
            let end = ends[slot].load(ordering: .acquiring)
            guard end > 0 else { continue }
            let start = starts[slot].load(ordering: .acquiring)
            guard ends[slot].load(ordering: .acquiring) == end, address >= start, address < end else { continue }
            let page = address - address % pageSize
            let replaced = mmap(
                UnsafeMutableRawPointer(bitPattern: page), end - page, PROT_READ,
                MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0)
            guard replaced != MAP_FAILED else { return false }
            faults[slot].store(true, ordering: .releasing)
            return true
        }
        return false
    }

    /// From the signal handler: the SIGBUS was not ours.
    fileprivate func forward(
        _ signal: Int32, _ info: UnsafeMutablePointer<siginfo_t>?, _ context: UnsafeMutableRawPointer?
    ) {
        let old = previous.pointee
        if old.sa_flags & SA_SIGINFO != 0, let handler = old.__sigaction_handler.sa_sigaction {
            handler(signal, info, context)
            return
        }
        if let handler = old.__sigaction_handler.sa_handler, unsafeBitCast(handler, to: Int.self) != Self.ignore {
            handler(signal)
            return
        }
        // Default action (a nil handler is SIG_DFL): restore it; the faulting
        // instruction runs again and faults for good.
        var reset = sigaction()
        reset.__sigaction_handler.sa_handler = nil
        sigemptyset(&reset.sa_mask)
        sigaction(SIGBUS, &reset, nil)
    }
}

/// The SIGBUS handler (see the top of this file).
private let truncationGuardHandler:
    @convention(c) (Int32, UnsafeMutablePointer<siginfo_t>?, UnsafeMutableRawPointer?) -> Void = {
        signal, info, context in
        let address = Int(bitPattern: info?.pointee._sifields._sigfault.si_addr)
        if TruncationGuard.shared.patch(address) { return }
        TruncationGuard.shared.forward(signal, info, context)
    }
