import IMAPProtocol
import MailMessage

/// Estimated memory of a cached parse, for the cache's byte budget. An estimate, not
/// an exact count: the bytes of every string plus a fixed overhead per heap object
/// (array header and allocator rounding) and the inline size of each value. It only has
/// to grow with what is really held, so that the budget bounds memory.
enum CacheCost {
    /// Array header plus malloc rounding, per heap-allocated array.
    static let arrayOverhead = 48
    /// Dictionary slot, key and bookkeeping of one cache entry.
    static let entryOverhead = 96

    static func of(_ message: ParsedMessage) -> Int {
        entryOverhead + (message.tree?.estimatedMemory ?? 0) + (message.envelope.map(of) ?? 0)
            + (message.bodyStructure.map { of($0, depth: 0) } ?? 0) + (message.sortHeaders.map(of) ?? 0)
            + message.headerSections.reduce(0) { $0 + entryOverhead + $1.key.utf8.count + $1.value.count }
    }

    static func of(_ headers: SortHeaders) -> Int {
        let addresses = [headers.from, headers.to, headers.cc].reduce(0) {
            $0 + ($1.map { $0.mailbox.utf8.count + $0.displayName.utf8.count + 2 * arrayOverhead } ?? 0)
        }
        return MemoryLayout<SortHeaders>.stride + addresses + (headers.subject?.utf8.count ?? 0)
            + bytes(headers.messageID)
            + bytes(headers.inReplyTo) + bytes(headers.references)
    }

    static func of(_ envelope: Envelope) -> Int {
        MemoryLayout<Envelope>.stride + bytes(envelope.date) + bytes(envelope.subject) + bytes(envelope.inReplyTo)
            + bytes(envelope.messageID) + of(envelope.from) + of(envelope.sender) + of(envelope.replyTo)
            + of(envelope.to) + of(envelope.cc) + of(envelope.bcc)
    }

    static func of(_ addresses: [Address]) -> Int {
        guard !addresses.isEmpty else { return 0 }
        return addresses.reduce(arrayOverhead + addresses.count * MemoryLayout<Address>.stride) {
            $0 + bytes($1.name) + bytes($1.adl) + bytes($1.mailbox) + bytes($1.host)
        }
    }

    /// Bounded recursion: the structure is at most `MessageLimits` deep (100 levels).
    static func of(_ structure: BodyStructure, depth: Int) -> Int {
        var total = arrayOverhead + MemoryLayout<BodyStructure>.stride
        switch structure {
        case .multipart(let multipart):
            total += bytes(multipart.subtype) + parameters(multipart.parameters) + of(multipart.ext)
            for part in multipart.parts { total += of(part, depth: depth + 1) }
        case .singlepart(let part):
            total += parameters(part.fields.parameters) + bytes(part.fields.id) + bytes(part.fields.description)
            total += part.fields.encoding.utf8.count + bytes(part.md5) + bytes(part.mediaType) + of(part.ext)
            switch part.kind {
            case .basic(let type, let subtype): total += bytes(type) + bytes(subtype)
            case .text(let subtype, _): total += bytes(subtype)
            case .message(let subtype, let envelope, let body, _):
                total += bytes(subtype) + of(envelope) + of(body, depth: depth + 1)
            }
        }
        return total
    }

    static func of(_ ext: BodyStructure.Extension) -> Int {
        var total = bytes(ext.location)
        if let disposition = ext.disposition { total += bytes(disposition.type) + parameters(disposition.parameters) }
        if let language = ext.language { total += language.reduce(arrayOverhead) { $0 + bytes($1) } }
        return total
    }

    static func parameters(_ list: [(String, [UInt8])]) -> Int {
        guard !list.isEmpty else { return 0 }
        return list.reduce(arrayOverhead) { $0 + arrayOverhead + $1.0.utf8.count + bytes($1.1) }
    }

    static func bytes(_ value: [UInt8]?) -> Int {
        guard let value, !value.isEmpty else { return 0 }
        return arrayOverhead + value.count
    }
}
