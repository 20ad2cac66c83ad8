import IMAPProtocol
import MailMessage
import MaildirStore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Evaluates RFC 9051 §6.4.4 search keys against one message. Pure: everything it
/// needs is passed in, the message's text only when a key asks for it. Text keys are
/// resolved once per SEARCH (SearchTextPlan) and matched against each message's text
/// once, whatever their number (SearchableMessage).
struct SearchEvaluator: Sendable {
    let plan: SearchTextPlan
    /// Largest sequence number and UID, for `*` in sets.
    let lastSequenceNumber: UInt32
    let lastUID: UInt32
    /// RFC 5182 `$`: the saved result.
    let saved: Set<StoreUID>
    /// The messages \Recent in the session (none for an IMAP4rev2 session).
    let recent: RecentUIDs
    /// Whether any key needs the message file (headers, body, Date:).
    let needsContent: Bool
    /// What the content keys read when they read top-level header fields and Date:
    /// only (a file's header is then enough, and the listing cache can keep it); nil
    /// when one reads BODY or TEXT.
    let headerNeeds: SearchHeaders.Needs?
    /// Whether any key needs INTERNALDATE or RFC822.SIZE, which a scan leaves unread
    /// (MessageRecord).
    let needsDetails: Bool
    /// Whether every message matches (`ALL`, as SORT and THREAD of a whole folder ask):
    /// callers skip the per-message evaluation.
    let matchesEverything: Bool
    /// RFC 5032 OLDER/YOUNGER count from this instant (seconds since the epoch), taken
    /// once per search so that every message is measured from the same moment.
    let now: Int64

    /// nil when the key is beyond what one SEARCH may ask (SearchTextPlan's limits).
    init?(
        key: SearchKey, lastSequenceNumber: UInt32, lastUID: UInt32, saved: Set<StoreUID>,
        recent: RecentUIDs = RecentUIDs(), now: Int64 = Int64(time(nil))
    ) {
        guard let plan = SearchTextPlan(key) else { return nil }
        self.plan = plan
        self.lastSequenceNumber = lastSequenceNumber
        self.lastUID = lastUID
        self.saved = saved
        self.recent = recent
        self.now = now
        needsContent = Self.needsContent(key)
        headerNeeds = SearchHeaders.Needs(plan, sentDate: Self.usesSentDate(key))
        needsDetails = Self.needsDetails(key)
        matchesEverything = Self.isAll(key)
    }

    private static func isAll(_ key: SearchKey) -> Bool {
        switch key {
        case .all: return true
        case .and(let keys): return keys.allSatisfy(isAll)
        default: return false
        }
    }

    static func needsContent(_ key: SearchKey) -> Bool {
        switch key {
        case .bcc, .cc, .from, .to, .subject, .body, .text, .header, .sentBefore, .sentOn, .sentSince: return true
        case .not(let k): return needsContent(k)
        case .or(let a, let b): return needsContent(a) || needsContent(b)
        case .and(let keys): return keys.contains(where: needsContent)
        default: return false
        }
    }

    /// Whether any key compares the Date: field (SENTBEFORE, SENTON, SENTSINCE).
    static func usesSentDate(_ key: SearchKey) -> Bool {
        switch key {
        case .sentBefore, .sentOn, .sentSince: return true
        case .not(let k): return usesSentDate(k)
        case .or(let a, let b): return usesSentDate(a) || usesSentDate(b)
        case .and(let keys): return keys.contains(where: usesSentDate)
        default: return false
        }
    }

    static func needsDetails(_ key: SearchKey) -> Bool {
        switch key {
        case .larger, .smaller, .before, .on, .since, .older, .younger: return true
        case .not(let k): return needsDetails(k)
        case .or(let a, let b): return needsDetails(a) || needsDetails(b)
        case .and(let keys): return keys.contains(where: needsDetails)
        default: return false
        }
    }

    func matches(sequenceNumber: SequenceNumber, record: MessageRecord, content: SearchableMessage?) -> Bool {
        evaluate(plan.key, sequenceNumber, record, content)
    }

