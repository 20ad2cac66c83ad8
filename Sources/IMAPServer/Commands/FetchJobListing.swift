import IMAPProtocol
import MaildirStore

// FetchJob and the persistent listing cache (ListingCache): a FETCH whose only
// file-bound items are ENVELOPE, BODYSTRUCTURE (BODY) and top-level HEADER.FIELDS
// sections looks the next messages up in it, a window at a time, before opening any
// file; what it parses from files instead goes back to it at the end of each step.
extension FetchJob {
    /// Messages looked up in the listing cache at a time (one or two reads of it).
    static let listingWindow = 256

    /// Looks up the messages from `next` that the parsed-message cache cannot answer.
    func lookUpListing() {
        guard let listing else { return }
        let end = min(messages.count, next + Self.listingWindow)
        listedUpTo = end
        listed.removeAll(keepingCapacity: true)
        let uids = uidsNotInMemory(next..<end)
        guard !uids.isEmpty else { return }
        // A message another session expunged is gone from the folder but still in this
        // session's view, which may answer for it until its EXPUNGE is sent (RFC 9051
        // §7.5.1): its name comes from the view.
        let names = folder.baseNames(of: uids).enumerated().map { index, name in
            name ?? view.flatMap { view in view.sequenceNumber(of: uids[index]).map { view.record(at: $0).baseName } }
        }
        let known = zip(uids, names).compactMap { uid, name in name.map { (uid: uid, baseName: $0) } }
        var parts: ListingCodec.Parts = []
        if plan.needsEnvelope { parts.insert(.envelope) }
        if plan.needsStructure { parts.insert(.structure) }
        if !plan.headerSections.isEmpty { parts.insert(.sections) }
        let found = listing.lookup(
            folder, uidValidity: uidValidity, messages: known,
            decoding: ListingCodec.Decoding(parts: parts, sectionKeys: plan.headerSections.map(\.key)))
        for (message, entry) in zip(known, found) {
            if let entry { listed[message.uid] = entry }
        }
    }

    /// Whether the listing cache answers this FETCH for `uid` (no file to prefetch).
    func isListed(_ uid: StoreUID) -> Bool {
        listed[uid]?.serves(envelope: plan.needsEnvelope, structure: plan.needsStructure, sections: plan.headerSections)
            == true
    }

    /// The parse the listing cache answers for `uid`, with what `cached` had; kept in
    /// the parsed-message cache too, so the next FETCH of it reads nothing.
    func listedMessage(_ uid: StoreUID, cached: ParsedMessage?) -> ParsedMessage? {
        guard isListed(uid), let entry = listed[uid] else { return nil }
        var parsed = cached ?? ParsedMessage()
        if parsed.envelope == nil { parsed.envelope = entry.envelope }
        if parsed.bodyStructure == nil { parsed.bodyStructure = entry.bodyStructure }
        parsed.headerSections.merge(entry.headerSections) { kept, _ in kept }
        cache.store(parsed, folder: folder, uidValidity: uidValidity, uid: uid)
        return parsed
    }

    /// A message parsed from its file: its ENVELOPE, BODYSTRUCTURE and header sections
    /// (what of them the FETCH made) go to the listing cache, over what it held.
    func noteForListing(_ parsed: ParsedMessage, _ record: MessageRecord) {
        guard listing != nil else { return }
        var entry = ListingEntry(
            uid: record.uid.rawValue, nameHash: HeaderCacheFormat.nameHash(record.baseName),
            envelope: parsed.envelope, bodyStructure: parsed.bodyStructure)
        for section in plan.headerSections { entry.headerSections[section.key] = parsed.headerSections[section.key] }
        guard !entry.kinds.isEmpty else { return }
        let earlier = listed[record.uid]
        guard !entry.isCovered(by: earlier) else { return }
        listingMade.append(entry.merged(over: earlier))
    }

    /// Stores what this step parsed.
    func storeListing() {
        guard let listing, !listingMade.isEmpty else { return }
        listing.store(folder, uidValidity: uidValidity, listingMade)
        listingMade.removeAll(keepingCapacity: true)
    }
}
