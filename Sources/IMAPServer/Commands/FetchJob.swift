import Glibc
import IMAPProtocol
import Logging
import MailMessage
import MaildirStore
import NIOCore

/// The blocking part of a FETCH, run on the thread pool: opens each message once,
/// parses its MIME structure from a read-only mapping, and writes the responses
/// straight to the channel. Bodies are streamed in chunks with LF → CRLF done on the
/// fly; the job waits for each flushed chunk, so a slow client holds back the job, not
/// the server's memory.
///
/// Races: the file may be renamed (another session changed flags) or unlinked
/// (expunged) between the scan and the open; `SharedFolder.openMessage` finds it again
/// by base name or reports it gone, and a gone message is counted in `missing`. An
/// unlinked file stays readable through the open descriptor and the mapping. Maildir
/// files are never rewritten in place (every writer renames a new file into place), but
/// a careless program may truncate one under us: the mapping then reads zeros instead of
/// faulting (TruncationGuard) and the ShrinkProbe says so. Found before anything of the
/// message was written, the message is skipped and counted in `shrunk` (the command
/// ends NO); found while its response is being written, the job throws
/// `MessageShrank` and the session closes the connection, as Dovecot does when a mail
/// gives fewer bytes than announced: a literal whose size went out cannot be completed
/// with the message's bytes, and a client must not keep zeros as the message.
struct FetchJob: Sendable {
    /// What FETCH needs of a message record: not its base name, whose reference count a
    /// copy would touch (one cache miss per message, 100,000s on a `FETCH 1:*`).
    struct Message: Sendable {
        var sequenceNumber: Int
        var uid: StoreUID
        var flags: MessageFlags
        var internalDate: Int64?
        var virtualSize: Int?
        /// FLAGS shows `\Recent` (an IMAP4rev1 session's recent message).
        var recent = false

        var lacksDetails: Bool { internalDate == nil || virtualSize == nil }
    }

    struct Result: Sendable {
        /// Messages that gained \Seen: (UID, new flags).
        var newFlags: [(StoreUID, MessageFlags)] = []
        /// Messages that vanished before they could be read.
        var missing = 0
        /// A BINARY item met a Content-Transfer-Encoding this server cannot undo; the
        /// job stopped before that message's FETCH response (RFC 3516 §4.3).
        var unknownCTE = false
        /// Messages whose file shrank under the read before their response started.
        var shrunk = 0
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
    let messages: [Message]
    let folder: SharedFolder
    /// The folder's UIDVALIDITY as the session knows it (part of the cache key).
    let uidValidity: StoreUIDValidity
    let cache: ParsedMessageCache
    let encoder: ResponseEncoder
    let channel: Channel
    let logger: Logger
    static let flushThreshold = 256 * 1024
    static let chunkSize = 64 * 1024
    /// NUL: content holding it must go as a literal8 (RFC 9051 §4.3).
    static let nul: UInt8 = 0

