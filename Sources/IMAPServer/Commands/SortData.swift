import IMAPProtocol
import MailMessage
import MaildirStore

/// One message as SORT and THREAD see it. Small and, without texts, free of
/// references: a SORT by date or a THREAD of cached messages copies 100,000 of them
/// several times on the way, and each copy of the header fields inline cost ten
/// reference counts and 150 bytes.
struct SortMessage: Sendable {
    var sequenceNumber: SequenceNumber
    var uid: StoreUID
    /// INTERNALDATE in seconds since the epoch (0 when unknown: the message vanished).
    var internalDate: Int64
    /// RFC822.SIZE (0 when unknown).
    var size: Int
    /// The Date: field (nil when absent, unparsable or not asked for).
    var dateField: Int64?
    /// THREAD: threading's view of the header fields, when the header cache had it
    /// derived already (numbers of `SortCollection.ids`; the texts are then absent).
    var threadKeys: Threading.Keys? = nil
    /// The text fields (without the date), when any was asked for.
    var texts: SortTexts?

    init(sequenceNumber: SequenceNumber, uid: StoreUID, internalDate: Int64, size: Int) {
        self.sequenceNumber = sequenceNumber
        self.uid = uid
        self.internalDate = internalDate
        self.size = size
    }

    /// The header fields SORT and THREAD read; empty when not needed or when the
    /// message vanished before it was read.
    var headers: SortHeaders {
        var headers = texts?.headers ?? SortHeaders()
        headers.sentDate = dateField
        return headers
    }

    /// SORT by SUBJECT: the base subject, when the header cache had it derived.
    var baseSubject: [UInt8]? { texts?.baseSubject }

    /// Sets the header fields.
    mutating func setHeaders(_ headers: SortHeaders) {
        (dateField, texts) = SortTexts.split(headers)
    }

    /// RFC 5256 §2.2 "sent date": the Date: field, else INTERNALDATE.
    var sentDate: Int64 { dateField ?? internalDate }

    /// Roughly what this takes in memory.
    var estimatedBytes: Int { 64 + (threadKeys?.estimatedBytes ?? 0) + (texts?.estimatedBytes ?? 0) }
}

/// A message's text fields for SORT, boxed (SortMessage).
final class SortTexts: Sendable {
    let headers: SortHeaders
    let baseSubject: [UInt8]?

    init(_ headers: SortHeaders, baseSubject: [UInt8]?) {
        self.headers = headers
        self.baseSubject = baseSubject
    }

    /// The date of `headers`, kept inline, and the rest in a box; no box when there
    /// is no text and no base subject.
    static func split(_ headers: SortHeaders, baseSubject: [UInt8]? = nil) -> (date: Int64?, texts: SortTexts?) {
        var fields = headers
        fields.sentDate = nil
        let empty = fields == SortHeaders() && baseSubject == nil
        return (headers.sentDate, empty ? nil : SortTexts(fields, baseSubject: baseSubject))
    }

    var estimatedBytes: Int {
        let h = headers
        // No array of the texts: this runs for every message of a SORT.
        func size(_ a: SortAddress?) -> Int { a.map { $0.mailbox.utf8.count + $0.displayName.utf8.count } ?? 0 }
        return 64 + (h.subject?.utf8.count ?? 0) + size(h.from) + size(h.to) + size(h.cc)
            + (h.messageID?.count ?? 0) + (h.inReplyTo?.count ?? 0) + (h.references?.count ?? 0)
            + (baseSubject?.count ?? 0)
    }
}

/// What SORT and THREAD collected: the matching messages, and the table their
/// threading keys are numbers of (nil when none has keys).
struct SortCollection {
    var messages: [SortMessage]
    var ids: Threading.IDTable?
}

/// The header fields a SORT or THREAD keeps of each message, and their caps: a
/// mailbox of hostile messages (1 MiB References, 1 MiB subjects) must not make one
/// command hold gigabytes. Text sort keys are compared on their first
/// `maxTextBytes` (texts equal that far keep mailbox order); of References the last
/// `maxReferencesBytes` are kept (the parent is the last reference).
struct SortFields: OptionSet, Sendable {
    let rawValue: Int
    static let subject = SortFields(rawValue: 1)
    static let from = SortFields(rawValue: 2)
    static let to = SortFields(rawValue: 4)
    static let cc = SortFields(rawValue: 8)
    static let date = SortFields(rawValue: 16)
    static let threading = SortFields(rawValue: 32)

    static let maxTextBytes = 2048
    static let maxIDBytes = 1024
    static let maxReferencesBytes = 16 * 1024
    /// Everything one SORT or THREAD keeps, over all messages (NO [LIMIT] beyond).
    static let maxBytesPerCommand = 256 * 1024 * 1024

