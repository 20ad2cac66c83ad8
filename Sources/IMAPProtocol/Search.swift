/// RFC 9051 §6.4.4 SEARCH, with ESEARCH return options (RFC 4731) and SEARCHRES `$`
/// (RFC 5182).

public struct SearchCommand: Sendable {
    /// `RETURN (…)` options; empty when no RETURN was given. `RETURN ()` means ALL.
    public var returnOptions: [SearchReturnOption]
    /// True when the command carried `RETURN` at all (ESEARCH form requested).
    public var hasReturn: Bool
    /// `CHARSET x` as sent, if any.
    public var charset: String?
    /// The keys, implicitly ANDed.
    public var key: SearchKey
    /// RFC 9394 `PARTIAL range` (present exactly when `returnOptions` holds `.partial`).
    public var partial: PartialRange?
    public init(
        returnOptions: [SearchReturnOption] = [], hasReturn: Bool = false, charset: String? = nil, key: SearchKey,
        partial: PartialRange? = nil
    ) {
        self.returnOptions = returnOptions
        self.hasReturn = hasReturn
        self.charset = charset
        self.key = key
        self.partial = partial
    }
}

/// RFC 9394 §3.1 `partial-range`: `first:last` counts from the first message of the
/// result (1 is the first), `-first:-last` from the last (-1 is the last). Kept with
/// `first <= last` (the endpoints may be sent in either order, RFC 5267 §4.4).
public struct PartialRange: Hashable, Sendable {
    public var first: UInt32
    public var last: UInt32
    public var fromEnd: Bool
    public init(_ a: UInt32, _ b: UInt32, fromEnd: Bool = false) {
        first = min(a, b)
        last = max(a, b)
        self.fromEnd = fromEnd
    }

    /// The indices of a result of `count` entries the range selects (empty when it lies
    /// beyond the end).
    public func indices(count: Int) -> Range<Int> {
        let lower = Int(first) - 1
        let upper = min(Int(last), count)
        guard lower < upper else { return 0..<0 }
        return fromEnd ? (count - upper)..<(count - lower) : lower..<upper
    }
}

extension SearchCommand {
    /// Charsets whose search strings the decoder reads as UTF-8 (US-ASCII is a subset).
    public static let utf8CompatibleCharsets = ["UTF-8", "US-ASCII"]

    public static func isUTF8Compatible(_ charset: String) -> Bool {
        utf8CompatibleCharsets.contains(charset.uppercased())
    }
}

extension SearchKey {
    /// The same key with every search string (not keywords or header names) passed
    /// through `transform`; nil when `transform` returns nil for any of them. Recursion
    /// is bounded by the decoder's nesting limit.
    public func mapStrings(_ transform: (String) -> String?) -> SearchKey? {
        switch self {
        case .bcc(let s): return transform(s).map(SearchKey.bcc)
        case .cc(let s): return transform(s).map(SearchKey.cc)
        case .from(let s): return transform(s).map(SearchKey.from)
        case .to(let s): return transform(s).map(SearchKey.to)
        case .subject(let s): return transform(s).map(SearchKey.subject)
        case .body(let s): return transform(s).map(SearchKey.body)
        case .text(let s): return transform(s).map(SearchKey.text)
        case .header(let field, let value): return transform(value).map { .header(field: field, value: $0) }
        case .not(let key): return key.mapStrings(transform).map(SearchKey.not)
        case .or(let a, let b):
            guard let a = a.mapStrings(transform), let b = b.mapStrings(transform) else { return nil }
            return .or(a, b)
        case .and(let keys):
            var mapped: [SearchKey] = []
            for key in keys {
                guard let m = key.mapStrings(transform) else { return nil }
                mapped.append(m)
            }
            return .and(mapped)
        default: return self
        }
    }
}

public enum SearchReturnOption: String, Hashable, Sendable {
    case min = "MIN"
    case max = "MAX"
    case all = "ALL"
    case count = "COUNT"
    case save = "SAVE"
    /// RFC 9394 / RFC 5267 §4.4; its range is `SearchCommand.partial`.
    case partial = "PARTIAL"
    /// RFC 5267 §4.2: keep the result up to date with ADDTO/REMOVEFROM.
    case update = "UPDATE"
    /// RFC 5267 §4.2: a hint that the client will page or update; changes nothing here.
    case context = "CONTEXT"
}

/// `search-key`, recursively. A parenthesised list and the implicit list of top-level
/// keys are both `.and`.
public indirect enum SearchKey: Hashable, Sendable {
    case all
    case answered, deleted, draft, flagged, seen
    case unanswered, undeleted, undraft, unflagged, unseen
    /// IMAP4rev1 keys (RFC 3501 §6.4.4): RECENT, NEW (recent and unseen), OLD.
    case recent, new, old
    case keyword(String)
    case unkeyword(String)
    case bcc(String), cc(String), from(String), to(String), subject(String)
    case body(String), text(String)
    case header(field: String, value: String)
    /// INTERNALDATE (date part, in the server's interpretation of the message's zone).
    case before(IMAPDate), on(IMAPDate), since(IMAPDate)
    /// Date: header.
    case sentBefore(IMAPDate), sentOn(IMAPDate), sentSince(IMAPDate)
    case larger(UInt32), smaller(UInt32)
    /// RFC 5032 WITHIN: INTERNALDATE at least / less than this many seconds before the
    /// search runs.
    case older(UInt32), younger(UInt32)
    case uid(SequenceSet<UID>)
    case sequenceNumbers(SequenceSet<SequenceNumber>)
    case not(SearchKey)
    case or(SearchKey, SearchKey)
    case and([SearchKey])
    /// CONDSTORE `MODSEQ [entry-name entry-type] mod-sequence-valzer`.
    case modSeq(UInt64)
}
