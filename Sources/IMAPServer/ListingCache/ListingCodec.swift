// The byte form of a ListingEntry (MAILDIR-FORMATS.md, "imapd-cache.listing"), pure:
//
//     entry     = uid (u32) name-hash (u32) parts (u8: 1 envelope, 2 structure, 4 search)
//                 [search] [envelope] [structure]
//     search    = field count, per field: kind (u8: 0 header, 1 address) name texts
//                 (list of nstring); then the date (u8: 0 not kept, 1 none,
//                 2 year month day)
//     nstring   = varint (length + 1; 0 is NIL) bytes
//     list      = varint count, then the elements
//     int       = zigzag varint
//
// Every read is bounds-checked: a count may not exceed the bytes left, nesting is
// bounded (`maxDepth`), and an entry must parse to its end exactly, so damaged bytes
// that got past the frame's CRC decode to nil, never to a crash or a huge allocation.
import IMAPProtocol
import MaildirStore

enum ListingCodec {
    /// Nesting of BODYSTRUCTURE (a message/rfc822 part nests twice); deeper is damage
    /// (the parser stops at MessageLimits.maxDepth).
    static let maxDepth = 512

    /// What a read decodes of each entry: `parts`, and of the search texts what
    /// `needs` asks for (all of them when nil).
    struct Decoding: Sendable {
        var parts: Parts = .all
        var needs: SearchHeaders.Needs? = nil
        /// With `.sections`: the section keys a FETCH needs (a missing one makes the
        /// whole entry come back, to be completed).
        var sectionKeys: [String] = []
    }

    /// The parts of an entry (the `parts` byte).
    struct Parts: OptionSet, Sendable {
        let rawValue: UInt8
        static let envelope = Parts(rawValue: 1)
        static let structure = Parts(rawValue: 2)
        static let search = Parts(rawValue: 4)
        /// Top-level HEADER.FIELDS sections' bytes (ListingEntry.headerSections).
        static let sections = Parts(rawValue: 8)
        static let all: Parts = [.envelope, .structure, .search, .sections]
        /// What a FETCH of ENVELOPE and BODYSTRUCTURE reads.
        static let listing: Parts = [.envelope, .structure]
    }

    // MARK: Writing

    static func encode(_ entry: ListingEntry, into out: inout [UInt8]) {
        var w = Writer(bytes: out)
        out = []
        w.u32(entry.uid)
        w.u32(entry.nameHash)
        var parts: Parts = []
        if entry.envelope != nil { parts.insert(.envelope) }
        if entry.bodyStructure != nil { parts.insert(.structure) }
        if entry.searchHeaders != nil { parts.insert(.search) }
        if !entry.headerSections.isEmpty { parts.insert(.sections) }
        w.bytes.append(parts.rawValue)
        // The search texts first: a SEARCH reads them and stops.
        if let search = entry.searchHeaders { w.search(search) }
        if let envelope = entry.envelope { w.envelope(envelope) }
        if let structure = entry.bodyStructure { w.structure(structure) }
        if !entry.headerSections.isEmpty {
            w.varint(entry.headerSections.count)
            for key in entry.headerSections.keys.sorted() {
                w.text(key)
                w.nstring(entry.headerSections[key])
            }
        }
        out = w.bytes
    }

    private struct Writer {
        var bytes: [UInt8]

        mutating func u32(_ value: UInt32) { withUnsafeBytes(of: value.littleEndian) { bytes += $0 } }
        mutating func varint(_ value: Int) { Varint.append(UInt64(value), to: &bytes) }
        mutating func int(_ value: Int) { Varint.appendZigzag(Int64(value), to: &bytes) }
        mutating func nstring(_ value: [UInt8]?) {
            guard let value else { return bytes.append(0) }
            varint(value.count + 1)
            bytes += value
        }
        mutating func text(_ value: String) { nstring(Array(value.utf8)) }

        mutating func addresses(_ list: [Address]) {
            varint(list.count)
            for a in list {
                nstring(a.name)
                nstring(a.adl)
                nstring(a.mailbox)
                nstring(a.host)
            }
        }

        /// Sender and Reply-To: 0 when equal to From (their usual value, RFC 9051
        /// §7.5.2), else count + 1.
        mutating func addresses(_ list: [Address], unlessEqualTo from: [Address]) {
            if list == from { return bytes.append(0) }
            varint(list.count + 1)
            for a in list {
                nstring(a.name)
                nstring(a.adl)
                nstring(a.mailbox)
                nstring(a.host)
            }
        }

        mutating func envelope(_ e: Envelope) {
            nstring(e.date)
            nstring(e.subject)
            addresses(e.from)
            addresses(e.sender, unlessEqualTo: e.from)
            addresses(e.replyTo, unlessEqualTo: e.from)
            addresses(e.to)
            addresses(e.cc)
            addresses(e.bcc)
            nstring(e.inReplyTo)
            nstring(e.messageID)
        }

