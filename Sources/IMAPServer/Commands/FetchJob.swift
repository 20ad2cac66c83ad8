import Glibc
import IMAPProtocol
import Logging
import MailMessage
import MaildirStore
import NIOCore

/// The file-reading part of a FETCH, run step by step on the content pool: each
/// `step()` produces at most about `stepBytes` of responses and returns them; the
/// session writes them (ChannelOutput) and asks for the next step only once the
/// connection can take more. So a client that stops reading holds no thread, and its
/// connection holds at most one step plus the channel's high-water mark (issue 12).
///
/// Each message is opened once, its MIME structure parsed from the whole file (a
/// read-only mapping for large files, TruncationGuard) when an item needs it, and its
/// response encoded; a literal of more than `inlineLimit` bytes is not copied then but
/// left as a `FileWindow` that later steps read with pread in `chunkSize` pieces (LF →
/// CRLF on the fly). A 50 MB BODY[] thus never maps or holds the message.
///
/// Races: the file may be renamed (another session changed flags) or unlinked
/// (expunged) between the scan and the open; `SharedFolder.openMessage` finds it again
/// by base name or reports it gone, and a gone message is counted in `missing`. An
/// unlinked file stays readable through the open descriptor. Maildir files are never
/// rewritten in place (every writer renames a new file into place), but a careless
/// program may truncate one under us: the mapping then reads zeros instead of faulting
/// (TruncationGuard) and the ShrinkProbe says so, and a pread comes back short. Found
/// before anything of the message was produced, the message is skipped and counted in
/// `shrunk` (the command ends NO); found while its response is being produced, the job
/// throws `MessageShrank` and the session closes the connection, as Dovecot does when a
/// mail gives fewer bytes than announced: a literal whose size went out cannot be
/// completed with the message's bytes, and a client must not keep zeros as the message.
///
/// Thread-safety: the session awaits each step before it starts the next, so one thread
/// at a time touches the job's progress; the pool's hand-off orders the accesses.
final class FetchJob: @unchecked Sendable {
    /// What FETCH needs of a message record: not its base name, whose reference count a
    /// copy would touch (one cache miss per message, 100,000s on a `FETCH 1:*`).
    struct Message: Sendable {
        var sequenceNumber: SequenceNumber
        var uid: StoreUID
        var flags: MessageFlags
        /// RFC 7162 MODSEQ.
        var modSeq: ModSeq
        var internalDate: Int64?
        var virtualSize: Int?
        /// FLAGS shows `\Recent` (an IMAP4rev1 session's recent message).
        var recent = false

        var lacksDetails: Bool { internalDate == nil || virtualSize == nil }
    }

    struct Result: Sendable {
        /// Messages that gained \Seen: (UID, new flags).
        var newFlags: [FlagChange] = []
        /// Messages that vanished before they could be read.
        var missing = 0
        /// A BINARY item met a Content-Transfer-Encoding this server cannot undo; the
        /// job stopped before that message's FETCH response (RFC 3516 §4.3).
        var unknownCTE = false
        /// Messages whose file shrank under the read before their response started.
        var shrunk = 0
    }

    /// What one step produced; `finished` once nothing is left.
    struct Step: Sendable {
        var bytes: ByteBuffer
        var finished: Result?
    }

    /// A message file shrank while its FETCH response was being written: the response
    /// cannot be completed, the connection must be closed.
    struct MessageShrank: Error, CustomStringConvertible {
        var description: String { "a message file shrank while being sent" }
    }

    /// What became of one message read from its file.
    private enum MessageOutcome {
        case written
        case unknownCTE
        case shrunk
    }

    let plan: FetchPlan
    let messages: Messages
    let folder: SharedFolder
    /// The folder's UIDVALIDITY as the session knows it (part of the cache key).
    let uidValidity: StoreUIDValidity
    let cache: ParsedMessageCache
    /// The persistent listing cache (nil when the server keeps none).
    let listing: ListingCache?
    /// The session's view when the FETCH started: the base names of messages another
    /// session expunged since, which the listing cache may still answer for.
    let view: MailboxView?
    let encoder: ResponseEncoder
    let logger: Logger
    let allocator = ByteBufferAllocator()
    /// A step stops producing once it holds this much (it may exceed it by one
    /// message's response without its large literals).
    static let stepBytes = 256 * 1024
    /// One pread of a literal's file window.
    static let chunkSize = 64 * 1024
    /// Literals up to this size are copied while the message is open; larger ones
    /// become a FileWindow read by later steps.
    static let inlineLimit = 64 * 1024
    /// A FETCH of no file and no details for at most this many messages is encoded on
    /// the session's own thread (IMAPSession.stream): less work than a pool hop.
    static let inlineMessages = 1000
    /// NUL: content holding it must go as a literal8 (RFC 9051 §4.3).
    static let nul: UInt8 = 0

