import IMAPProtocol
import MaildirStore

/// RFC 5267 §4 CONTEXT=SEARCH: a `SEARCH RETURN (UPDATE)` kept up to date. The session
/// remembers which messages the client was told match; when the folder changes it
/// re-evaluates only the messages that changed (new, flags changed, expunged) and
/// reports the difference as `ADDTO` / `REMOVEFROM`, wherever unsolicited responses go
/// out (Session/Updates.swift `reportUpdates`). Lives on the SelectedMailbox, so it
/// ends with the selection.
final class LiveSearch {
    let tag: String
    let uid: Bool
    let evaluator: SearchEvaluator
    /// The messages the client was last told are in the result.
    var matches: Set<StoreUID>
    /// Messages with a higher UID are new to this search: each is evaluated once.
    var seenThrough: StoreUID
    /// CONTEXT=SORT: the result in sort order, for positions (LiveSort.swift).
    let sort: LiveSort?

    init(
        tag: String, uid: Bool, evaluator: SearchEvaluator, matches: Set<StoreUID>, seenThrough: StoreUID,
        sort: LiveSort? = nil
    ) {
        self.tag = tag
        self.uid = uid
        self.evaluator = evaluator
        self.matches = matches
        self.seenThrough = seenThrough
        self.sort = sort
    }
}

extension IMAPSession {
    /// Live searches one session may hold; past it a search is answered once, with
    /// `NO [NOUPDATE]` (RFC 5267 §4.4), as Dovecot limits them.
    static let maxLiveSearches = 20

    /// `[NOUPDATE "tag"]` (RFC 5267 §4.4).
    static func noUpdate(_ tag: String) -> ResponseCode { .other("NOUPDATE", "\"\(tag)\"") }

    /// After a SEARCH with RETURN (UPDATE) answered: keeps it, or says NOUPDATE when the
    /// session holds as many as it may. A tag already live is replaced.
    func startLiveSearch(
        tag: String, mailbox: SelectedMailbox, uid: Bool, evaluator: SearchEvaluator, matches: [StoreUID],
        sort: LiveSort? = nil
    ) {
        mailbox.liveSearches.removeAll { $0.tag == tag }
        guard mailbox.liveSearches.count < Self.maxLiveSearches else {
            writer.untagged(.status(.no, code: Self.noUpdate(tag), text: "Too many live searches."))
            return
        }
        let search = LiveSearch(
            tag: tag, uid: uid, evaluator: evaluator, matches: Set(matches),
            seenThrough: mailbox.view.lastUID ?? StoreUID(0), sort: sort)
        mailbox.liveSearches.append(search)
    }

    /// RFC 5267 §4.5 CANCELUPDATE: every tag must name a live search, else NO (as
    /// Dovecot answers) and none is cancelled.
    func handleCancelUpdate(tag: String, mailbox: SelectedMailbox, tags: [String]) async {
        let live = Set(mailbox.liveSearches.map(\.tag))
        guard tags.allSatisfy(live.contains) else {
            await finish(tag, .no, nil, "Unknown update tag.")
            return
        }
        mailbox.liveSearches.removeAll { tags.contains($0.tag) }
        await finish(tag, "Cancelupdate completed.")
    }

    /// The REMOVEFROM for matching messages `update` expunges, sent just before the
    /// EXPUNGE responses, so a message is named by the sequence number it has until
    /// then (as Dovecot does, and as imaptest's search-context-update expects).
    /// `update.expunged` holds each number as it stands after the EXPUNGEs before it,
    /// in ascending order (MailboxView.reportExpunges): the i-th one had number n + i.
    func reportLiveExpunges(_ mailbox: SelectedMailbox, _ update: MailboxView.Update) {
        guard !mailbox.liveSearches.isEmpty, !update.expungedUIDs.isEmpty else { return }
        for search in mailbox.liveSearches {
            var removed: [StoreUID: UInt32] = [:]
            for (i, (uid, n)) in zip(update.expungedUIDs, update.expunged).enumerated()
            where search.matches.remove(uid) != nil {
                removed[uid] = search.uid ? uid.rawValue : n.rawValue + UInt32(i)
            }
            sendRemoveFrom(search, removed)
        }
    }

    /// The ADDTO / REMOVEFROM of every live search for the messages that arrived or
    /// whose flags changed (in `update`, or by this session's own STOREs). Runs after
    /// the EXPUNGE/EXISTS/FETCH of the same report, so every number is one the client
    /// already knows.
    func reportLiveSearches(_ mailbox: SelectedMailbox, _ update: MailboxView.Update?) {
        guard !mailbox.liveSearches.isEmpty else { return }
        var changed = mailbox.liveDirty
        mailbox.liveDirty = []
        for change in update?.flagChanges ?? [] { changed.insert(change.record.uid) }
        for search in mailbox.liveSearches {
            guard reportLiveSearch(search, mailbox, changed: changed) else {
                writer.untagged(.status(.no, code: Self.noUpdate(search.tag), text: "Search no longer updated."))
                mailbox.liveSearches.removeAll { $0 === search }
                continue
            }
        }
    }