    init(rawValue: Int) { self.rawValue = rawValue }

    init(_ keys: [SortKey]) {
        var fields: SortFields = []
        for key in keys {
            switch key {
            case .arrival, .size: break
            case .date: fields.insert(.date)
            case .subject: fields.insert(.subject)
            case .from, .displayFrom: fields.insert(.from)
            case .to, .displayTo: fields.insert(.to)
            case .cc: fields.insert(.cc)
            }
        }
        self = fields
    }

    static let thread: SortFields = [.subject, .date, .threading]
    static let all: SortFields = [.subject, .from, .to, .cc, .date, .threading]

    func trim(_ headers: SortHeaders) -> SortHeaders {
        var kept = SortHeaders()
        if contains(.subject) { kept.subject = headers.subject.map(Self.prefix) }
        if contains(.from) { kept.from = headers.from.map(Self.trim) }
        if contains(.to) { kept.to = headers.to.map(Self.trim) }
        if contains(.cc) { kept.cc = headers.cc.map(Self.trim) }
        if contains(.date) { kept.sentDate = headers.sentDate }
        if contains(.threading) {
            kept.messageID = headers.messageID.map(Self.prefixID)
            kept.inReplyTo = headers.inReplyTo.map(Self.prefixID)
            kept.references = headers.references.map(Self.lastReferences)
        }
        return kept
    }

    private static func trim(_ address: SortAddress) -> SortAddress {
        SortAddress(mailbox: prefix(address.mailbox), displayName: prefix(address.displayName))
    }

    /// The first `maxTextBytes` of `text`, cut on a character boundary.
    static func prefix(_ text: String) -> String {
        guard text.utf8.count > maxTextBytes else { return text }
        var kept = String.UnicodeScalarView()
        var bytes = 0
        for scalar in text.unicodeScalars {
            bytes += UTF8.width(scalar)
            if bytes > maxTextBytes { break }
            kept.append(scalar)
        }
        return String(kept)
    }

    /// The first `maxIDBytes` of an identifier field (the value itself, not a copy,
    /// when it is that short: trimming runs for every message of a SORT or THREAD).
    static func prefixID(_ value: [UInt8]) -> [UInt8] {
        value.count > maxIDBytes ? Array(value.prefix(maxIDBytes)) : value
    }

    /// The tail of a References value from the first "<" within its last
    /// `maxReferencesBytes`.
    static func lastReferences(_ value: [UInt8]) -> [UInt8] {
        guard value.count > maxReferencesBytes else { return value }
        let tail = value.suffix(maxReferencesBytes)
        guard let start = tail.firstIndex(of: UInt8(ascii: "<")) else { return [] }
        return Array(value[start...])
    }
}

extension IMAPSession {
    /// The search part of SORT and THREAD (`search-criteria`, RFC 5256 §3), evaluated
    /// as SEARCH evaluates it, with the header fields and details each matching message
    /// needs. Runs in slices on the content pool, like SEARCH (SearchJob): a SORT of a
    /// huge folder takes turns with other users' work and stops when its client goes.
    /// nil when the command was already answered (a refusal or an error).
    func collectSortMessages(
        tag: String, mailbox: SelectedMailbox, charset: String, key: SearchKey, fields: SortFields,
        needsDetails: Bool, evaluatorUsed: (SearchEvaluator) -> Void = { _ in }
    ) async -> SortCollection? {
        var key = key
        if !SearchCommand.isUTF8Compatible(charset) {
            // As SEARCH (RFC 9051 §6.4.4): strings converted to UTF-8, an unknown
            // charset refused with the list we know.
            guard SearchCharset.isKnown(charset),
                let converted = key.mapStrings({ SearchCharset.convert($0, from: charset) })
            else {
                fail(tag, .badCharset)
                return nil
            }
            key = converted
        }
        // A MODSEQ criterion enables CONDSTORE, as in SEARCH (RFC 7162 §3.1).
        if SearchKeyInspection.usesModSeq(key) { enableCondstore() }
        await synchronizeSelected()
        let view = mailbox.view
        guard
            let evaluator = SearchEvaluator(
                key: key, lastSequenceNumber: UInt32(view.count), lastUID: view.lastUID?.rawValue ?? 0,
                saved: Set(mailbox.savedSearch), recent: reportsRecent ? mailbox.recent : RecentUIDs())
        else {
            fail(tag, .searchTooComplex)
            return nil
        }
        // A live SORT (CONTEXT=SORT) evaluates changed messages with the same keys.
        evaluatorUsed(evaluator)
        // The view's records as they are (no copy of 100,000 records per SORT).
        let candidates = view.records
        let channel = writer.channel
        var job = SortDataJob(
            evaluator: evaluator, records: candidates,
            numbers: candidates.indices.map(MailboxView.sequenceNumber(atIndex:)), folder: mailbox.folder,
            uidValidity: view.uidValidity,
            cache: context.messageCache, headerCache: context.headerCache, statistics: context.searchStatistics,
            fields: fields,
            needsDetails: needsDetails || evaluator.needsDetails, connectionIsGone: { !channel.isActive })
        // Threading keys of one slice are numbers of the cache's table as that slice saw
        // it. The table only grows, unless the cache was read again or compacted
        // meanwhile (a new generation): then the keys of earlier slices mean nothing
        // in it, and the messages are collected again (from the cache now, quickly).
        // A third time the keys are not asked for: the texts come instead.
        var attempts = 0
        while true {
            job.threadKeys = attempts < 2
            switch await collectSortSlices(tag: tag, job, count: candidates.count) {
            case .failed: return nil
            case .collected(let collection): return collection
            case .generationChanged:
                context.searchStatistics.collectionRestarts.add(1, ordering: .relaxed)
                attempts += 1
            }
        }
    }