    func run() throws -> Result {
        var result = Result()
        // INTERNALDATE and RFC822.SIZE of messages a scan took in without a stat
        // (MessageRecord); one that cannot be had any more is a vanished message.
        var messages = messages
        if plan.needsDetails {
            let lacking = messages.indices.filter { messages[$0].lacksDetails }
            let found = lacking.isEmpty ? [] : try folder.details(of: lacking.map { messages[$0].uid })
            for (index, details) in zip(lacking, found) {
                messages[index].internalDate = details?.internalDate
                messages[index].virtualSize = details?.virtualSize
            }
        }
        var seenFlags: [StoreUID: MessageFlags] = [:]
        if plan.setsSeen {
            let unseen = messages.filter { !$0.flags.system.contains(.seen) }.map(\.uid)
            if !unseen.isEmpty {
                result.newFlags = try folder.store(.add, flags: MessageFlags(system: .seen), uids: unseen)
                for (uid, flags) in result.newFlags { seenFlags[uid] = flags }
            }
        }
        var buffer = channel.allocator.buffer(capacity: 16 * 1024)
        var flagBytes = FlagBytesCache()
        var sent = 0
        defer { ServerMetrics.fetchResponses.increment(by: sent) }
        for message in messages {
            var items = plan.attributes
            let gainedSeen = seenFlags[message.uid]
            // §6.4.5: a FETCH that sets \Seen reports the new flags with it.
            if gainedSeen != nil && !plan.includesFlags { items.append(.flags) }
            var record = message
            if plan.needsDetails && record.lacksDetails {
                result.missing += 1
                continue
            }
            if let gainedSeen { record.flags = gainedSeen }
            if plan.needsFile {
                let cached = cache.lookup(folder, uidValidity: uidValidity, uid: record.uid)
                if let cached, plan.isServed(by: cached) {
                    // Everything asked for is cached: the file is not opened. A message
                    // expunged by another program since the last synchronize may still
                    // be answered this way, which RFC 9051 §7.5.1 allows until its
                    // EXPUNGE is sent.
                    try write(
                        message.sequenceNumber, record, items, parsed: cached, raw: nil, binaries: [:],
                        flagBytes: &flagBytes,
                        into: &buffer)
                } else {
                    guard let file = try folder.openMessage(record.uid) else {
                        result.missing += 1
                        continue
                    }
                    defer { file.close() }
                    let outcome = try file.withContents { raw, probe -> MessageOutcome in
                        guard plan.needsTree else {
                            // BODY[] / RFC822 alone: the file is streamed as it is, with
                            // no MIME parse first (which would read all of a 50 MB file
                            // before the first byte goes out).
                            guard !probe.fileShrank else { return .shrunk }
                            try write(
                                message.sequenceNumber, record, items, parsed: nil, raw: raw, probe: probe,
                                binaries: [:],
                                flagBytes: &flagBytes, into: &buffer)
                            return .written
                        }
                        let parsed = parse(raw, probe: probe, cached: cached, uid: record.uid)
                        // BINARY contents are decoded before anything of this message is
                        // written: an undecodable part fails the command (RFC 3516 §4.3)
                        // and no half-written FETCH response may reach the client.
                        var binaries: [Int: BinaryContent] = [:]
                        for (index, item) in items.enumerated() {
                            switch item {
                            case .binary(let part, _, _), .binarySize(let part):
                                // A part that does not exist is empty, as for BODY[part].
                                let content = parsed.tree.binaryContent(part, raw) ?? .decoded([])
                                if case .unknownEncoding = content { return probe.fileShrank ? .shrunk : .unknownCTE }
                                binaries[index] = content
                            default: continue
                            }
                        }
                        // Nothing of this message is written yet: a file that shrank
                        // under the parse is skipped like a vanished message.
                        guard !probe.fileShrank else { return .shrunk }
                        try write(
                            message.sequenceNumber, record, items, parsed: parsed, raw: raw, probe: probe,
                            binaries: binaries,
                            flagBytes: &flagBytes, into: &buffer)
                        // Whatever was read while writing (header fields, sections) came
                        // from the file too.
                        if probe.fileShrank { throw MessageShrank() }
                        return .written
                    }
                    if outcome == .unknownCTE {
                        result.unknownCTE = true
                        break
                    }
                    if outcome == .shrunk {
                        logger.error(
                            "message file shrank while being read; not sent",
                            metadata: ["uid": "\(record.uid.rawValue)"])
                        result.shrunk += 1
                        continue
                    }
                }
            } else {
                try write(
                    message.sequenceNumber, record, items, parsed: nil, raw: nil, binaries: [:], flagBytes: &flagBytes,
                    into: &buffer)
            }
            sent += 1
            if buffer.readableBytes >= FetchJob.flushThreshold { try flush(&buffer) }
        }
        try flush(&buffer)
        return result
    }

    /// The message's parse: the cached one completed with what this FETCH needs, or a
    /// fresh parse, stored back in the cache when anything was added.
    private func parse(
        _ raw: UnsafeRawBufferPointer, probe: ShrinkProbe, cached: ParsedMessage?, uid: StoreUID
    ) -> ParsedMessage {
        cache.parse(
            raw, probe: probe, cached: cached, envelope: plan.needsEnvelope, structure: plan.needsStructure,
            folder: folder, uidValidity: uidValidity, uid: uid)
    }