    // Progress, carried from one step to the next.
    private var prepared = false
    /// The next message to answer (FetchJobRecords.swift reads and moves it too).
    var next = 0
    private var stopped = false
    private var result = Result()
    private var seenFlags: [StoreUID: FlagChange] = [:]
    /// The rest of the current message's response, not produced yet.
    private var pending: [FetchSegment] = []
    /// The file `pending` reads from.
    private var file: MessageFile?
    var flagBytes = FlagBytesCache()
    private var chunk: [UInt8] = []

    init(
        plan: FetchPlan, messages: Messages, folder: SharedFolder, uidValidity: StoreUIDValidity,
        cache: ParsedMessageCache, listing: ListingCache? = nil, view: MailboxView? = nil, encoder: ResponseEncoder,
        logger: Logger
    ) {
        self.view = view
        self.plan = plan
        self.messages = messages
        self.folder = folder
        self.uidValidity = uidValidity
        self.cache = cache
        // Only a FETCH the cache can answer alone reads and writes it (ListingCache).
        self.listing = plan.isListing ? listing : nil
        self.encoder = encoder
        self.logger = logger
    }

    /// A response was partly produced: what went out cannot be completed on an error.
    var isInsideResponse: Bool { !pending.isEmpty }

    /// Produces the next part of the responses (blocking: run it on the content pool).
    func step() throws -> Step {
        if !prepared {
            try prepare()
            prepared = true
        }
        var out = allocator.buffer(capacity: 16 * 1024)
        try drain(into: &out)
        var sent = 0
        defer { ServerMetrics.fetchResponses.increment(by: sent) }
        if plan.isRecordOnly && seenFlags.isEmpty {
            sent = encodeRecordItems(into: &out)
            return Step(bytes: out, finished: next == messages.count ? result : nil)
        }
        // What was read of message files this step goes to the listing cache.
        defer { storeListing() }
        while pending.isEmpty, !stopped, next < messages.count, out.readableBytes < Self.stepBytes {
            if listing != nil && next >= listedUpTo { lookUpListing() }
            if plan.needsFile && next >= prefetched && filesAreCold { prefetchFiles() }
            let message = messages[next]
            next += 1
            var output = MessageOutput(buffer: out)
            out = ByteBuffer()
            if try emit(message, into: &output) { sent += 1 }
            if output.segments.isEmpty {
                out = output.buffer
            } else {
                guard case .bytes(let head) = output.segments.removeFirst() else { preconditionFailure() }
                out = head
                pending = output.segments + [.bytes(output.buffer)]
                try drain(into: &out)
            }
        }
        let finished = pending.isEmpty && (stopped || next == messages.count)
        return Step(bytes: out, finished: finished ? result : nil)
    }

    /// INTERNALDATE and RFC822.SIZE of messages a scan took in without a stat
    /// (MessageRecord), and \Seen for a non-PEEK body item, before the first response.
    private func prepare() throws {
        guard plan.needsDetails || plan.setsSeen else { return }
        let messages = self.messages.listed
        if plan.needsDetails {
            let lacking = messages.indices.filter { messages[$0].lacksDetails }
            if !lacking.isEmpty {
                var completed = messages
                let found = try folder.details(of: lacking.map { messages[$0].uid })
                for (index, details) in zip(lacking, found) {
                    completed[index].internalDate = details?.internalDate
                    completed[index].virtualSize = details?.virtualSize
                }
                detailed = completed
            }
        }
        if plan.setsSeen {
            let unseen = messages.filter { !$0.flags.system.contains(.seen) }.map(\.uid)
            if !unseen.isEmpty {
                result.newFlags = try folder.store(.add, flags: MessageFlags(system: .seen), uids: unseen).changed
                for change in result.newFlags { seenFlags[change.uid] = change }
            }
        }
    }

    /// `messages` with the details `prepare` completed.
    private var detailed: [Message]?

    /// Listing cache entries of the messages from `next` up to `listedUpTo`
    /// (FetchJobListing.swift), and the entries made this step, to be stored.
    var listed: [StoreUID: ListingEntry] = [:]
    var listedUpTo = 0
    var listingMade: [ListingEntry] = []