    private enum SortSlices {
        case collected(SortCollection)
        case generationChanged
        case failed
    }

    /// One pass of `collectSortMessages` over the candidates, slice by slice.
    private func collectSortSlices(tag: String, _ job: SortDataJob, count: Int) async -> SortSlices {
        let fields = job.fields
        let evaluator = job.evaluator
        var found: [SortMessage] = []
        found.reserveCapacity(count)
        var ids: Threading.IDTable?
        var bytes = 0
        do {
            let reads = !fields.isEmpty || evaluator.needsContent
            var slice = reads ? SearchJob.contentSlice : max(1, count)
            var start = 0
            while start < count {
                let range = start..<min(start + slice, count)
                let (part, filesRead, partIDs) = try await context.content { try job.run(range) }
                if let partIDs {
                    if let ids, ids.generation != partIDs.generation { return .generationChanged }
                    // The latest: it holds every number the earlier slices were given.
                    ids = partIDs
                }
                // A slice served from the cache opened no file: the next one may be
                // larger (fewer pool round trips); one that read files goes back to
                // SEARCH's slice, so reading stays in short turns.
                if reads {
                    slice = filesRead == 0 ? min(slice * 4, SortDataJob.cachedSlice) : SearchJob.contentSlice
                }
                // Limits before memory: what is kept per message is capped
                // (SortFields.trim), and all of it together too.
                bytes += part.reduce(0) { $0 + $1.estimatedBytes }
                guard bytes <= SortFields.maxBytesPerCommand else {
                    fail(tag, .sortTooLarge)
                    return .failed
                }
                found += part
                start = range.upperBound
            }
        } catch is SearchJob.ConnectionGone {
            return .failed
        } catch {
            sendStoreFailure(tag, error, name: MailboxName(""))
            return .failed
        }
        return .collected(SortCollection(messages: found, ids: ids))
    }
}

/// The blocking part of SORT and THREAD: SearchJob's matching, and for each match the
/// header fields: from the header cache on disk (HeaderCache) when it has them, else
/// read once per message with the content keys, through the parsed-message cache, and
/// then added to the header cache. Statistics and cancellation as SearchJob's.
struct SortDataJob: Sendable {
    let evaluator: SearchEvaluator
    /// The messages to consider and their sequence numbers (same length).
    let records: [MessageRecord]
    let numbers: [SequenceNumber]
    let folder: SharedFolder
    let uidValidity: StoreUIDValidity
    let cache: ParsedMessageCache
    let headerCache: HeaderCache?
    let statistics: SearchStatistics
    let fields: SortFields
    let needsDetails: Bool
    let connectionIsGone: @Sendable () -> Bool
    /// THREAD: whether the header cache's threading keys are taken (else the texts).
    var threadKeys = true

    /// Messages one step handles when their fields come from the cache.
    static let cachedSlice = 4096

