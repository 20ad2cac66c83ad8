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
/// files are never rewritten in place (every writer renames a new file into place), so
/// the mapping cannot shrink under us.
struct FetchJob: Sendable {
    struct Message: Sendable {
        var sequenceNumber: Int
        var record: MessageRecord
    }

    struct Result: Sendable {
        /// Messages that gained \Seen: (UID, new flags).
        var newFlags: [(StoreUID, MessageFlags)] = []
        /// Messages that vanished before they could be read.
        var missing = 0
    }

    let plan: FetchPlan
    let messages: [Message]
    let folder: SharedFolder
    let encoder: ResponseEncoder
    let channel: Channel
    let logger: Logger
    static let flushThreshold = 256 * 1024
    static let chunkSize = 64 * 1024

    func run() throws -> Result {
        var result = Result()
        var seenFlags: [StoreUID: MessageFlags] = [:]
        if plan.setsSeen {
            let unseen = messages.filter { !$0.record.flags.system.contains(.seen) }.map(\.record.uid)
            if !unseen.isEmpty {
                result.newFlags = try folder.store(.add, flags: MessageFlags(system: .seen), uids: unseen)
                for (uid, flags) in result.newFlags { seenFlags[uid] = flags }
            }
        }
        var buffer = channel.allocator.buffer(capacity: 16 * 1024)
        for message in messages {
            var items = plan.attributes
            let gainedSeen = seenFlags[message.record.uid]
            // §6.4.5: a FETCH that sets \Seen reports the new flags with it.
            if gainedSeen != nil && !plan.includesFlags { items.append(.flags) }
            var record = message.record
            if let gainedSeen { record.flags = gainedSeen }
            if plan.needsFile {
                guard let file = try folder.openMessage(record.uid) else {
                    result.missing += 1
                    continue
                }
                defer { file.close() }
                try file.withMappedBytes { raw in
                    let tree = MessageTree.parse(raw)
                    try write(message.sequenceNumber, record, items, tree: tree, raw: raw, into: &buffer)
                }
            } else {
                try write(message.sequenceNumber, record, items, tree: nil, raw: nil, into: &buffer)
            }
            if buffer.readableBytes >= FetchJob.flushThreshold { try flush(&buffer) }
        }
        try flush(&buffer)
        return result
    }

    private func flush(_ buffer: inout ByteBuffer) throws {
        guard buffer.readableBytes > 0 else { return }
        try channel.writeAndFlush(buffer).wait()
        buffer = channel.allocator.buffer(capacity: 16 * 1024)
    }

    private func write(
        _ number: Int, _ record: MessageRecord, _ items: [FetchAttribute], tree: MessageTree?,
        raw: UnsafeRawBufferPointer?, into buffer: inout ByteBuffer
    ) throws {
        encoder.writeFetchStart(SequenceNumber(UInt32(number)), into: &buffer)
        for (index, item) in items.enumerated() {
            let first = index == 0
            switch item {
            case .uid: encoder.writeFetchItem(.uid(record.uid.wire), isFirst: first, into: &buffer)
            case .flags: encoder.writeFetchItem(.flags(record.flags.wireFlags), isFirst: first, into: &buffer)
            case .internalDate:
                encoder.writeFetchItem(.internalDate(record.internalDateTime), isFirst: first, into: &buffer)
            case .rfc822Size: encoder.writeFetchItem(.rfc822Size(record.virtualSize), isFirst: first, into: &buffer)
            case .modSeq, .binary, .binarySize:
                // Refused by the handler before the job starts.
                continue
            case .envelope:
                guard let tree, let raw else { continue }
                encoder.writeFetchItem(.envelope(tree.envelope(raw)), isFirst: first, into: &buffer)
            case .body, .bodyStructure:
                guard let tree, let raw else { continue }
                let extensible = item == .bodyStructure
                encoder.writeFetchItem(
                    .bodyStructure(tree.bodyStructure(raw, extensible: extensible), extensible: extensible),
                    isFirst: first, into: &buffer)
            case .bodySection(let spec, let partial, _):
                guard let tree, let raw else { continue }
                try writeSection(
                    .bodySection(spec, origin: partial?.offset), tree.section(spec, raw), partial: partial, raw: raw,
                    isFirst: first, into: &buffer)
            case .rfc822:
                guard let tree, let raw else { continue }
                try writeSection(
                    .rfc822, tree.section(SectionSpec(), raw), partial: nil, raw: raw, isFirst: first, into: &buffer)
            case .rfc822Header:
                guard let tree, let raw else { continue }
                try writeSection(
                    .rfc822Header, tree.section(SectionSpec(text: .header), raw), partial: nil, raw: raw,
                    isFirst: first,
                    into: &buffer)
            case .rfc822Text:
                guard let tree, let raw else { continue }
                try writeSection(
                    .rfc822Text, tree.section(SectionSpec(text: .text), raw), partial: nil, raw: raw, isFirst: first,
                    into: &buffer)
            }
        }
        encoder.writeFetchEnd(into: &buffer)
    }

    /// Writes one body item as a literal. A section that does not exist is an empty
    /// string, as Dovecot answers. `<offset.count>` selects a window of the CRLF form.
    private func writeSection(
        _ label: ResponseEncoder.StreamedLabel, _ content: SectionContent?, partial: Partial?,
        raw: UnsafeRawBufferPointer, isFirst: Bool, into buffer: inout ByteBuffer
    ) throws {
        let offset = partial?.offset ?? 0
        let limit = partial?.count ?? Int.max
        switch content ?? .bytes([]) {
        case .bytes(let bytes):
            let start = min(offset, bytes.count)
            let end = start + min(limit, bytes.count - start)
            encoder.writeStreamedLiteralHeader(label, size: end - start, binary: false, isFirst: isFirst, into: &buffer)
            buffer.writeBytes(bytes[start..<end])
        case .raw(let range, let crlfLength):
            let size = offset >= crlfLength ? 0 : min(limit, crlfLength - offset)
            encoder.writeStreamedLiteralHeader(label, size: size, binary: false, isFirst: isFirst, into: &buffer)
            guard size > 0 else { return }
            var converter = CRLFConverter(skip: offset, limit: size)
            var chunk: [UInt8] = []
            chunk.reserveCapacity(FetchJob.chunkSize * 2)
            var written = 0
            var position = max(0, min(range.lowerBound, raw.count))
            let end = max(position, min(range.upperBound, raw.count))
            while position < end {
                let next = min(position + FetchJob.chunkSize, end)
                chunk.removeAll(keepingCapacity: true)
                let more = converter.convert(UnsafeRawBufferPointer(rebasing: raw[position..<next]), into: &chunk)
                buffer.writeBytes(chunk)
                written += chunk.count
                if buffer.readableBytes >= FetchJob.flushThreshold { try flush(&buffer) }
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