    private func flush(_ buffer: inout ByteBuffer) throws {
        guard buffer.readableBytes > 0 else { return }
        ServerMetrics.bytesSent.increment(by: buffer.readableBytes)
        try channel.writeAndFlush(buffer).wait()
        buffer = channel.allocator.buffer(capacity: 16 * 1024)
    }

    private func write(
        _ number: Int, _ record: Message, _ items: [FetchAttribute], parsed: ParsedMessage?,
        raw: UnsafeRawBufferPointer?, probe: ShrinkProbe? = nil, binaries: [Int: BinaryContent],
        flagBytes: inout FlagBytesCache,
        into buffer: inout ByteBuffer
    ) throws {
        let tree = parsed?.tree
        encoder.writeFetchStart(SequenceNumber(UInt32(number)), into: &buffer)
        for (index, item) in items.enumerated() {
            let first = index == 0
            switch item {
            case .uid: encoder.writeFetchItem(.uid(record.uid.wire), isFirst: first, into: &buffer)
            case .flags:
                flagBytes.write(record.flags, recent: record.recent, encoder: encoder, isFirst: first, into: &buffer)
            // Both known here: `run` completed the details or skipped the message.
            case .internalDate:
                let date = IMAPDateTime(secondsSinceEpoch: record.internalDate ?? 0, zoneMinutes: 0)
                encoder.writeFetchItem(.internalDate(date), isFirst: first, into: &buffer)
            case .rfc822Size:
                encoder.writeFetchItem(.rfc822Size(record.virtualSize ?? 0), isFirst: first, into: &buffer)
            case .modSeq:
                // Refused by the handler before the job starts.
                continue
            case .binary(let part, let partial, _):
                guard let raw, let content = binaries[index] else { continue }
                try writeBinary(part, content, partial: partial, raw: raw, probe: probe, isFirst: first, into: &buffer)
            case .binarySize(let part):
                guard let size = binaries[index]?.size else { continue }
                encoder.writeFetchItem(.binarySize(part: part, size: size), isFirst: first, into: &buffer)
            case .envelope:
                guard let envelope = parsed?.envelope else { continue }
                encoder.writeFetchItem(.envelope(envelope), isFirst: first, into: &buffer)
            case .body, .bodyStructure:
                // BODY is the BODYSTRUCTURE value written without its extension data.
                guard let structure = parsed?.bodyStructure else { continue }
                encoder.writeFetchItem(
                    .bodyStructure(structure, extensible: item == .bodyStructure), isFirst: first, into: &buffer)
            case .bodySection(let spec, let partial, _):
                guard let raw else { continue }
                try writeSection(
                    .bodySection(spec, origin: partial?.offset), wholeOrSection(spec, tree, raw, record),
                    partial: partial, raw: raw, probe: probe, isFirst: first, into: &buffer)
            case .rfc822:
                guard let raw else { continue }
                try writeSection(
                    .rfc822, wholeOrSection(SectionSpec(), tree, raw, record), partial: nil, raw: raw, probe: probe,
                    isFirst: first, into: &buffer)
            case .rfc822Header:
                guard let tree, let raw else { continue }
                try writeSection(
                    .rfc822Header, tree.section(SectionSpec(text: .header), raw), partial: nil, raw: raw,
                    probe: probe, isFirst: first, into: &buffer)
            case .rfc822Text:
                guard let tree, let raw else { continue }
                try writeSection(
                    .rfc822Text, tree.section(SectionSpec(text: .text), raw), partial: nil, raw: raw, probe: probe,
                    isFirst: first, into: &buffer)
            }
        }
        encoder.writeFetchEnd(into: &buffer)
    }

