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
        if merged.searchHeaders == nil { merged.searchHeaders = earlier.searchHeaders }
        return merged
    }

    /// Whether `self` adds nothing to `earlier` (no append needed).
    func isCovered(by earlier: ListingEntry?) -> Bool {
        guard let earlier, earlier.uid == uid, earlier.nameHash == nameHash else { return false }
        return (envelope == nil || earlier.envelope != nil) && (bodyStructure == nil || earlier.bodyStructure != nil)
            && (searchHeaders == nil || earlier.searchHeaders != nil)
    }
}

/// The decoded texts of the top-level header fields SEARCH most often asks about
/// (RFC 9051 §6.4.4): exactly what `SearchableMessage` would decode from the file for
/// these scopes, so a match from the cache is the match from the file.
struct SearchHeaders: Sendable, Equatable {
    /// SUBJECT and HEADER SUBJECT: every Subject field, decoded (decodedHeaderValues).
    var subject: [String] = []
    /// HEADER MESSAGE-ID (clients finding a message they appended).
    var messageID: [String] = []
    /// FROM, TO, CC, BCC: decodedAddressValues of each field.
    var from: [String] = []
    var to: [String] = []
    var cc: [String] = []
    var bcc: [String] = []
    /// SENTBEFORE, SENTON, SENTSINCE: the Date: field's date in its own zone.
    var sentDate: IMAPDate?

    /// The scopes served from these texts; any other text key reads the file.
    static func covers(_ scope: SearchScope) -> Bool { texts(scope) != nil }

    /// The header names (lowercased) of `.header` scopes kept here.
    static let headerNames: Set<String> = ["subject", "message-id"]
    static let addressNames: Set<String> = ["from", "to", "cc", "bcc"]

    private static func texts(_ scope: SearchScope) -> KeyPath<SearchHeaders, [String]>? {
        switch scope {
        case .header("subject"): return \.subject
        case .header("message-id"): return \.messageID
        case .address("from"): return \.from
        case .address("to"): return \.to
        case .address("cc"): return \.cc
        case .address("bcc"): return \.bcc
        default: return nil
        }
    }

    /// The texts of a covered scope (empty for any other).
    func texts(_ scope: SearchScope) -> [String] {
        Self.texts(scope).map { self[keyPath: $0] } ?? []
    }

    /// What SEARCH reads of these fields in `raw`, parsed as `tree`.
    init(tree: MessageTree, raw: UnsafeRawBufferPointer) {
        subject = tree.decodedHeaderValues("subject", raw)
        messageID = tree.decodedHeaderValues("message-id", raw)
        from = tree.decodedAddressValues("from", raw)
        to = tree.decodedAddressValues("to", raw)
        cc = tree.decodedAddressValues("cc", raw)
        bcc = tree.decodedAddressValues("bcc", raw)
        sentDate = tree.sentDate(raw)?.date
    }

    init() {}
}