    private func evaluate(
        _ key: CompiledSearchKey, _ n: SequenceNumber, _ r: MessageRecord, _ c: SearchableMessage?
    ) -> Bool {
        switch key {
        case .plain(let k): return evaluate(k, n, r, c)
        case .contains(let scope, let needle): return c?.contains(scope: scope, needle: needle) ?? false
        case .not(let k): return !evaluate(k, n, r, c)
        case .or(let a, let b): return evaluate(a, n, r, c) || evaluate(b, n, r, c)
        case .and(let keys): return keys.allSatisfy { evaluate($0, n, r, c) }
        }
    }

    /// A key without text (`CompiledSearchKey.plain`).
    private func evaluate(_ key: SearchKey, _ n: SequenceNumber, _ r: MessageRecord, _ c: SearchableMessage?) -> Bool {
        let system = r.flags.system
        switch key {
        case .all: return true
        case .answered: return system.contains(.answered)
        case .deleted: return system.contains(.deleted)
        case .draft: return system.contains(.draft)
        case .flagged: return system.contains(.flagged)
        case .seen: return system.contains(.seen)
        case .unanswered: return !system.contains(.answered)
        case .undeleted: return !system.contains(.deleted)
        case .undraft: return !system.contains(.draft)
        case .unflagged: return !system.contains(.flagged)
        case .unseen: return !system.contains(.seen)
        // IMAP4rev1 (RFC 3501 §6.4.4); in an IMAP4rev2 session nothing is recent.
        case .recent: return recent.contains(r.uid)
        case .new: return recent.contains(r.uid) && !system.contains(.seen)
        case .old: return !recent.contains(r.uid)
        case .keyword(let k): return r.flags.keywords.contains { $0.lowercased() == k.lowercased() }
        case .unkeyword(let k): return !r.flags.keywords.contains { $0.lowercased() == k.lowercased() }
        // Unknown only for a message gone before its details could be read: no match.
        case .larger(let size): return r.virtualSize.map { $0 > Int(size) } ?? false
        case .smaller(let size): return r.virtualSize.map { $0 < Int(size) } ?? false
        case .before(let date): return internalDate(r).map { $0 < date } ?? false
        case .on(let date): return internalDate(r).map { $0 == date } ?? false
        case .since(let date): return internalDate(r).map { $0 >= date } ?? false
        // As Dovecot: OLDER n is INTERNALDATE <= now - n, YOUNGER n is >= now - n.
        case .older(let seconds): return r.internalDate.map { $0 <= now - Int64(seconds) } ?? false
        case .younger(let seconds): return r.internalDate.map { $0 >= now - Int64(seconds) } ?? false
        case .uid(let set):
            guard let ranges = set.resolvedRanges(largest: lastUID) else { return saved.contains(r.uid) }
            return ranges.contains { $0.contains(r.uid.rawValue) }
        case .sequenceNumbers(let set):
            guard let ranges = set.resolvedRanges(largest: lastSequenceNumber) else { return saved.contains(r.uid) }
            return ranges.contains { $0.contains(n.rawValue) }
        // RFC 7162 §3.1.5: changed at or after the given mod-sequence.
        case .modSeq(let modSeq): return r.modSeq.rawValue >= modSeq
        // Compiled into CompiledSearchKey.contains / .not / .or / .and.
        case .from, .to, .cc, .bcc, .subject, .header, .body, .text, .not, .or, .and: return false
        case .sentBefore(let date): return sentDate(c).map { $0 < date } ?? false
        case .sentOn(let date): return sentDate(c).map { $0 == date } ?? false
        case .sentSince(let date): return sentDate(c).map { $0 >= date } ?? false
        }
    }

    /// INTERNALDATE's date in UTC, the zone the server reports INTERNALDATE in.
    private func internalDate(_ r: MessageRecord) -> IMAPDate? {
        r.internalDate.map { IMAPDateTime(secondsSinceEpoch: $0).date }
    }

    private func sentDate(_ c: SearchableMessage?) -> IMAPDate? { c?.sentDate }
}