    /// BINARY[part]<partial> (RFC 3516 §4.2, RFC 9051 §6.4.5): the decoded content, or
    /// the raw content (bare LF as CRLF) when there is no encoding to undo. Decoded
    /// content goes as a literal8 `~{n}`; raw content only when it holds a NUL, which a
    /// plain literal may not carry (RFC 9051 §4.3). The whole part is checked, so every
    /// window of one part is sent the same way.
    private func writeBinary(
        _ part: [Int], _ content: BinaryContent, partial: Partial?, raw: UnsafeRawBufferPointer, probe: ShrinkProbe?,
        isFirst: Bool, into buffer: inout ByteBuffer
    ) throws {
        let label = ResponseEncoder.StreamedLabel.binary(part: part, origin: partial?.offset)
        switch content {
        case .decoded(let bytes):
            // Decoded content is always a literal8, as Dovecot sends it: whatever the
            // transfer encoding hid may be 8-bit or NUL (golden tests).
            try writeSection(
                label, .bytes(bytes), partial: partial, raw: raw, probe: probe, literal8: true, isFirst: isFirst,
                into: &buffer)
        case .raw(let range, let crlfLength):
            let lower = max(0, min(range.lowerBound, raw.count))
            let upper = max(lower, min(range.upperBound, raw.count))
            let literal8 = UnsafeRawBufferPointer(rebasing: raw[lower..<upper]).contains(FetchJob.nul)
            try writeSection(
                label, .raw(range: range, crlfLength: crlfLength), partial: partial, raw: raw, probe: probe,
                literal8: literal8, isFirst: isFirst, into: &buffer)
        case .unknownEncoding:
            // Filtered out by `run` before the message's response starts.
            return
        }
    }

    /// The section from the parse; without one (`plan.needsTree` false: only whole
    /// messages asked for) the whole file, whose CRLF length is RFC822.SIZE.
    private func wholeOrSection(
        _ spec: SectionSpec, _ tree: MessageTree?, _ raw: UnsafeRawBufferPointer, _ record: Message
    ) -> SectionContent? {
        guard let tree else { return .raw(range: 0..<raw.count, crlfLength: record.virtualSize ?? crlfLength(raw)) }
        return tree.section(spec, raw)
    }

    /// Pages of a mapped file already sent are dropped from the resident set
    /// (MADV_DONTNEED on a read-only private file mapping only unmaps them: the page
    /// cache keeps them and a later read faults them back), so a 50 MB BODY[] peaks at a
    /// few chunks of RSS, not the message. Mappings only: `withContents` maps exactly
    /// the files larger than `readWholeLimit` (on heap memory this would zero it).
    static func releaseSentPages(_ raw: UnsafeRawBufferPointer, upTo end: Int, released: inout Int) {
        guard raw.count > MessageFile.readWholeLimit, let base = raw.baseAddress else { return }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        guard page > 0 else { return }
        let stop = min(end, raw.count) / page * page
        guard stop > released else { return }
        _ = madvise(UnsafeMutableRawPointer(mutating: base + released), stop - released, MADV_DONTNEED)
        released = stop
    }

    /// A literal is `*CHAR8` (RFC 9051 §9): a NUL in a plain literal is sent as 0x80,
    /// as Dovecot does; the size does not change. Only BINARY uses literal8 instead.
    static func literalSafe(_ byte: UInt8) -> UInt8 { byte == nul ? nulReplacement : byte }
    static let nulReplacement: UInt8 = 0x80

