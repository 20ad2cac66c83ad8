import Glibc
import IMAPProtocol
import Logging
import MailMessage
import MaildirStore
import NIOCore

/// A message's response while it is being encoded: `buffer` is the open tail, and
/// `segments` what comes before it once a large literal was left for later steps.
struct MessageOutput {
    var buffer: ByteBuffer
    var segments: [FetchSegment] = []

    /// The literal's content comes from the file, after what was written so far.
    mutating func deferFile(_ window: FileWindow) {
        segments.append(.bytes(buffer))
        segments.append(.file(window))
        buffer = ByteBufferAllocator().buffer(capacity: 256)
    }
}

/// A part of a response not produced yet.
enum FetchSegment {
    case bytes(ByteBuffer)
    case file(FileWindow)
}

/// A literal's content still to be read from the open message file: the file's bytes
/// `position..<end`, converted to CRLF form through `converter` (which also cuts the
/// `<offset.count>` window), `size` bytes announced, `written` sent.
struct FileWindow {
    var position: Int
    let end: Int
    var converter: CRLFConverter
    let literal8: Bool
    let size: Int
    var written = 0
}

/// Encoding one message's FETCH response (RFC 9051 §7.5.2).
extension FetchJob {
    func write(
        _ number: SequenceNumber, _ record: Message, _ items: [FetchAttribute], parsed: ParsedMessage?,
        raw: UnsafeRawBufferPointer?, probe: ShrinkProbe? = nil, binaries: [Int: BinaryContent],
        into output: inout MessageOutput
    ) throws {
        let tree = parsed?.tree
        encoder.writeFetchStart(number, into: &output.buffer)
        for (index, item) in items.enumerated() {
            let first = index == 0
            switch item {
            case .uid, .flags, .internalDate, .rfc822Size, .modSeq:
                Self.writeRecordItem(item, record, isFirst: first, encoder, &flagBytes, into: &output.buffer)
            case .binary(let part, let partial, _):
                guard let raw, let content = binaries[index] else { continue }
                try writeBinary(part, content, partial: partial, raw: raw, probe: probe, isFirst: first, into: &output)
            case .binarySize(let part):
                guard let size = binaries[index]?.size else { continue }
                encoder.writeFetchItem(.binarySize(part: part, size: size), isFirst: first, into: &output.buffer)
            case .envelope:
                guard let envelope = parsed?.envelope else { continue }
                encoder.writeFetchItem(.envelope(envelope), isFirst: first, into: &output.buffer)
            case .body, .bodyStructure:
                // BODY is the BODYSTRUCTURE value written without its extension data.
                guard let structure = parsed?.bodyStructure else { continue }
                encoder.writeFetchItem(
                    .bodyStructure(structure, extensible: item == .bodyStructure), isFirst: first, into: &output.buffer)
            case .bodySection(let spec, let partial, _):
                guard let raw else {
                    // A top-level HEADER.FIELDS section the caches keep (FetchPlan).
                    guard let key = plan.headerKey(of: spec), let bytes = parsed?.headerSections[key] else { continue }
                    try writeSection(
                        .bodySection(spec, origin: partial?.offset), .bytes(bytes), partial: partial,
                        raw: UnsafeRawBufferPointer(start: nil, count: 0), probe: nil, isFirst: first, into: &output)
                    continue
                }
                try writeSection(
                    .bodySection(spec, origin: partial?.offset), wholeOrSection(spec, tree, raw, record),
                    partial: partial, raw: raw, probe: probe, isFirst: first, into: &output)
            case .rfc822:
                guard let raw else { continue }
                try writeSection(
                    .rfc822, wholeOrSection(SectionSpec(), tree, raw, record), partial: nil, raw: raw, probe: probe,
                    isFirst: first, into: &output)
            case .rfc822Header:
                guard let tree, let raw else { continue }
                try writeSection(
                    .rfc822Header, tree.section(SectionSpec(text: .header), raw), partial: nil, raw: raw,
                    probe: probe, isFirst: first, into: &output)
            case .rfc822Text:
                guard let tree, let raw else { continue }
                try writeSection(
                    .rfc822Text, tree.section(SectionSpec(text: .text), raw), partial: nil, raw: raw, probe: probe,
                    isFirst: first, into: &output)
            }
        }
        encoder.writeFetchEnd(into: &output.buffer)
    }

