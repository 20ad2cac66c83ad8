// What the listing cache keeps of one message (issue 15 item 4): what a webmail's
// message list and a header SEARCH read, so that after a restart neither opens the
// message files. ListingCodec writes and reads it; ListingFile keeps it on disk.
import IMAPProtocol
import MailMessage

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

    /// The kinds of frame the entry's parts go to.
    var kinds: [ListingKind] {
        var kinds: [ListingKind] = []
        if envelope != nil || bodyStructure != nil { kinds.append(.listing) }
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
            } else {
                part.searchHeaders = searchHeaders
            }
            return part
        }
    }

    /// Whether a FETCH that needs these items is answered by the entry.
    func serves(envelope needsEnvelope: Bool, structure needsStructure: Bool) -> Bool {
        (!needsEnvelope || envelope != nil) && (!needsStructure || bodyStructure != nil)
    }

    /// The entry with what `earlier` had and this one lacks (same UID and name hash).
    func merged(over earlier: ListingEntry?) -> ListingEntry {
        guard let earlier, earlier.uid == uid, earlier.nameHash == nameHash else { return self }
        var merged = self
        if merged.envelope == nil { merged.envelope = earlier.envelope }
        if merged.bodyStructure == nil { merged.bodyStructure = earlier.bodyStructure }
        if let earlierHeaders = earlier.searchHeaders {
            merged.searchHeaders = merged.searchHeaders?.merged(over: earlierHeaders) ?? earlierHeaders
        }
        return merged
    }

    /// Whether `self` adds nothing to `earlier` (no append needed).
    func isCovered(by earlier: ListingEntry?) -> Bool {
        guard let earlier, earlier.uid == uid, earlier.nameHash == nameHash else { return false }
        return (envelope == nil || earlier.envelope != nil) && (bodyStructure == nil || earlier.bodyStructure != nil)
            && (searchHeaders?.isCovered(by: earlier.searchHeaders) ?? true)
    }
}

/// What SEARCH matched of the top-level header fields it most often asks about (RFC
/// 9051 §6.4.4), field by field: each field's texts exactly as `SearchableMessage` made
/// them from the file (decoded, then folded by SearchFold), so a match from the cache
/// is the match from the file. A field is kept once a SEARCH needed it; nil is "not
/// kept yet", not "empty".
struct SearchHeaders: Sendable, Equatable {
    enum Field: Int, CaseIterable, Sendable {
        /// SUBJECT and HEADER SUBJECT: every Subject field (decodedHeaderValues).
        case subject
        /// HEADER MESSAGE-ID (clients finding a message they appended).
        case messageID
        /// FROM, TO, CC, BCC: decodedAddressValues of each such field.
        case from, to, cc, bcc

        /// The field a scope reads; nil for scopes not kept (BODY, TEXT, other headers).
        init?(_ scope: SearchScope) {
            switch scope {
            case .header("subject"): self = .subject
            case .header("message-id"): self = .messageID
            case .address("from"): self = .from
            case .address("to"): self = .to
            case .address("cc"): self = .cc
            case .address("bcc"): self = .bcc
            default: return nil
            }
        }
    }

    /// Folded texts by `Field.rawValue`.
    private(set) var fields: [[[UInt8]]?] = Array(repeating: nil, count: Field.allCases.count)
    /// SENTBEFORE, SENTON, SENTSINCE: the Date: field's date in its own zone, once kept
    /// (`.some(nil)`: the message has no usable Date:).
    var sentDate: IMAPDate??

    init() {}

    subscript(field: Field) -> [[UInt8]]? {
        get { fields[field.rawValue] }
        set { fields[field.rawValue] = newValue }
    }

    var isEmpty: Bool { sentDate == nil && fields.allSatisfy { $0 == nil } }

    /// Whether everything `needs` asks for is kept.
    func serves(_ needs: Needs) -> Bool {
        (!needs.sentDate || sentDate != nil) && needs.fields.allSatisfy { self[$0] != nil }
    }

    /// These texts with what `earlier` kept and these lack.
    func merged(over earlier: SearchHeaders?) -> SearchHeaders {
        guard let earlier else { return self }
        var merged = self
        for field in Field.allCases where merged[field] == nil { merged[field] = earlier[field] }
        if merged.sentDate == nil { merged.sentDate = earlier.sentDate }
        return merged
    }

    /// Whether `earlier` keeps everything these do.
    func isCovered(by earlier: SearchHeaders?) -> Bool {
        guard let earlier else { return isEmpty }
        return (sentDate == nil || earlier.sentDate != nil)
            && Field.allCases.allSatisfy {
                self[$0] == nil || earlier[$0] != nil
            }
    }

    /// What one SEARCH reads of them.
    struct Needs: Sendable, Equatable {
        var fields: [Field] = []
        var sentDate = false

        /// nil when a text key of `plan` reads something not kept here (BODY, TEXT,
        /// another header field).
        init?(_ plan: SearchTextPlan, sentDate: Bool) {
            for scope in plan.scopes {
                guard let field = Field(scope.scope) else { return nil }
                fields.append(field)
            }
            self.sentDate = sentDate
        }

        init(fields: [Field], sentDate: Bool) {
            self.fields = fields
            self.sentDate = sentDate
        }
    }
}