    /// Writes one body item as a literal (a literal8 when `literal8`). A section that
    /// does not exist is an empty string, as Dovecot answers. `<offset.count>` selects a
    /// window of the CRLF form.
    private func writeSection(
        _ label: ResponseEncoder.StreamedLabel, _ content: SectionContent?, partial: Partial?,
        raw: UnsafeRawBufferPointer, probe: ShrinkProbe?, literal8: Bool = false, isFirst: Bool,
        into buffer: inout ByteBuffer
    ) throws {
        let offset = partial?.offset ?? 0
        let limit = partial?.count ?? Int.max
        switch content ?? .bytes([]) {
        case .bytes(let bytes):
            let start = min(offset, bytes.count)
            let end = start + min(limit, bytes.count - start)
            encoder.writeStreamedLiteralHeader(
                label, size: end - start, binary: literal8, isFirst: isFirst, into: &buffer)
            if literal8 {
                buffer.writeBytes(bytes[start..<end])
            } else {
                buffer.writeBytes(bytes[start..<end].map(FetchJob.literalSafe))
            }
        case .raw(let range, let crlfLength):
            let size = offset >= crlfLength ? 0 : min(limit, crlfLength - offset)
            encoder.writeStreamedLiteralHeader(label, size: size, binary: literal8, isFirst: isFirst, into: &buffer)
            guard size > 0 else { return }
            var converter = CRLFConverter(skip: offset, limit: size)
            var chunk: [UInt8] = []
            chunk.reserveCapacity(FetchJob.chunkSize * 2)
            var written = 0
            var released = 0
            var position = max(0, min(range.lowerBound, raw.count))
            let end = max(position, min(range.upperBound, raw.count))
            while position < end {
                let next = min(position + FetchJob.chunkSize, end)
                chunk.removeAll(keepingCapacity: true)
                let more = converter.convert(UnsafeRawBufferPointer(rebasing: raw[position..<next]), into: &chunk)
                // Checked before the chunk goes out: zeros read from a truncated file
                // are never sent as the message.
                if let probe, probe.fileShrank { throw MessageShrank() }
                if !literal8 && chunk.contains(FetchJob.nul) {
                    for i in chunk.indices { chunk[i] = FetchJob.literalSafe(chunk[i]) }
                }
                buffer.writeBytes(chunk)
                written += chunk.count
                if buffer.readableBytes >= FetchJob.flushThreshold {
                    try flush(&buffer)
                    FetchJob.releaseSentPages(raw, upTo: next, released: &released)
                }
                if !more { break }
                position = next
            }
            // The literal's size was announced: never send fewer bytes than promised,
            // or the client would read our next response as message data.
            if written < size {
                logger.error("message shorter than its computed size", metadata: ["missing": "\(size - written)"])
                buffer.writeRepeatingByte(UInt8(ascii: " "), count: size - written)
            }
        }
    }
}

/// `FLAGS (…)` encoded once per distinct flag set: a folder has few of them, so a
/// `FETCH 1:* (FLAGS)` of 100,000 messages encodes a handful, then copies bytes.
struct FlagBytesCache {
    private struct Key: Hashable {
        var flags: MessageFlags
        var recent: Bool
    }

    private var encoded: [Key: [UInt8]] = [:]
    /// Distinct sets kept (keywords make many combinations possible).
    static let capacity = 256

    mutating func write(
        _ flags: MessageFlags, recent: Bool, encoder: ResponseEncoder, isFirst: Bool, into buffer: inout ByteBuffer
    ) {
        if !isFirst { buffer.writeInteger(UInt8(ascii: " ")) }
        let key = Key(flags: flags, recent: recent)
        if let bytes = encoded[key] {
            buffer.writeBytes(bytes)
            return
        }
        var scratch = ByteBuffer()
        encoder.writeFetchItem(.flags(flags.wireFlags(recent: recent)), isFirst: true, into: &scratch)
        let bytes = Array(scratch.readableBytesView)
        if encoded.count < Self.capacity { encoded[key] = bytes }
        buffer.writeBytes(bytes)
    }
}

extension FetchAttribute {
    /// The whole message as stored (BODY[], BODY.PEEK[], RFC822, with or without a
    /// partial range): served from the file without its MIME structure.
    var isWholeMessage: Bool {
        switch self {
        case .rfc822: return true
        case .bodySection(let spec, _, _): return spec.part.isEmpty && spec.text == nil
        default: return false
        }
    }
}

extension FetchPlan {
    /// Some item needs the MIME tree (any section but the whole message, ENVELOPE,
    /// BODYSTRUCTURE, BINARY, RFC822.HEADER/TEXT).
    var needsTree: Bool { attributes.contains { $0.needsFile && !$0.isWholeMessage } }
}