    /// The matches among `records[range]`, and how many files were opened for them.
    func run(_ range: Range<Int>) throws -> (found: [SortMessage], filesRead: Int, ids: Threading.IDTable?) {
        var opened = 0
        // Without details to complete, the slice is read in place (no copy of records).
        var records = self.records[range]
        if needsDetails { records = ArraySlice(try folder.completeDetails(Array(records))) }
        let needsContent = evaluator.needsContent
        // A date-only SORT reads the small dates file; anything else the headers file.
        let stored =
            needsContent || fields.isEmpty
            ? nil
            : headerCache?.lookup(
                folder, uidValidity: uidValidity, records: records, fields: fields, threadKeys: threadKeys)
        var found: [SortMessage] = []
        found.reserveCapacity(records.count)
        var read: [(record: MessageRecord, headers: SortHeaders)] = []
        // By index: a record is copied (two reference counts) only for the paths that
        // need all of it.
        for (offset, index) in records.indices.enumerated() {
            let n = numbers[range.lowerBound + offset]
            var message = SortMessage(
                sequenceNumber: n, uid: records[index].uid, internalDate: records[index].internalDate ?? 0,
                size: records[index].virtualSize ?? 0)
            if !needsContent && !evaluator.matchesEverything
                && !evaluator.matches(sequenceNumber: n, record: records[index], content: nil)
            {
                continue
            }
            if !needsContent && fields.isEmpty {
                found.append(message)
                continue
            }
            // Headers on disk, or read by an earlier SORT or THREAD: no file to open.
            if let entry = stored?.entries[offset] {
                message.dateField = entry.date
                message.texts = entry.texts
                message.threadKeys = entry.keys
                found.append(message)
                continue
            }
            let record = records[index]
            if !needsContent, let cached = cache.lookup(folder, uidValidity: uidValidity, uid: record.uid)?.sortHeaders
            {
                try SearchJob.stopIfGone(connectionIsGone, statistics)
                message.setHeaders(fields.trim(cached))
                found.append(message)
                if headerCache != nil { read.append((record, SortFields.all.trim(cached))) }
                continue
            }
            opened += 1
            guard let (headers, complete) = try self.read(n, record) else { continue }
            message.setHeaders(fields.trim(headers))
            found.append(message)
            if let complete, headerCache != nil { read.append((record, complete)) }
        }
        headerCache?.store(
            folder, uidValidity: uidValidity, read, liveCount: self.records.count,
            live: { Set(self.records.map(\.uid.rawValue)) })
        try completeSentDates(&found)
        return (found, opened, stored?.ids)
    }

    /// RFC 5256 §2.2: a message without a usable Date: is sorted by its INTERNALDATE,
    /// which (unlike Date:) needs the file's mtime: fetched only for those messages.
    private func completeSentDates(_ found: inout [SortMessage]) throws {
        guard fields.contains(.date) else { return }
        let lacking = found.indices.filter { found[$0].dateField == nil && found[$0].internalDate == 0 }
        guard !lacking.isEmpty else { return }
        let details = try folder.details(of: lacking.map { found[$0].uid })
        for (index, record) in zip(lacking, details) {
            if let date = record?.internalDate { found[index].internalDate = date }
        }
    }

    /// The message's header fields when it matches (empty when not needed or when the
    /// file vanished or shrank under the read: such a message matches no content key),
    /// and all of them as the header cache keeps them when the file was read whole;
    /// nil when it does not match.
    private func read(_ n: SequenceNumber, _ record: MessageRecord) throws -> (SortHeaders, SortHeaders?)? {
        statistics.beforeRead.withLock { $0 }?.run()
        try SearchJob.stopIfGone(connectionIsGone, statistics)
        guard let file = try folder.openMessage(record.uid) else {
            return evaluator.matches(sequenceNumber: n, record: record, content: nil) ? (SortHeaders(), nil) : nil
        }
        defer { file.close() }
        statistics.messagesRead.add(1, ordering: .relaxed)
        func outcome(_ tree: MessageTree, _ raw: UnsafeRawBufferPointer, _ probe: ShrinkProbe, _ headers: SortHeaders?)
            -> (SortHeaders, SortHeaders?)?
        {
            let content =
                evaluator.needsContent
                ? SearchableMessage(tree: tree, raw: raw, plan: evaluator.plan, statistics: statistics) : nil
            let matches = evaluator.matches(sequenceNumber: n, record: record, content: content)
            guard probe.fileShrank else { return matches ? (headers ?? SortHeaders(), headers) : nil }
            return evaluator.matches(sequenceNumber: n, record: record, content: nil) ? (SortHeaders(), nil) : nil
        }
        // The sort keys and header-field criteria need the top-level header only.
        if !evaluator.needsContent || evaluator.headerNeeds != nil {
            return try file.withTopHeader { tree, raw, probe in
                let headers = fields.isEmpty ? nil : SortFields.all.trim(tree.sortHeaders(raw))
                if let headers, !probe.fileShrank {
                    cache.keep(sortHeaders: headers, folder: folder, uidValidity: uidValidity, uid: record.uid)
                }
                return outcome(tree, raw, probe, headers)
            }
        }
        let cached = cache.lookup(folder, uidValidity: uidValidity, uid: record.uid)
        return try file.withContents { raw, probe in
            let parsed = cache.parse(
                raw, probe: probe, cached: cached, envelope: false, structure: false, sortHeaders: !fields.isEmpty,
                folder: folder, uidValidity: uidValidity, uid: record.uid)
            return outcome(parsed.tree, raw, probe, parsed.message.sortHeaders.map(SortFields.all.trim))
        }
    }
}