    /// An item the message record answers (no file): UID, FLAGS, INTERNALDATE,
    /// RFC822.SIZE, MODSEQ. INTERNALDATE and RFC822.SIZE are known here: `prepare`
    /// completed the details, or `emit` skipped the message.
    static func writeRecordItem(
        _ item: FetchAttribute, _ record: Message, isFirst: Bool, _ encoder: ResponseEncoder,
        _ flagBytes: inout FlagBytesCache, into buffer: inout ByteBuffer
    ) {
        switch item {
        case .uid: encoder.writeFetchItem(.uid(record.uid.wire), isFirst: isFirst, into: &buffer)
        case .flags:
            flagBytes.write(record.flags, recent: record.recent, encoder: encoder, isFirst: isFirst, into: &buffer)
        case .internalDate:
            let date = IMAPDateTime(secondsSinceEpoch: record.internalDate ?? 0, zoneMinutes: 0)
            encoder.writeFetchItem(.internalDate(date), isFirst: isFirst, into: &buffer)
        case .rfc822Size: encoder.writeFetchItem(.rfc822Size(record.virtualSize ?? 0), isFirst: isFirst, into: &buffer)
        case .modSeq: encoder.writeFetchItem(.modSeq(record.modSeq.rawValue), isFirst: isFirst, into: &buffer)
        default: break
        }
    }

