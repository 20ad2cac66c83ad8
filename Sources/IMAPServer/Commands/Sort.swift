import IMAPProtocol
import MailMessage
import MaildirStore

extension IMAPSession {
    /// RFC 5256 §3 SORT and UID SORT (keys of RFC 5957 SORT=DISPLAY too), answered as
    /// `* SORT`, or as ESEARCH (RFC 5267 ESORT) when the client asked with RETURN.
    func handleSort(
        tag: String, mailbox: SelectedMailbox, kind: MessageSetKind, _ sort: SortCommand, spec: CommandSpec
    ) async {
        let keys = Set(sort.criteria.map(\.key))
        var evaluator: SearchEvaluator?
        guard
            let found = await collectSortMessages(
                tag: tag, mailbox: mailbox, charset: sort.charset, key: sort.key,
                fields: SortFields(sort.criteria.map(\.key)),
                needsDetails: !keys.isDisjoint(with: [.arrival, .size]), evaluatorUsed: { evaluator = $0 }
            )?.messages
        else { return }
        let criteria = sort.criteria
        let order: [Int]
        do {
            // Sorting a large folder is work too: on the content pool, not the event loop.
            order = try await context.content { SortOrder.order(found, by: criteria) }
        } catch {
            sendStoreFailure(tag, error, name: MailboxName(""))
            return
        }
        let sorted = order.map { (sequenceNumber: found[$0].sequenceNumber.rawValue, uid: found[$0].uid) }
        let values = sorted.map { kind == .uid ? $0.uid.rawValue : $0.sequenceNumber }
        let options = Set(sort.returnOptions)
        if options.contains(.save) {
            // RFC 5182 with RFC 5267: the first and last in sort order stand for MIN
            // and MAX when only they are asked for.
            let onlyExtremes =
                !options.isDisjoint(with: [.min, .max]) && options.isDisjoint(with: [.all, .count, .partial])
            var saved = sorted.map(\.uid)
            if let range = sort.partial {
                // RFC 9394 §3.1: with PARTIAL, the page returned.
                saved = Array(saved[range.indices(count: saved.count)])
            } else if onlyExtremes, let first = sorted.first, let last = sorted.last {
                saved = []
                if options.contains(.min) { saved.append(first.uid) }
                if options.contains(.max) && (saved.isEmpty || last.uid != first.uid) { saved.append(last.uid) }
            }
            mailbox.savedSearch = saved.sorted { $0.rawValue < $1.rawValue }
        }
        if options.contains(.update) {
            if sort.partial == nil, let evaluator {
                // CONTEXT=SORT: kept with its sort order (Session/LiveSort.swift).
                startLiveSearch(
                    tag: tag, mailbox: mailbox, uid: kind == .uid, evaluator: evaluator, matches: sorted.map(\.uid),
                    sort: LiveSort(criteria: criteria, ordered: order.map { found[$0] }))
            } else {
                // RFC 5267 §4.4 allows refusing updates; a paged live result is not kept.
                writer.untagged(.status(.no, code: Self.noUpdate(tag), text: "PARTIAL results are not updated."))
            }
        }
        if sort.hasReturn {
            let wanted = options.subtracting([.save, .update, .context])
            // With UPDATE the client is always told the tag (as SEARCH).
            if !(options.contains(.save) && wanted.isEmpty) || options.contains(.update) {
                // SAVE alone asks for no data: not the ALL an empty RETURN () means.
                let asked: Set<SearchReturnOption> = options.contains(.save) && wanted.isEmpty ? [.save] : wanted
                var response = SortOrder.esortResponse(values, wanted: asked, tag: tag, uid: kind == .uid)
                if let range = sort.partial {
                    // RFC 9394 §3.1 over the sorted result, in sort order.
                    response.partial = (range, SortOrder.runs(Array(values[range.indices(count: values.count)])))
                }
                writer.untagged(.esearch(response))
            }
        } else {
            writer.untagged(.sort(values))
        }
        await finish(tag, "Sort completed.", reportExpunge: spec.mayReportExpunge)
    }
}