    /// One live search's report; false when it cannot be kept (too much to
    /// re-evaluate, or the folder failed to read).
    private func reportLiveSearch(_ search: LiveSearch, _ mailbox: SelectedMailbox, changed: Set<StoreUID>) -> Bool {
        let view = mailbox.view
        var removed: [StoreUID: UInt32] = [:]
        guard let candidates = liveCandidates(search, view, changed: changed) else { return false }
        search.seenThrough = max(search.seenThrough, view.lastUID ?? StoreUID(0))
        var added: [StoreUID: UInt32] = [:]
        if !candidates.isEmpty {
            // Only the changed messages, never the folder: at most
            // `maxLiveSearchReevaluation` (a change touching more, a STORE over a huge
            // folder, ends the search with NOUPDATE rather than re-reading the folder on
            // the session's turn).
            let job = SearchJob(
                evaluator: search.evaluator, messages: candidates, folder: mailbox.folder,
                uidValidity: view.uidValidity, cache: context.messageCache, statistics: context.searchStatistics,
                connectionIsGone: { false })
            guard let hits = try? Set(job.run(0..<candidates.count)) else { return false }
            for (n, record) in candidates {
                let number = search.uid ? record.uid.rawValue : n.rawValue
                if hits.contains(n) {
                    if search.matches.insert(record.uid).inserted { added[record.uid] = number }
                } else if search.matches.remove(record.uid) != nil {
                    removed[record.uid] = number
                }
            }
        }
        sendRemoveFrom(search, removed)
        guard !added.isEmpty else { return true }
        var response = ESearchResponse(tag: search.tag, uid: search.uid)
        if let sort = search.sort {
            // The sort values of the new matches: headers read once per message.
            let newcomers = candidates.filter { added[$0.record.uid] != nil }
            let job = SortDataJob(
                evaluator: search.evaluator, records: newcomers.map(\.record),
                numbers: newcomers.map(\.sequenceNumber), folder: mailbox.folder,
                // No header cache here: `newcomers` is not the folder (the cache's
                // compaction counts the folder's messages from `messages`).
                uidValidity: view.uidValidity, cache: context.messageCache, headerCache: nil,
                statistics: context.searchStatistics,
                fields: sort.fields, needsDetails: sort.needsDetails || search.evaluator.needsDetails,
                connectionIsGone: { false })
            guard let found = try? job.run(0..<newcomers.count).found, found.count == newcomers.count else {
                return false
            }
            response.addTo = sort.insert(found) { added[$0] ?? 0 }
        } else {
            // RFC 5267 §4.3: SEARCH results have no order, so the position is 0.
            response.addTo = [(0, mergedRanges(Array(added.values)))]
        }
        writer.untagged(.esearch(response))
        return true
    }

    /// REMOVEFROM for `removed` (UID → the number the client knows it by): position 0
    /// for SEARCH, sort positions for SORT.
    private func sendRemoveFrom(_ search: LiveSearch, _ removed: [StoreUID: UInt32]) {
        guard !removed.isEmpty else { return }
        var response = ESearchResponse(tag: search.tag, uid: search.uid)
        if let sort = search.sort {
            response.removeFrom = sort.remove(Set(removed.keys)) { removed[$0] ?? 0 }
        } else {
            response.removeFrom = [(0, mergedRanges(Array(removed.values)))]
        }
        writer.untagged(.esearch(response))
    }

    /// The messages to re-evaluate: those whose flags changed and those new to the
    /// search, in mailbox order; nil when there are more than the bound allows.
    private func liveCandidates(_ search: LiveSearch, _ view: MailboxView, changed: Set<StoreUID>)
        -> [(sequenceNumber: SequenceNumber, record: MessageRecord)]?
    {
        var candidates: [(sequenceNumber: SequenceNumber, record: MessageRecord)] = []
        var index = view.count - 1
        // New messages sit at the end of the view, in UID order.
        while index >= 0 {
            let n = MailboxView.sequenceNumber(atIndex: index)
            let record = view.record(at: n)
            guard record.uid > search.seenThrough else { break }
            if !view.isExpunged(record.uid) { candidates.append((n, record)) }
            guard candidates.count <= context.config.maxLiveSearchReevaluation else { return nil }
            index -= 1
        }
        for uid in changed where uid <= search.seenThrough && !view.isExpunged(uid) {
            guard let n = view.sequenceNumber(of: uid) else { continue }
            candidates.append((n, view.record(at: n)))
            guard candidates.count <= context.config.maxLiveSearchReevaluation else { return nil }
        }
        return candidates.sorted { $0.sequenceNumber.rawValue < $1.sequenceNumber.rawValue }
    }
}
