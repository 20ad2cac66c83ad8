import IMAPProtocol
import MailMessage
import MaildirStore

extension IMAPSession {
    /// RFC 9051 §6.4.4 SEARCH and UID SEARCH, answered as ESEARCH (RFC 4731) when the
    /// client asked with RETURN or enabled IMAP4rev2, else as the rev1 `* SEARCH`.
    func handleSearch(
        tag: String, mailbox: SelectedMailbox, kind: MessageSetKind, _ search: SearchCommand, spec: CommandSpec
    ) async {
        var key = search.key
        if let charset = search.charset, !SearchCommand.isUTF8Compatible(charset) {
            // RFC 9051 §6.4.4: strings in another charset are converted to UTF-8 before
            // matching; an unknown charset is NO [BADCHARSET] with the list we know.
            guard SearchCharset.isKnown(charset),
                let converted = key.mapStrings({ SearchCharset.convert($0, from: charset) })
            else {
                fail(tag, .badCharset)
                return
            }
            key = converted
        }
        // RFC 7162 §3.1.5: MODSEQ is CONDSTORE-enabling, and its results say the
        // highest mod-sequence of what they return.
        let usesModSeq = SearchKeyInspection.usesModSeq(key)
        if usesModSeq { enableCondstore() }
        await synchronizeSelected()
        let view = mailbox.view
        guard
            let evaluator = SearchEvaluator(
                key: key, lastSequenceNumber: UInt32(view.count), lastUID: view.lastUID?.rawValue ?? 0,
                saved: Set(mailbox.savedSearch), recent: reportsRecent ? mailbox.recent : RecentUIDs())
        else {
            fail(tag, .searchTooComplex)
            return
        }
        let candidates = view.records.enumerated().map {
            (sequenceNumber: MailboxView.sequenceNumber(atIndex: $0.offset), record: $0.element)
        }
        let channel = writer.channel
        let job = SearchJob(
            evaluator: evaluator, messages: candidates, folder: mailbox.folder, uidValidity: view.uidValidity,
            cache: context.messageCache, listing: context.listingCache, statistics: context.searchStatistics,
            connectionIsGone: { !channel.isActive })
        var matched: [SequenceNumber] = []
        do {
            // In slices on the content pool: a SEARCH of a huge folder takes turns with
            // other users' FETCH steps instead of holding a thread for its whole run.
            let slice = job.slice
            var start = 0
            repeat {
                let range = start..<min(start + slice, candidates.count)
                matched += try await context.content { try job.run(range) }
                start = range.upperBound
            } while start < candidates.count
        } catch is SearchJob.ConnectionGone {
            // Nobody to answer: the connection's close already ended the session.
            return
        } catch {
            sendStoreFailure(tag, error, name: MailboxName(""))
            return
        }
        let uids = matched.map { view.record(at: $0).uid }
        let values = kind == .uid ? uids.map(\.rawValue) : matched.map(\.rawValue)
        let options = Set(search.returnOptions)
        // RFC 9394 §3.1: the page of the result PARTIAL selects (MIN, MAX and COUNT
        // still describe the whole result).
        let page = search.partial.map { $0.indices(count: values.count) }
        if options.contains(.save) {
            // RFC 5182 §2.4: with MIN and/or MAX but neither ALL nor COUNT, only those
            // messages are saved; with PARTIAL, the page returned (RFC 9394 §3.1).
            let onlyExtremes =
                !options.isDisjoint(with: [.min, .max]) && options.isDisjoint(with: [.all, .count, .partial])
            if let page {
                mailbox.savedSearch = Array(uids[page])
            } else if onlyExtremes, let first = uids.first, let last = uids.last {
                var kept: [StoreUID] = []
                if options.contains(.min) { kept.append(first) }
                if options.contains(.max) && (kept.isEmpty || last != first) { kept.append(last) }
                mailbox.savedSearch = kept
            } else {
                mailbox.savedSearch = uids
            }
        }
        if options.contains(.update) {
            if search.partial != nil {
                // RFC 5267 §4.4 allows refusing updates; a paged live result is not kept.
                writer.untagged(.status(.no, code: Self.noUpdate(tag), text: "PARTIAL results are not updated."))
            } else {
                startLiveSearch(tag: tag, mailbox: mailbox, uid: kind == .uid, evaluator: evaluator, matches: uids)
            }
        }
        if search.hasReturn || rev2Enabled {
            // RFC 4731: RETURN () means ALL; SAVE alone returns no ESEARCH (RFC 5182).
            // UPDATE and CONTEXT ask for no data: RETURN (UPDATE) alone means ALL too.
            let wanted = options.subtracting([.save, .update, .context])
            // With UPDATE the client is always told the tag (an empty ESEARCH for SAVE
            // alone, as Dovecot).
            if !(options.contains(.save) && wanted.isEmpty && search.hasReturn) || options.contains(.update) {
                let all = (wanted.isEmpty && !options.contains(.save)) || wanted.contains(.all)
                var response = ESearchResponse(tag: tag, uid: kind == .uid)
                if !values.isEmpty {
                    if wanted.contains(.min) { response.min = values.min() }
                    if wanted.contains(.max) { response.max = values.max() }
                    if all { response.all = mergedRanges(values) }
                }
                if wanted.contains(.count) { response.count = values.count }
                if let range = search.partial, let page {
                    response.partial = (range, mergedRanges(Array(values[page])))
                }
                if usesModSeq {
                    // RFC 4731 §3.2 as RFC 7162 §3.1.5 extends it: with only MIN
                    // and/or MAX, the highest mod-sequence of those messages.
                    let onlyExtremes = !wanted.isEmpty && wanted.isSubset(of: [.min, .max])
                    let returned =
                        onlyExtremes
                        ? [wanted.contains(.min) ? matched.first : nil, wanted.contains(.max) ? matched.last : nil]
                            .compactMap { $0 } : matched
                    response.modSeq = Self.highestModSeq(of: returned, in: view)
                    if let modSeq = response.modSeq { noteModSeqSent(ModSeq(modSeq)) }
                }
                writer.untagged(.esearch(response))
            }
        } else {
            let modSeq = usesModSeq ? Self.highestModSeq(of: matched, in: view) : nil
            if let modSeq { noteModSeqSent(ModSeq(modSeq)) }
            writer.untagged(.search(values, modSeq: modSeq))
        }
        await finish(tag, "Search completed.", reportExpunge: spec.mayReportExpunge)
    }
}