/// RFC 5256 §3 sort order, pure. Each criterion's value is computed once per message;
/// messages equal under every criterion keep mailbox order (RFC 5256 §3: "sorted
/// according to the order in which they appear in the mailbox"); REVERSE reverses only
/// its own criterion, as in Dovecot.
enum SortOrder {
    enum Value: Comparable {
        case number(Int64)
        case text([UInt8])

        static func < (a: Value, b: Value) -> Bool {
            switch (a, b) {
            case (.number(let x), .number(let y)): return x < y
            case (.text(let x), .text(let y)): return SortText.less(x, y)
            case (.number, .text): return true
            case (.text, .number): return false
            }
        }
    }

    /// RFC 5256 §3 for each key; text values case-mapped (`SortText`), a missing
    /// field the empty string.
    static func value(_ key: SortKey, _ message: SortMessage) -> Value {
        let h = message.headers
        switch key {
        case .arrival: return .number(message.internalDate)
        case .date: return .number(message.sentDate)
        case .size: return .number(Int64(message.size))
        case .subject:
            return .text(message.baseSubject ?? BaseSubject.extract(h.subject ?? "").base)
        case .from: return .text(SortText.casemapped(h.from?.mailbox ?? ""))
        case .to: return .text(SortText.casemapped(h.to?.mailbox ?? ""))
        case .cc: return .text(SortText.casemapped(h.cc?.mailbox ?? ""))
        case .displayFrom: return .text(SortText.casemapped(h.from?.displayName ?? ""))
        case .displayTo: return .text(SortText.casemapped(h.to?.displayName ?? ""))
        }
    }

    /// The indices of `messages` in sort order. Values are kept in one column per
    /// criterion (numbers apart from texts), so comparing two messages reads arrays
    /// and copies nothing.
    static func order(_ messages: [SortMessage], by criteria: [SortCriterion]) -> [Int] {
        enum Column {
            case numbers([Int64])
            case texts([[UInt8]])
        }
        let columns: [(column: Column, reverse: Bool)] = criteria.map { criterion in
            let column: Column
            switch criterion.key {
            case .arrival: column = .numbers(messages.map(\.internalDate))
            case .date: column = .numbers(messages.map(\.sentDate))
            case .size: column = .numbers(messages.map { Int64($0.size) })
            default:
                column = .texts(
                    messages.map {
                        guard case .text(let text) = value(criterion.key, $0) else { return [] }
                        return text
                    })
            }
            return (column, criterion.reverse)
        }
        // Mailbox order breaks ties (RFC 5256 §3).
        let mailboxOrder = messages.map(\.sequenceNumber.rawValue)
        return messages.indices.sorted { a, b in
            for (column, reverse) in columns {
                switch column {
                case .numbers(let values):
                    let (x, y) = (values[a], values[b])
                    if x == y { continue }
                    return reverse ? y < x : x < y
                case .texts(let values):
                    if values[a] == values[b] { continue }
                    return reverse ? SortText.less(values[b], values[a]) : SortText.less(values[a], values[b])
                }
            }
            return mailboxOrder[a] < mailboxOrder[b]
        }
    }

    /// RFC 5267 §3.1 ESORT: MIN and MAX are the first and last message in sort order,
    /// ALL the numbers in sort order as a sequence set (ascending runs as ranges);
    /// `RETURN ()` means ALL.
    static func esortResponse(_ values: [UInt32], wanted: Set<SearchReturnOption>, tag: String, uid: Bool)
        -> ESearchResponse
    {
        var response = ESearchResponse(tag: tag, uid: uid)
        if !values.isEmpty {
            if wanted.contains(.min) { response.min = values.first }
            if wanted.contains(.max) { response.max = values.last }
            if wanted.isEmpty || wanted.contains(.all) { response.all = runs(values) }
        }
        if wanted.contains(.count) { response.count = values.count }
        return response
    }

    /// Consecutive ascending numbers as ranges, order kept: 3,4,5,1,9 → 3:5,1,9.
    static func runs(_ values: [UInt32]) -> [ClosedRange<UInt32>] {
        var ranges: [ClosedRange<UInt32>] = []
        for v in values {
            if let last = ranges.last, last.upperBound < .max, v == last.upperBound + 1 {
                ranges[ranges.count - 1] = last.lowerBound...v
            } else {
                ranges.append(v...v)
            }
        }
        return ranges
    }
}