        mutating func parameters(_ list: [(String, [UInt8])]) {
            varint(list.count)
            for (name, value) in list {
                text(name)
                nstring(value)
            }
        }

        mutating func ext(_ e: BodyStructure.Extension) {
            if let d = e.disposition {
                bytes.append(1)
                nstring(d.type)
                parameters(d.parameters)
            } else {
                bytes.append(0)
            }
            if let language = e.language {
                varint(language.count + 1)
                for tag in language { nstring(tag) }
            } else {
                bytes.append(0)
            }
            nstring(e.location)
        }

        mutating func structure(_ s: BodyStructure) {
            switch s {
            case .multipart(let m):
                bytes.append(1)
                varint(m.parts.count)
                for part in m.parts { structure(part) }
                nstring(m.subtype)
                parameters(m.parameters)
                ext(m.ext)
            case .singlepart(let p):
                bytes.append(0)
                switch p.kind {
                case .basic(let type, let subtype):
                    bytes.append(0)
                    nstring(type)
                    nstring(subtype)
                case .text(let subtype, let lines):
                    bytes.append(1)
                    nstring(subtype)
                    int(lines)
                case .message(let subtype, let envelope, let body, let lines):
                    bytes.append(2)
                    nstring(subtype)
                    self.envelope(envelope)
                    structure(body)
                    int(lines)
                }
                parameters(p.fields.parameters)
                nstring(p.fields.id)
                nstring(p.fields.description)
                text(p.fields.encoding)
                int(p.fields.octets)
                nstring(p.md5)
                ext(p.ext)
                nstring(p.mediaType)
            }
        }

        /// The kept fields (a count, then each field's kind, 0 header or 1 address,
        /// its lowercased name and its texts), then the date (0 not kept, 1 kept and
        /// none, 2 year month day).
        mutating func search(_ s: SearchHeaders) {
            varint(s.fields.count)
            for field in s.fields {
                switch field.scope {
                case .header(let name):
                    bytes.append(0)
                    text(name)
                case .address(let name):
                    bytes.append(1)
                    text(name)
                case .text, .body: preconditionFailure("not kept (SearchHeaders.keeps)")
                }
                varint(field.texts.count)
                for text in field.texts { nstring(text) }
            }
            switch s.sentDate {
            case .none: bytes.append(0)
            case .some(.none): bytes.append(1)
            case .some(.some(let date)):
                bytes.append(2)
                int(date.year)
                int(date.month)
                int(date.day)
            }
        }
    }

    // MARK: Reading

    /// The entry in `bytes`; nil when they do not parse. With all of `wanted` present
    /// (and of the search texts what `needs` asks for) only those are decoded, the rest
    /// skipped or not read; when one is missing, the whole entry, which the caller will
    /// store again completed (ListingEntry.merged). A whole decode must end exactly at
    /// the end of `bytes`.
    static func decode(
        _ bytes: UnsafeRawBufferPointer, wanted: Parts = .all, needs: SearchHeaders.Needs? = nil,
        sectionKeys: [String] = []
    ) -> ListingEntry? {
        var r = ListingReader(input: bytes)
        do {
            let uid = try r.u32()
            let nameHash = try r.u32()
            let parts = Parts(rawValue: try r.u8())
            guard Parts.all.isSuperset(of: parts) else { return nil }
            var decoded = parts.isSuperset(of: wanted) ? wanted : .all
            var entry = ListingEntry(uid: uid, nameHash: nameHash)
            if parts.contains(.search) {
                let search = try r.search(only: decoded == .all ? nil : needs)
                if let needs, decoded != .all, !search.serves(needs) {
                    // A field asked for is not kept: the whole entry after all.
                    return decode(bytes, wanted: .all)
                }
                if decoded.contains(.search) { entry.searchHeaders = search }
            } else if decoded.contains(.search) {
                decoded = .all
            }
            if parts.contains(.envelope) && decoded.contains(.envelope) { entry.envelope = try r.envelope() }
            guard decoded.contains(.structure) || decoded.contains(.sections) else { return entry }
            if parts.contains(.envelope) && entry.envelope == nil { _ = try r.envelope() }
            if parts.contains(.structure) {
                let structure = try r.structure(depth: 0)
                if decoded.contains(.structure) { entry.bodyStructure = structure }
            }
            if parts.contains(.sections) && decoded.contains(.sections) {
                entry.headerSections = try r.sections()
                if decoded != .all && !sectionKeys.allSatisfy({ entry.headerSections[$0] != nil }) {
                    // A section asked for is not kept: the whole entry after all.
                    return decode(bytes, wanted: .all)
                }
            }
            guard decoded != .all || r.isAtEnd else { return nil }
            return entry
        } catch {
            return nil
        }
    }

