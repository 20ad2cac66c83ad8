import IMAPProtocol
import MailMessage
import MaildirStore

/// One message as SORT and THREAD see it.
struct SortMessage: Sendable {
    var sequenceNumber: SequenceNumber
    var uid: StoreUID
    /// INTERNALDATE in seconds since the epoch (0 when unknown: the message vanished).
    var internalDate: Int64
    /// RFC822.SIZE (0 when unknown).
    var size: Int
    /// The header fields SORT and THREAD read; empty when not needed or when the
    /// message vanished before it was read.
    var headers: SortHeaders

    /// RFC 5256 §2.2 "sent date": the Date: field, else INTERNALDATE.
    var sentDate: Int64 { headers.sentDate ?? internalDate }
}

extension IMAPSession {
    /// The search part of SORT and THREAD (`search-criteria`, RFC 5256 §3), evaluated
    /// as SEARCH evaluates it, with the header fields and details each matching message
    /// needs. Runs in slices on the content pool, like SEARCH (SearchJob): a SORT of a
    /// huge folder takes turns with other users' work and stops when its client goes.
    /// nil when the command was already answered (a refusal or an error).
    func collectSortMessages(
        tag: String, mailbox: SelectedMailbox, charset: String, key: SearchKey, needsHeaders: Bool,
        needsDetails: Bool
    ) async -> [SortMessage]? {
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
        if SearchKeyInspection.usesModSeq(key) {
            fail(tag, .modSeqNeedsCondstore)
            return nil
        }
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
        let candidates = view.records.enumerated().map {
            (sequenceNumber: MailboxView.sequenceNumber(atIndex: $0.offset), record: $0.element)
        }
        let channel = writer.channel
        let job = SortDataJob(
            evaluator: evaluator, messages: candidates, folder: mailbox.folder, uidValidity: view.uidValidity,
            cache: context.messageCache, statistics: context.searchStatistics, needsHeaders: needsHeaders,
            needsDetails: needsDetails || evaluator.needsDetails, connectionIsGone: { !channel.isActive })
        var found: [SortMessage] = []
        do {
            let reads = needsHeaders || evaluator.needsContent
            let slice = reads ? SearchJob.contentSlice : max(1, candidates.count)
            var start = 0
            while start < candidates.count {
                let range = start..<min(start + slice, candidates.count)
                found += try await context.content { try job.run(range) }
                start = range.upperBound
            }
        } catch is SearchJob.ConnectionGone {
            return nil
        } catch {
            sendStoreFailure(tag, error, name: MailboxName(""))
            return nil
        }
        return found
    }
}

/// The blocking part of SORT and THREAD: SearchJob's matching, and for each match the
/// header fields (read once per message with the content keys, through the
/// parsed-message cache). Statistics and cancellation as SearchJob's.
struct SortDataJob: Sendable {
    let evaluator: SearchEvaluator
    let messages: [(sequenceNumber: SequenceNumber, record: MessageRecord)]
    let folder: SharedFolder
    let uidValidity: StoreUIDValidity
    let cache: ParsedMessageCache
    let statistics: SearchStatistics
    let needsHeaders: Bool
    let needsDetails: Bool
    let connectionIsGone: @Sendable () -> Bool

    func run(_ range: Range<Int>) throws -> [SortMessage] {
        var messages = Array(messages[range])
        if needsDetails {
            let records = try folder.completeDetails(messages.map(\.record))
            for index in messages.indices { messages[index].record = records[index] }
        }
        var found: [SortMessage] = []
        for (n, record) in messages {
            var message = SortMessage(
                sequenceNumber: n, uid: record.uid, internalDate: record.internalDate ?? 0,
                size: record.virtualSize ?? 0, headers: SortHeaders())
            let needsContent = evaluator.needsContent
            if !needsContent && !evaluator.matches(sequenceNumber: n, record: record, content: nil) { continue }
            if !needsContent && !needsHeaders {
                found.append(message)
                continue
            }
            guard let headers = try read(n, record) else { continue }
            message.headers = headers
            found.append(message)
        }
        return found
    }

    /// The message's header fields when it matches (empty when not needed or when the
    /// file vanished or shrank under the read: such a message matches no content key);
    /// nil when it does not match.
    private func read(_ n: SequenceNumber, _ record: MessageRecord) throws -> SortHeaders? {
        statistics.beforeRead.withLock { $0 }?.run()
        if connectionIsGone() {
            statistics.cancelled.add(1, ordering: .relaxed)
            throw SearchJob.ConnectionGone()
        }
        guard let file = try folder.openMessage(record.uid) else {
            return evaluator.matches(sequenceNumber: n, record: record, content: nil) ? SortHeaders() : nil
        }
        defer { file.close() }
        statistics.messagesRead.add(1, ordering: .relaxed)
        let cached = cache.lookup(folder, uidValidity: uidValidity, uid: record.uid)
        return try file.withContents { raw, probe in
            let parsed = cache.parse(
                raw, probe: probe, cached: cached, envelope: false, structure: false, folder: folder,
                uidValidity: uidValidity, uid: record.uid)
            let content =
                evaluator.needsContent
                ? SearchableMessage(tree: parsed.tree, raw: raw, plan: evaluator.plan, statistics: statistics) : nil
            let matches = evaluator.matches(sequenceNumber: n, record: record, content: content)
            let headers = needsHeaders ? parsed.tree.sortHeaders(raw) : SortHeaders()
            guard probe.fileShrank else { return matches ? headers : nil }
            return evaluator.matches(sequenceNumber: n, record: record, content: nil) ? SortHeaders() : nil
        }
    }
}