extension IMAPSession {
    /// The highest mod-sequence among `messages`; nil when there are none (RFC 7162
    /// §3.1.5: no MODSEQ in an empty result).
    static func highestModSeq(of messages: [SequenceNumber], in view: MailboxView) -> UInt64? {
        messages.map { view.modSeq(at: $0).rawValue }.max()
    }
}

enum SearchKeyInspection {
    static func usesModSeq(_ key: SearchKey) -> Bool {
        switch key {
        case .modSeq: return true
        case .not(let k): return usesModSeq(k)
        case .or(let a, let b): return usesModSeq(a) || usesModSeq(b)
        case .and(let keys): return keys.contains(where: usesModSeq)
        default: return false
        }
    }
}

/// The blocking part of SEARCH: opens and parses a message only when a key needs its
/// content. A message that vanished meanwhile simply does not match content keys.
/// Stops between two messages once the connection is gone (a client that gave up must
/// not leave its SEARCH running).
struct SearchJob: Sendable {
    struct ConnectionGone: Error {}

    let evaluator: SearchEvaluator
    let messages: [(sequenceNumber: SequenceNumber, record: MessageRecord)]
    let folder: SharedFolder
    /// The folder's UIDVALIDITY as the session knows it (part of the cache key).
    let uidValidity: StoreUIDValidity
    let cache: ParsedMessageCache
    /// Set when the listing cache can keep every text this SEARCH asks about (`needs`:
    /// header fields and Date:, no BODY or TEXT): entries that keep them answer, and
    /// what is read from files goes back to it.
    let listing: ListingCache?
    var needs: SearchHeaders.Needs? { evaluator.headerNeeds }
    let statistics: SearchStatistics
    let connectionIsGone: @Sendable () -> Bool
    /// Messages whose content one call of `run` reads.
    static let contentSlice = 64
    /// Messages one call of `run` takes from the listing cache (a read of it, and no
    /// file when all are there).
    static let listingSlice = 1024

    init(
        evaluator: SearchEvaluator, messages: [(sequenceNumber: SequenceNumber, record: MessageRecord)],
        folder: SharedFolder, uidValidity: StoreUIDValidity, cache: ParsedMessageCache, listing: ListingCache? = nil,
        statistics: SearchStatistics, connectionIsGone: @escaping @Sendable () -> Bool
    ) {
        self.evaluator = evaluator
        self.messages = messages
        self.folder = folder
        self.uidValidity = uidValidity
        self.cache = cache
        self.listing = evaluator.needsContent && evaluator.headerNeeds != nil ? listing : nil
        self.statistics = statistics
        self.connectionIsGone = connectionIsGone
    }

    /// Messages one call of `run` handles.
    var slice: Int {
        guard evaluator.needsContent else { return max(1, messages.count) }
        return listing == nil ? Self.contentSlice : Self.listingSlice
    }

    /// `messages[range]`, with INTERNALDATE and sizes completed when `needsDetails`.
    /// (SortDataJob keeps records and sequence numbers apart and completes its slice
    /// in place.)
    private static func slice(
        _ messages: [(sequenceNumber: SequenceNumber, record: MessageRecord)], _ range: Range<Int>,
        needsDetails: Bool, folder: SharedFolder
    ) throws -> [(sequenceNumber: SequenceNumber, record: MessageRecord)] {
        var slice = Array(messages[range])
        guard needsDetails else { return slice }
        let records = try folder.completeDetails(slice.map(\.record))
        for index in slice.indices { slice[index].record = records[index] }
        return slice
    }