    /// The uid, name hash and kind at the start of an entry's bytes (no decoding).
    static func key(_ bytes: UnsafeRawBufferPointer) -> (uid: UInt32, nameHash: UInt32, kind: ListingKind)? {
        guard bytes.count >= 9 else { return nil }
        return (
            bytes.loadUnaligned(fromByteOffset: 0, as: UInt32.self).littleEndian,
            bytes.loadUnaligned(fromByteOffset: 4, as: UInt32.self).littleEndian,
            ListingKind(Parts(rawValue: bytes[8]))
        )
    }
}

/// The entry-level pieces, read as ListingCodec.decode needs them.
extension ListingReader {
    mutating func address() throws -> Address {
        Address(name: try nstring(), adl: try nstring(), mailbox: try nstring(), host: try nstring())
    }

    mutating func addresses() throws -> [Address] {
        try (0..<count()).map { _ in try address() }
    }

    mutating func addresses(orElse from: [Address]) throws -> [Address] {
        let value = try varint()
        if value == 0 { return from }
        guard value - 1 <= UInt64(remaining) else { throw Damaged() }
        return try (0..<Int(value - 1)).map { _ in try address() }
    }

    mutating func envelope() throws -> Envelope {
        var e = Envelope()
        e.date = try nstring()
        e.subject = try nstring()
        e.from = try addresses()
        e.sender = try addresses(orElse: e.from)
        e.replyTo = try addresses(orElse: e.from)
        e.to = try addresses()
        e.cc = try addresses()
        e.bcc = try addresses()
        e.inReplyTo = try nstring()
        e.messageID = try nstring()
        return e
    }

    mutating func parameters() throws -> [(String, [UInt8])] {
        try (0..<count()).map { _ in (try text(), try string()) }
    }

    mutating func ext() throws -> BodyStructure.Extension {
        var e = BodyStructure.Extension()
        switch try u8() {
        case 0: break
        case 1: e.disposition = BodyStructure.Disposition(type: try string(), parameters: try parameters())
        default: throw Damaged()
        }
        let languages = try varint()
        if languages > 0 {
            guard languages - 1 <= UInt64(remaining) else { throw Damaged() }
            e.language = try (0..<Int(languages - 1)).map { _ in try string() }
        }
        e.location = try nstring()
        return e
    }

    mutating func structure(depth: Int) throws -> BodyStructure {
        guard depth < ListingCodec.maxDepth else { throw Damaged() }
        switch try u8() {
        case 1:
            let parts = try (0..<count()).map { _ in try structure(depth: depth + 1) }
            let subtype = try string()
            let parameters = try parameters()
            return .multipart(
                BodyStructure.MultiPart(parts: parts, subtype: subtype, parameters: parameters, ext: try ext()))
        case 0:
            let kind: BodyStructure.SinglePart.Kind
            switch try u8() {
            case 0: kind = .basic(type: try string(), subtype: try string())
            case 1: kind = .text(subtype: try string(), lines: try int())
            case 2:
                let subtype = try string()
                let envelope = try envelope()
                let body = try structure(depth: depth + 1)
                kind = .message(subtype: subtype, envelope: envelope, body: body, lines: try int())
            default: throw Damaged()
            }
            let fields = BodyStructure.Fields(
                parameters: try parameters(), id: try nstring(), description: try nstring(), encoding: try text(),
                octets: try int())
            return .singlepart(
                BodyStructure.SinglePart(
                    kind: kind, fields: fields, md5: try nstring(), ext: try ext(), mediaType: try nstring()))
        default:
            throw Damaged()
        }
    }

    mutating func sections() throws -> [String: [UInt8]] {
        var sections: [String: [UInt8]] = [:]
        for _ in 0..<(try count()) { sections[try text()] = try string() }
        return sections
    }

    /// The search texts; with `only`, just the fields and date it needs (the others
    /// skipped without making them), else all.
    mutating func search(only: SearchHeaders.Needs?) throws -> SearchHeaders {
        var s = SearchHeaders()
        for _ in 0..<(try count()) {
            let kind = try u8()
            let name = try text()
            let scope: SearchScope
            switch kind {
            case 0: scope = .header(name)
            case 1: scope = .address(name)
            default: throw Damaged()
            }
            let count = try count()
            guard only?.scopes.contains(scope) ?? true else {
                for _ in 0..<count { try skipString() }
                continue
            }
            s[scope] = try (0..<count).map { _ in try string() }
        }
        let wantsDate = only?.sentDate ?? true
        switch try u8() {
        case 0: break
        case 1: if wantsDate { s.sentDate = .some(nil) }
        case 2:
            let date = IMAPDate(year: try int(), month: try int(), day: try int())
            if wantsDate { s.sentDate = date }
        default: throw Damaged()
        }
        return s
    }
}