    /// BINARY[part]<partial> (RFC 3516 §4.2, RFC 9051 §6.4.5): the decoded content, or
    /// the raw content (bare LF as CRLF) when there is no encoding to undo. Decoded
    /// content goes as a literal8 `~{n}`; raw content only when it holds a NUL, which a
    /// plain literal may not carry (RFC 9051 §4.3). The whole part is checked, so every
    /// window of one part is sent the same way.
    private func writeBinary(
        _ part: [Int], _ content: BinaryContent, partial: Partial?, raw: UnsafeRawBufferPointer, probe: ShrinkProbe?,
        isFirst: Bool, into output: inout MessageOutput
    ) throws {
        let label = ResponseEncoder.StreamedLabel.binary(part: part, origin: partial?.offset)
        switch content {
        case .decoded(let bytes):
            // Decoded content is always a literal8, as Dovecot sends it: whatever the
            // transfer encoding hid may be 8-bit or NUL (golden tests).
            try writeSection(
                label, .bytes(bytes), partial: partial, raw: raw, probe: probe, literal8: true, isFirst: isFirst,
                into: &output)
        case .raw(let range, let crlfLength):
            let lower = max(0, min(range.lowerBound, raw.count))
            let upper = max(lower, min(range.upperBound, raw.count))
            let literal8 = UnsafeRawBufferPointer(rebasing: raw[lower..<upper]).contains(FetchJob.nul)
            try writeSection(
                label, .raw(range: range, crlfLength: crlfLength), partial: partial, raw: raw, probe: probe,
                literal8: literal8, isFirst: isFirst, into: &output)
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
        into output: inout MessageOutput
    ) throws {
        let offset = partial?.offset ?? 0
        let limit = partial?.count ?? Int.max
        switch content ?? .bytes([]) {
        case .bytes(let bytes):
            let start = min(offset, bytes.count)
            let end = start + min(limit, bytes.count - start)
            encoder.writeStreamedLiteralHeader(
                label, size: end - start, binary: literal8, isFirst: isFirst, into: &output.buffer)
            if literal8 {
                output.buffer.writeBytes(bytes[start..<end])
            } else {
                output.buffer.writeBytes(bytes[start..<end].map(FetchJob.literalSafe))
            }
        case .raw(let range, let crlfLength):
            let size = offset >= crlfLength ? 0 : min(limit, crlfLength - offset)
            encoder.writeStreamedLiteralHeader(
                label, size: size, binary: literal8, isFirst: isFirst, into: &output.buffer)
            guard size > 0 else { return }
            let start = max(0, min(range.lowerBound, raw.count))
            let end = max(start, min(range.upperBound, raw.count))
            var window = FileWindow(
                position: start, end: end, converter: CRLFConverter(skip: offset, limit: size), literal8: literal8,
                size: size)
            guard size <= FetchJob.inlineLimit else {
                // Read by later steps, as the connection takes it (FetchJob.read).
                output.deferFile(window)
                return
            }
            var chunk: [UInt8] = []
            chunk.reserveCapacity(min(size, FetchJob.chunkSize) * 2)
            while window.position < window.end {
                let next = min(window.position + FetchJob.chunkSize, window.end)
                let more = window.converter.convert(
                    UnsafeRawBufferPointer(rebasing: raw[window.position..<next]), into: &chunk)
                window.position = next
                if !more { break }
            }
            // Checked before the bytes go out: zeros read from a truncated file are
            // never sent as the message.
            if let probe, probe.fileShrank { throw MessageShrank() }
            if !literal8 && chunk.contains(FetchJob.nul) {
                for i in chunk.indices { chunk[i] = FetchJob.literalSafe(chunk[i]) }
            }
            output.buffer.writeBytes(chunk)
            // The literal's size was announced: never send fewer bytes than promised,
            // or the client would read our next response as message data.
            if chunk.count < size {
                logger.error("message shorter than its computed size", metadata: ["missing": "\(size - chunk.count)"])
                output.buffer.writeRepeatingByte(UInt8(ascii: " "), count: size - chunk.count)
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
    /// Sets without keywords, the commonest, by their system flags and \Recent: an
    /// array index instead of a hash (neighbours' flags differ often enough that
    /// hashing was a tenth of `UID FETCH 1:* (FLAGS)`).
    private var plain: [[UInt8]?] = Array(repeating: nil, count: 2 << 8)
    /// The last set written: neighbours mostly share their flags, and comparing with
    /// the last costs less than hashing a set per message.
    private var last: (key: Key, bytes: [UInt8])?
    /// Distinct sets kept (keywords make many combinations possible).
    static let capacity = 256

    mutating func write(
        _ flags: MessageFlags, recent: Bool, encoder: ResponseEncoder, isFirst: Bool, into buffer: inout ByteBuffer
    ) {
        if !isFirst { buffer.writeInteger(UInt8(ascii: " ")) }
        buffer.writeBytes(item(flags, recent: recent, encoder: encoder))
    }

    /// The FLAGS item of these flags, `FLAGS (...)`.
    mutating func item(_ flags: MessageFlags, recent: Bool, encoder: ResponseEncoder) -> [UInt8] {
        if flags.keywords.isEmpty {
            let slot = Int(flags.system.rawValue) << 1 | (recent ? 1 : 0)
            if let bytes = plain[slot] { return bytes }
            let bytes = Self.encode(flags, recent: recent, encoder: encoder)
            plain[slot] = bytes
            return bytes
        }
        let key = Key(flags: flags, recent: recent)
        if let last, last.key == key { return last.bytes }
        if let bytes = encoded[key] {
            last = (key, bytes)
            return bytes
        }
        let bytes = Self.encode(flags, recent: recent, encoder: encoder)
        if encoded.count < Self.capacity { encoded[key] = bytes }
        last = (key, bytes)
        return bytes
    }

    private static func encode(_ flags: MessageFlags, recent: Bool, encoder: ResponseEncoder) -> [UInt8] {
        var scratch = ByteBuffer()
        encoder.writeFetchItem(.flags(flags.wireFlags(recent: recent)), isFirst: true, into: &scratch)
        return Array(scratch.readableBytesView)
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