    /// Throws ConnectionGone (counting the cancellation) once the client went away:
    /// checked before each file a SEARCH, SORT or THREAD job opens.
    static func stopIfGone(_ connectionIsGone: () -> Bool, _ statistics: SearchStatistics) throws {
        guard connectionIsGone() else { return }
        statistics.cancelled.add(1, ordering: .relaxed)
        throw ConnectionGone()
    }

    /// The matching sequence numbers among `messages[range]`.
    func run(_ range: Range<Int>) throws -> [SequenceNumber] {
        var matched: [SequenceNumber] = []
        let needsContent = evaluator.needsContent
        let messages = try Self.slice(messages, range, needsDetails: evaluator.needsDetails, folder: folder)
        let listed = lookUpListing(messages)
        var made: [ListingEntry] = []
        defer { if let listing { listing.store(folder, uidValidity: uidValidity, made) } }
        for (index, (n, record)) in messages.enumerated() {
            if !needsContent {
                if evaluator.matches(sequenceNumber: n, record: record, content: nil) { matched.append(n) }
                continue
            }
            if let headers = listed[index]?.searchHeaders, let needs, headers.serves(needs) {
                let content = SearchableMessage(headers: headers, plan: evaluator.plan, statistics: statistics)
                if evaluator.matches(sequenceNumber: n, record: record, content: content) { matched.append(n) }
                continue
            }
            statistics.beforeRead.withLock { $0 }?.run()
            try Self.stopIfGone(connectionIsGone, statistics)
            guard let file = try folder.openMessage(record.uid) else {
                if evaluator.matches(sequenceNumber: n, record: record, content: nil) { matched.append(n) }
                continue
            }
            defer { file.close() }
            statistics.messagesRead.add(1, ordering: .relaxed)
            let hit = try read(file, n, record) { content in
                guard listing != nil, let needs else { return }
                content.learn(needs)
                if let entry = listingEntry(file.record, content.learned, over: listed[index]) { made.append(entry) }
            }
            if hit { matched.append(n) }
        }
        return matched
    }

    /// Whether message `n` matches, read from its open file: its top-level header
    /// alone when only header fields are searched (`needs`), else the whole file
    /// (the MIME tree from the parsed-message cache when FETCH or an earlier SEARCH
    /// parsed it). `learned` sees the content of a file read whole and intact.
    private func read(
        _ file: MessageFile, _ n: SequenceNumber, _ record: MessageRecord, learned: (SearchableMessage) -> Void
    ) throws -> Bool {
        func match(_ tree: MessageTree, _ raw: UnsafeRawBufferPointer, _ probe: ShrinkProbe) -> Bool {
            let content = SearchableMessage(tree: tree, raw: raw, plan: evaluator.plan, statistics: statistics)
            let matches = evaluator.matches(sequenceNumber: n, record: record, content: content)
            // A file truncated under the read was read as zeros: treated as a message
            // that vanished, it matches no content key.
            guard probe.fileShrank else {
                learned(content)
                return matches
            }
            return evaluator.matches(sequenceNumber: n, record: record, content: nil)
        }
        if needs != nil { return try file.withTopHeader(match) }
        let cached = cache.lookup(folder, uidValidity: uidValidity, uid: record.uid)
        return try file.withContents { raw, probe in
            let parsed = cache.parse(
                raw, probe: probe, cached: cached, envelope: false, structure: false, folder: folder,
                uidValidity: uidValidity, uid: record.uid)
            return match(parsed.tree, raw, probe)
        }
    }

    /// The listing cache's entries of `messages` (none when it is not used).
    private func lookUpListing(_ messages: [(sequenceNumber: SequenceNumber, record: MessageRecord)])
        -> [ListingEntry?]
    {
        guard let listing else { return Array(repeating: nil, count: messages.count) }
        return listing.lookup(
            folder, uidValidity: uidValidity, messages: messages.map { ($0.record.uid, $0.record.baseName) },
            decoding: ListingCodec.Decoding(parts: .search, needs: needs))
    }

    /// The entry to store for a message read from its file: the texts this search
    /// made of it, with what the cache held of it before; nil when that adds nothing.
    private func listingEntry(_ record: MessageRecord, _ learned: SearchHeaders, over earlier: ListingEntry?)
        -> ListingEntry?
    {
        var entry = ListingEntry(uid: record.uid.rawValue, nameHash: HeaderCacheFormat.nameHash(record.baseName))
        entry.searchHeaders = learned
        guard !learned.isEmpty, !entry.isCovered(by: earlier) else { return nil }
        return entry.merged(over: earlier)
    }
}
