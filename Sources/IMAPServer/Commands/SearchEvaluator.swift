import IMAPProtocol
import MailMessage
import MaildirStore

/// Evaluates RFC 9051 §6.4.4 search keys against one message. Pure: everything it
/// needs is passed in, the message's bytes only when a key asks for them.
struct SearchEvaluator: Sendable {
    let key: SearchKey
    /// Largest sequence number and UID, for `*` in sets.
    let lastSequenceNumber: UInt32
    let lastUID: UInt32
    /// RFC 5182 `$`: the saved result.
    let saved: Set<StoreUID>
    /// The messages \Recent in the session (none for an IMAP4rev2 session).
    var recent = RecentUIDs()

    /// Whether any key needs the message file (headers, body, Date:).
    var needsContent: Bool { SearchEvaluator.needsContent(key) }

    static func needsContent(_ key: SearchKey) -> Bool {
        switch key {
        case .bcc, .cc, .from, .to, .subject, .body, .text, .header, .sentBefore, .sentOn, .sentSince: return true
        case .not(let k): return needsContent(k)
        case .or(let a, let b): return needsContent(a) || needsContent(b)
        case .and(let keys): return keys.contains(where: needsContent)
        default: return false
        }
    }

    /// Whether any key needs INTERNALDATE or RFC822.SIZE, which a scan leaves unread
    /// (MessageRecord).
    var needsDetails: Bool { SearchEvaluator.needsDetails(key) }

    static func needsDetails(_ key: SearchKey) -> Bool {
        switch key {
        case .larger, .smaller, .before, .on, .since: return true
        case .not(let k): return needsDetails(k)
        case .or(let a, let b): return needsDetails(a) || needsDetails(b)
        case .and(let keys): return keys.contains(where: needsDetails)
        default: return false
        }
    }

    struct Content {
        let tree: MessageTree
        let raw: UnsafeRawBufferPointer
    }

    func matches(sequenceNumber: Int, record: MessageRecord, content: Content?) -> Bool {
        evaluate(key, sequenceNumber, record, content)
    }

    private func evaluate(_ key: SearchKey, _ n: Int, _ r: MessageRecord, _ c: Content?) -> Bool {
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
        case .uid(let set):
            guard let ranges = set.resolvedRanges(largest: lastUID) else { return saved.contains(r.uid) }
            return ranges.contains { $0.contains(r.uid.rawValue) }
        case .sequenceNumbers(let set):
            guard let ranges = set.resolvedRanges(largest: lastSequenceNumber) else { return saved.contains(r.uid) }
            return ranges.contains { $0.contains(UInt32(n)) }
        case .not(let k): return !evaluate(k, n, r, c)
        case .or(let a, let b): return evaluate(a, n, r, c) || evaluate(b, n, r, c)
        case .and(let keys): return keys.allSatisfy { evaluate($0, n, r, c) }
        case .modSeq: return false
        case .from(let s): return header("From", contains: s, c)
        case .to(let s): return header("To", contains: s, c)
        case .cc(let s): return header("Cc", contains: s, c)
        case .bcc(let s): return header("Bcc", contains: s, c)
        case .subject(let s): return header("Subject", contains: s, c)
        case .header(let field, let value): return header(field, contains: value, c)
        case .body(let s):
            guard let c else { return false }
            return c.tree.decodedBodyTexts(c.raw).contains { searchMatches($0, s) }
        case .text(let s):
            guard let c else { return false }
            return c.tree.decodedHeaders(c.raw).contains { searchMatches($0.1, s) || searchMatches($0.0, s) }
                || c.tree.decodedBodyTexts(c.raw).contains { searchMatches($0, s) }
        case .sentBefore(let date): return sentDate(c).map { $0 < date } ?? false
        case .sentOn(let date): return sentDate(c).map { $0 == date } ?? false
        case .sentSince(let date): return sentDate(c).map { $0 >= date } ?? false
        }
    }

    /// INTERNALDATE's date in UTC, the zone the server reports INTERNALDATE in.
    private func internalDate(_ r: MessageRecord) -> IMAPDate? {
        r.internalDate.map { IMAPDateTime(secondsSinceEpoch: $0).date }
    }

    /// §6.4.4: a header key matches when the field's (decoded) value contains the
    /// string; an empty string matches every message that has the field.
    private func header(_ name: String, contains needle: String, _ c: Content?) -> Bool {
        guard let c else { return false }
        let values = c.tree.decodedHeaderValues(name, c.raw)
        if needle.isEmpty { return !values.isEmpty }
        return values.contains { searchMatches($0, needle) }
    }

    private func sentDate(_ c: Content?) -> IMAPDate? {
        guard let c else { return nil }
        return c.tree.sentDate(c.raw)?.date
    }
}
