// What the listing cache keeps of one message (issue 15 item 4): what a webmail's
// message list and a header SEARCH read, so that after a restart neither opens the
// message files. ListingCodec writes and reads it; ListingFile keeps it on disk.
import IMAPProtocol

/// One message's cached listing data. Each part is optional: FETCH fills in ENVELOPE
/// and BODYSTRUCTURE (both, whichever was asked for: the tree is parsed already), a
/// SEARCH the header texts; an entry written later for the same UID carries over what
/// the earlier one had (ListingCache.store).
struct ListingEntry: Sendable, Equatable {
    var uid: UInt32
    /// Ties the entry to the file it was read from (HeaderCacheFormat.nameHash): a
    /// message known under another base name is read from its file again.
    var nameHash: UInt32
    var envelope: Envelope?
    /// The BODYSTRUCTURE form (extension data included); BODY is the same value
    /// encoded without it.
    var bodyStructure: BodyStructure?
    var searchHeaders: SearchHeaders?
    /// Top-level HEADER.FIELDS sections' bytes by `SectionSpec.headerKey` (a listing
    /// frame's, with ENVELOPE and BODYSTRUCTURE), at most `maxSections`.
    var headerSections: [String: [UInt8]] = [:]

    static let maxSections = 8

    /// The kinds of frame the entry's parts go to.
    var kinds: [ListingKind] {
        var kinds: [ListingKind] = []
        if envelope != nil || bodyStructure != nil || !headerSections.isEmpty { kinds.append(.listing) }
        if searchHeaders != nil { kinds.append(.search) }
        return kinds
    }

    /// One entry per kind of frame (ListingKind): what is written.
    func split() -> [ListingEntry] {
        kinds.map { kind in
            var part = ListingEntry(uid: uid, nameHash: nameHash)
            if kind == .listing {
                part.envelope = envelope
                part.bodyStructure = bodyStructure
                part.headerSections = headerSections
            } else {
                part.searchHeaders = searchHeaders
            }
            return part
        }
    }

    /// Whether a FETCH that needs these items is answered by the entry.
    func serves(
        envelope needsEnvelope: Bool, structure needsStructure: Bool, sections: [FetchPlan.HeaderSection] = []
    ) -> Bool {
        (!needsEnvelope || envelope != nil) && (!needsStructure || bodyStructure != nil)
            && sections.allSatisfy { headerSections[$0.key] != nil }
    }

    /// The entry with what `earlier` had and this one lacks (same UID and name hash).
    func merged(over earlier: ListingEntry?) -> ListingEntry {
        guard let earlier, earlier.uid == uid, earlier.nameHash == nameHash else { return self }
        var merged = self
        if merged.envelope == nil { merged.envelope = earlier.envelope }
        if merged.bodyStructure == nil { merged.bodyStructure = earlier.bodyStructure }
        // The earlier sections first, then new ones while fewer than `maxSections`.
        var sections = earlier.headerSections
        for (key, bytes) in headerSections where sections[key] != nil || sections.count < Self.maxSections {
            sections[key] = bytes
        }
        merged.headerSections = sections
        if let earlierHeaders = earlier.searchHeaders {
            merged.searchHeaders = merged.searchHeaders?.merged(over: earlierHeaders) ?? earlierHeaders
        }
        return merged
    }

    /// Whether `self` adds nothing to `earlier` (no append needed).
    func isCovered(by earlier: ListingEntry?) -> Bool {
        guard let earlier, earlier.uid == uid, earlier.nameHash == nameHash else { return false }
        return (envelope == nil || earlier.envelope != nil) && (bodyStructure == nil || earlier.bodyStructure != nil)
            && headerSections.keys.allSatisfy { earlier.headerSections[$0] != nil }
            && (searchHeaders?.isCovered(by: earlier.searchHeaders) ?? true)
    }
}

/// What SEARCH matched of a message's top-level header fields (RFC 9051 §6.4.4), field
/// by field: each field's texts exactly as `SearchableMessage` made them from the file
/// (decoded, then folded by SearchFold), so a match from the cache is the match from the
/// file. A field is kept once a SEARCH needed it (SUBJECT, FROM, HEADER X-Spam-Flag…);
/// BODY and TEXT are not kept. An absent field is "not kept yet", not "empty".
struct SearchHeaders: Sendable, Equatable {
    /// Fields kept a message: beyond them a SEARCH of yet another field reads the
    /// files each time (so a client naming ever new fields cannot grow an entry).
    static let maxFields = 16
    /// Longer field names are not kept.
    static let maxNameBytes = 128

    /// The kept fields, in the order they were kept, and their texts.
    private(set) var fields: [(scope: SearchScope, texts: [[UInt8]])] = []
    /// SENTBEFORE, SENTON, SENTSINCE: the Date: field's date in its own zone, once kept
    /// (`.some(nil)`: the message has no usable Date:).
    var sentDate: IMAPDate??

    init() {}

    static func == (a: SearchHeaders, b: SearchHeaders) -> Bool {
        a.sentDate == b.sentDate && a.fields.count == b.fields.count
            && a.fields.allSatisfy { field in b[field.scope] == field.texts }
    }

    /// Whether a scope's texts can be kept: one header field, by a short name.
    static func keeps(_ scope: SearchScope) -> Bool {
        switch scope {
        case .header(let name), .address(let name): return !name.isEmpty && name.utf8.count <= maxNameBytes
        case .text, .body: return false
        }
    }

    /// A field's texts; setting one not kept yet adds it while fewer than `maxFields`
    /// are kept (else it is dropped).
    subscript(scope: SearchScope) -> [[UInt8]]? {
        get { fields.first { $0.scope == scope }?.texts }
        set {
            guard Self.keeps(scope) else { return }
            if let index = fields.firstIndex(where: { $0.scope == scope }) {
                if let newValue { fields[index].texts = newValue } else { fields.remove(at: index) }
            } else if let newValue, fields.count < Self.maxFields {
                fields.append((scope, newValue))
            }
        }
    }

    var isEmpty: Bool { sentDate == nil && fields.isEmpty }

    /// Whether everything `needs` asks for is kept.
    func serves(_ needs: Needs) -> Bool {
        (!needs.sentDate || sentDate != nil) && needs.scopes.allSatisfy { self[$0] != nil }
    }

    /// These texts with what `earlier` kept and these lack (earlier fields first).
    func merged(over earlier: SearchHeaders?) -> SearchHeaders {
        guard let earlier else { return self }
        var merged = earlier
        for field in fields { merged[field.scope] = field.texts }
        if sentDate != nil { merged.sentDate = sentDate }
        return merged
    }

    /// Whether `earlier` keeps everything these do.
    func isCovered(by earlier: SearchHeaders?) -> Bool {
        guard let earlier else { return isEmpty }
        return (sentDate == nil || earlier.sentDate != nil) && fields.allSatisfy { earlier[$0.scope] != nil }
    }

    /// What one SEARCH reads of them.
    struct Needs: Sendable, Equatable {
        var scopes: [SearchScope] = []
        var sentDate = false

        /// nil when a text key of `plan` reads something not kept (BODY, TEXT).
        init?(_ plan: SearchTextPlan, sentDate: Bool) {
            for entry in plan.scopes {
                guard SearchHeaders.keeps(entry.scope) else { return nil }
                scopes.append(entry.scope)
            }
            self.sentDate = sentDate
        }

        init(scopes: [SearchScope], sentDate: Bool) {
            self.scopes = scopes
            self.sentDate = sentDate
        }
    }
}