    /// Messages before this one had their files prefetched (or needed none).
    private var prefetched = 0
    /// Files prefetched at a time: a page of a webmail listing.
    static let prefetchWindow = 50
    /// The last message file took long to open: it came from the disk, and the next
    /// ones probably will too. Prefetching files already in memory would only double
    /// their system calls (a warm `FETCH 1:2000 (BODY.PEEK[HEADER])` took 45 % longer).
    private var filesAreCold = false
    /// An open slower than this went to the disk (from memory it takes a few µs).
    static let coldOpen = Duration.microseconds(40)

    /// Has the files of the next messages the parsed-message cache cannot answer read in
    /// several at once (SharedFolder.prefetch).
    private func prefetchFiles() {
        let end = min(messages.count, next + Self.prefetchWindow)
        prefetched = end
        folder.prefetch(uidsNotInMemory(next..<end).filter { !isListed($0) })
    }

    /// The UIDs of `messages[range]` the parsed-message cache cannot answer (looked at
    /// without counting: `emit` looks each up when it gets there).
    func uidsNotInMemory(_ range: Range<Int>) -> [StoreUID] {
        range.compactMap { index -> StoreUID? in
            let uid = messages[index].uid
            guard let cached = cache.peek(folder, uidValidity: uidValidity, uid: uid) else { return uid }
            return plan.isServed(by: cached) ? nil : uid
        }
    }

    /// Encodes one message's response into `output`. False when nothing was written
    /// (vanished, shrunk, or an unknown transfer encoding, which stops the job).
    private func emit(_ original: Message, into output: inout MessageOutput) throws -> Bool {
        let message = detailed?[next - 1] ?? original
        var items = plan.attributes
        let gainedSeen = seenFlags[message.uid]
        // §6.4.5: a FETCH that sets \Seen reports the new flags with it, and with
        // CONDSTORE enabled their new mod-sequence (RFC 7162 §3.1: every untagged
        // FETCH of a flag change carries MODSEQ).
        if gainedSeen != nil && !plan.includesFlags { items.append(.flags) }
        if gainedSeen != nil && plan.reportsModSeq && !items.contains(.modSeq) { items.append(.modSeq) }
        var record = message
        if plan.needsDetails && record.lacksDetails {
            result.missing += 1
            return false
        }
        if let gainedSeen {
            record.flags = gainedSeen.flags
            record.modSeq = gainedSeen.modSeq
        }
        guard plan.needsFile else {
            try write(message.sequenceNumber, record, items, parsed: nil, raw: nil, binaries: [:], into: &output)
            return true
        }
        let cached = cache.lookup(folder, uidValidity: uidValidity, uid: record.uid)
        if let cached, plan.isServed(by: cached) {
            // Everything asked for is cached: the file is not opened. A message
            // expunged by another program since the last synchronize may still be
            // answered this way, which RFC 9051 §7.5.1 allows until its EXPUNGE is sent.
            try write(message.sequenceNumber, record, items, parsed: cached, raw: nil, binaries: [:], into: &output)
            return true
        }
        if let listed = listedMessage(record.uid, cached: cached) {
            // From the listing cache: the same answer as above (the same race).
            try write(message.sequenceNumber, record, items, parsed: listed, raw: nil, binaries: [:], into: &output)
            return true
        }
        let opening = ContinuousClock.now
        guard let file = try folder.openMessage(record.uid) else {
            result.missing += 1
            return false
        }
        filesAreCold = ContinuousClock.now - opening > Self.coldOpen
        let outcome = try file.withContents { raw, probe -> MessageOutcome in
            try emit(
                message.sequenceNumber, record, items, cached: cached, raw: raw, probe: probe, file: file, into: &output
            )
        }
        switch outcome {
        case .written:
            // A large literal is still to be read from it (`pending`).
            if output.segments.isEmpty { file.close() } else { self.file = file }
            return true
        case .unknownCTE:
            file.close()
            result.unknownCTE = true
            stopped = true
        case .shrunk:
            file.close()
            logger.error("message file shrank while being read; not sent", metadata: ["uid": "\(record.uid.rawValue)"])
            result.shrunk += 1
        }
        return false
    }

    /// One message read from its file's contents.
    private func emit(
        _ number: SequenceNumber, _ record: Message, _ items: [FetchAttribute], cached: ParsedMessage?,
        raw: UnsafeRawBufferPointer, probe: ShrinkProbe, file: MessageFile, into output: inout MessageOutput
    ) throws -> MessageOutcome {
        guard plan.needsTree else {
            // BODY[] / RFC822 alone: the file is sent as it is, with no MIME parse
            // first (which would read all of a 50 MB file before the first byte).
            guard !probe.fileShrank else { return .shrunk }
            try write(number, record, items, parsed: nil, raw: raw, probe: probe, binaries: [:], into: &output)
            return .written
        }
        let parse = parse(raw, probe: probe, cached: cached, uid: record.uid)
        let parsed = parse.message
        // BINARY contents are decoded before anything of this message is written: an
        // undecodable part fails the command (RFC 3516 §4.3) and no half-written FETCH
        // response may reach the client.
        var binaries: [Int: BinaryContent] = [:]
        for (index, item) in items.enumerated() {
            switch item {
            case .binary(let part, _, _), .binarySize(let part):
                // A part that does not exist is empty, as for BODY[part].
                let content = parse.tree.binaryContent(part, raw) ?? .decoded([])
                if case .unknownEncoding = content { return probe.fileShrank ? .shrunk : .unknownCTE }
                binaries[index] = content
            default: continue
            }
        }
        // Nothing of this message is written yet: a file that shrank under the parse
        // is skipped like a vanished message.
        guard !probe.fileShrank else { return .shrunk }
        try write(number, record, items, parsed: parsed, raw: raw, probe: probe, binaries: binaries, into: &output)
        // Whatever was read while writing (header fields, sections) came from the
        // file too.
        if probe.fileShrank { throw MessageShrank() }
        noteForListing(parsed, file.record)
        return .written
    }

    /// Produces what is pending, up to `stepBytes` in `out`.
    private func drain(into out: inout ByteBuffer) throws {
        while !pending.isEmpty && out.readableBytes < Self.stepBytes {
            switch pending[0] {
            case .bytes(var bytes):
                out.writeBuffer(&bytes)
                pending.removeFirst()
            case .file(var window):
                if try read(&window, into: &out) {
                    pending.removeFirst()
                } else {
                    pending[0] = .file(window)
                }
            }
        }
        if pending.isEmpty {
            file?.close()
            file = nil
        }
    }

    /// Reads `window` on from the open file until `out` holds `stepBytes`; true when
    /// the window is complete.
    private func read(_ window: inout FileWindow, into out: inout ByteBuffer) throws -> Bool {
        guard let file else { throw MessageShrank() }
        while window.position < window.end && out.readableBytes < Self.stepBytes {
            let count = min(Self.chunkSize, window.end - window.position)
            let bytes = try file.read(offset: window.position, count: count)
            // Short: the file shrank since it was opened. Nothing of it is sent.
            guard bytes.count == count else { throw MessageShrank() }
            chunk.removeAll(keepingCapacity: true)
            let more = bytes.withUnsafeBytes { window.converter.convert($0, into: &chunk) }
            if !window.literal8 && chunk.contains(FetchJob.nul) {
                for i in chunk.indices { chunk[i] = FetchJob.literalSafe(chunk[i]) }
            }
            out.writeBytes(chunk)
            window.written += chunk.count
            window.position = more ? window.position + count : window.end
        }
        guard window.position >= window.end else { return false }
        // The literal's size was announced: never send fewer bytes than promised, or
        // the client would read our next response as message data.
        if window.written < window.size {
            logger.error(
                "message shorter than its computed size", metadata: ["missing": "\(window.size - window.written)"])
            out.writeRepeatingByte(UInt8(ascii: " "), count: window.size - window.written)
        }
        return true
    }

    /// The message's parse: the cached one completed with what this FETCH needs (both
    /// ENVELOPE and BODYSTRUCTURE when either goes to the listing cache: a webmail asks
    /// for both, often in two FETCHes), or a fresh parse, stored back in the cache when
    /// anything was added.
    private func parse(
        _ raw: UnsafeRawBufferPointer, probe: ShrinkProbe, cached: ParsedMessage?, uid: StoreUID
    ) -> ParsedMessageCache.Parsed {
        let both = listing != nil && (plan.needsEnvelope || plan.needsStructure)
        return cache.parse(
            raw, probe: probe, cached: cached, envelope: plan.needsEnvelope || both,
            structure: plan.needsStructure || both, headerSections: plan.headerSections, folder: folder,
            uidValidity: uidValidity, uid: uid)
    }
}
