import IMAPProtocol
import MailMessage
import MaildirStore
import Synchronization

// The text side of SEARCH (RFC 9051 §6.4.4: FROM, TO, CC, BCC, SUBJECT, HEADER, BODY,
// TEXT), built so that its cost does not grow with the number of strings searched
// for (issue 11 item 6: an OR tree of 3,500 TEXT keys decoded every message 3,500
// times):
// - `SearchTextPlan`, once per SEARCH: the distinct strings of each scope (where a key
//   looks), folded (`SearchFold`), with one multi-pattern matcher per scope;
// - `SearchableMessage`, once per message: each text decoded and folded at most
//   once, and each scope's matcher run over it once, whatever the number of keys.
// A message's work is then linear in its size plus the number of keys.

/// How SEARCH compares text. RFC 9051 §6.4.4 asks only for a case-insensitive
/// substring match; Dovecot, the reference where the RFC leaves room, folds both sides
/// as its SORT does (i;unicode-casemap, RFC 5051: titlecase, then one level of
/// decomposition), so "re" finds "Résumé" and "cafe" finds "café" (checked against
/// Dovecot 2.3.19). SORT's fold (`SortText.casemapped`, which upper-cases all-ASCII
/// text byte for byte, most of what a SEARCH reads) is used.
enum SearchFold {
    static func bytes(_ text: String) -> [UInt8] { SortText.casemapped(text) }
}

/// Where a text key looks.
enum SearchScope: Hashable, Sendable {
    /// TEXT: every header field (name and value) of every part, and the body texts.
    case text
    /// BODY: the body texts.
    case body
    /// SUBJECT, HEADER: the values of one top-level field (name lowercased).
    case header(String)
    /// FROM, TO, CC, BCC: one top-level address field, as written and as ENVELOPE
    /// parses it (MessageTree.decodedAddressValues).
    case address(String)
}

/// A search key with its strings resolved to (scope, needle) numbers, so evaluating a
/// key per message costs no string work.
indirect enum CompiledSearchKey: Sendable {
    /// A key that needs no text (flags, sets, sizes, dates).
    case plain(SearchKey)
    case contains(scope: Int, needle: Int)
    case not(CompiledSearchKey)
    case or(CompiledSearchKey, CompiledSearchKey)
    case and([CompiledSearchKey])
}

/// The text strings of one SEARCH, per scope.
struct SearchTextPlan: Sendable {
    struct Scope: Sendable {
        var scope: SearchScope
        /// Distinct needles, folded (`SearchFold`) UTF-8.
        var needles: [[UInt8]] = []
        var matcher: MultiPatternMatcher?
    }

    /// What one SEARCH may ask for (RFC 9051 leaves limits to the server; refused
    /// with NO [LIMIT]): keys in the tree and bytes of search strings. Together with
    /// the plan they bound a SEARCH's work to, per message, a linear pass over its
    /// text per scope plus one step per key; the matchers' memory to a few times
    /// `maxStringBytes`.
    static let maxKeys = 10_000
    static let maxStringBytes = 256 * 1024

    let scopes: [Scope]
    let key: CompiledSearchKey

    /// nil when the key is over the limits above.
    init?(_ key: SearchKey) {
        var counter = (keys: 0, bytes: 0)
        guard Self.measure(key, &counter) else { return nil }
        var builder = Builder()
        self.key = builder.compile(key)
        scopes = builder.scopes.map { scope in
            var scope = scope
            scope.matcher = MultiPatternMatcher(scope.needles)
            return scope
        }
    }

    /// Counts keys and string bytes; false past a limit (stops early).
    private static func measure(_ key: SearchKey, _ counter: inout (keys: Int, bytes: Int)) -> Bool {
        counter.keys += 1
        guard counter.keys <= maxKeys else { return false }
        switch key {
        case .not(let k): return measure(k, &counter)
        case .or(let a, let b): return measure(a, &counter) && measure(b, &counter)
        case .and(let keys): return keys.allSatisfy { measure($0, &counter) }
        default:
            if let (_, needle) = Self.text(of: key) { counter.bytes += needle.utf8.count }
            return counter.bytes <= maxStringBytes
        }
    }

    /// The scope and string of a text key.
    static func text(of key: SearchKey) -> (SearchScope, String)? {
        switch key {
        case .from(let s): return (.address("from"), s)
        case .to(let s): return (.address("to"), s)
        case .cc(let s): return (.address("cc"), s)
        case .bcc(let s): return (.address("bcc"), s)
        case .subject(let s): return (.header("subject"), s)
        case .header(let field, let s): return (.header(field.lowercased()), s)
        case .body(let s): return (.body, s)
        case .text(let s): return (.text, s)
        default: return nil
        }
    }

    private struct Builder {
        var scopes: [Scope] = []
        var scopeIndex: [SearchScope: Int] = [:]
        var needleIDs: [[[UInt8]: Int]] = []

        mutating func compile(_ key: SearchKey) -> CompiledSearchKey {
            switch key {
            case .not(let k): return .not(compile(k))
            case .or(let a, let b): return .or(compile(a), compile(b))
            case .and(let keys): return .and(keys.map { compile($0) })
            default:
                guard let (scope, needle) = SearchTextPlan.text(of: key) else { return .plain(key) }
                let s = scopeIndex[scope] ?? add(scope)
                let bytes = SearchFold.bytes(needle)
                if let id = needleIDs[s][bytes] { return .contains(scope: s, needle: id) }
                let id = scopes[s].needles.count
                scopes[s].needles.append(bytes)
                needleIDs[s][bytes] = id
                return .contains(scope: s, needle: id)
            }
        }

        private mutating func add(_ scope: SearchScope) -> Int {
            scopes.append(Scope(scope: scope))
            needleIDs.append([:])
            scopeIndex[scope] = scopes.count - 1
            return scopes.count - 1
        }
    }
}

/// One message's searchable text during one SEARCH: decoded, folded and matched
/// lazily, each at most once; or, for keys the listing cache covers, its cached texts.
final class SearchableMessage {
    private enum Source {
        case file(MessageTree, UnsafeRawBufferPointer)
        /// Only scopes `SearchHeaders.keeps` are asked of it, and only those it holds
        /// (SearchJob checks `SearchHeaders.serves`).
        case cached(SearchHeaders)
    }
    private let source: Source
    private let plan: SearchTextPlan
    /// Read from the file, what the listing cache keeps (`SearchHeaders`): the texts
    /// of the fields and the date this search needed, to be stored.
    private(set) var learned = SearchHeaders()
    private let statistics: SearchStatistics
    private var bodies: [[UInt8]]?
    private var partHeaders: [[UInt8]]?
    private var found: [[Bool]?]

    /// `raw` must stay valid while this object is used (the caller's file mapping).
    init(tree: MessageTree, raw: UnsafeRawBufferPointer, plan: SearchTextPlan, statistics: SearchStatistics) {
        source = .file(tree, raw)
        self.plan = plan
        self.statistics = statistics
        found = Array(repeating: nil, count: plan.scopes.count)
    }

    /// The texts the listing cache kept of the message.
    init(headers: SearchHeaders, plan: SearchTextPlan, statistics: SearchStatistics) {
        source = .cached(headers)
        self.plan = plan
        self.statistics = statistics
        found = Array(repeating: nil, count: plan.scopes.count)
    }

    var sentDate: IMAPDate? {
        switch source {
        case .file(let tree, let raw):
            let date = tree.sentDate(raw)?.date
            learned.sentDate = .some(date)
            return date
        case .cached(let headers): return headers.sentDate ?? nil
        }
    }

    /// Whether needle `needle` of scope `scope` occurs (an empty needle: whether the
    /// scope has any text at all, RFC 9051 §6.4.4's "HEADER field-name """).
    func contains(scope: Int, needle: Int) -> Bool {
        if let known = found[scope] { return known[needle] }
        let entry = plan.scopes[scope]
        let texts = haystacks(entry.scope)
        let result =
            texts.isEmpty
            ? [Bool](repeating: false, count: entry.needles.count)
            : entry.matcher?.occurrences(in: texts) ?? []
        found[scope] = result
        return result[needle]
    }

    /// Reads from the file what `needs` asks for and the evaluation skipped (an OR
    /// already true, an AND already false), so that what is stored answers the next
    /// such SEARCH whatever its outcome on this message.
    func learn(_ needs: SearchHeaders.Needs) {
        guard case .file = source else { return }
        for (index, entry) in plan.scopes.enumerated() where found[index] == nil && needs.scopes.contains(entry.scope) {
            _ = haystacks(entry.scope)
        }
        if needs.sentDate && learned.sentDate == nil { _ = sentDate }
    }

    private func haystacks(_ scope: SearchScope) -> [[UInt8]] {
        guard case .file(let tree, let raw) = source else {
            guard case .cached(let headers) = source else { return [] }
            return headers[scope] ?? []
        }
        let texts: [[UInt8]]
        switch scope {
        case .text: return headersOfAllParts(tree, raw) + bodyTexts(tree, raw)
        case .body: return bodyTexts(tree, raw)
        case .header(let name): texts = decode { tree.decodedHeaderValues(name, raw) }
        case .address(let name): texts = decode { tree.decodedAddressValues(name, raw) }
        }
        learned[scope] = texts
        return texts
    }

    private func bodyTexts(_ tree: MessageTree, _ raw: UnsafeRawBufferPointer) -> [[UInt8]] {
        if let bodies { return bodies }
        let decoded = decode { tree.decodedBodyTexts(raw) }
        bodies = decoded
        return decoded
    }

    private func headersOfAllParts(_ tree: MessageTree, _ raw: UnsafeRawBufferPointer) -> [[UInt8]] {
        if let partHeaders { return partHeaders }
        let decoded = decode { tree.decodedHeaders(raw).flatMap { [$0.0, $0.1] } }
        partHeaders = decoded
        return decoded
    }

    /// One decoding pass over the message (counted: `SearchStatistics.decodes`).
    private func decode(_ texts: () -> [String]) -> [[UInt8]] {
        statistics.decodes.add(1, ordering: .relaxed)
        return texts().map(SearchFold.bytes)
    }
}

/// What SEARCH did with message contents, server-wide: for the tests that check its
/// cost does not grow with the number of keys, and that a SEARCH stops when its
/// connection goes.
final class SearchStatistics: Sendable {
    /// Message files read for their content.
    let messagesRead = Atomic<Int>(0)
    /// Decoding passes over a message's text (per message: once per kind of text).
    let decodes = Atomic<Int>(0)
    /// SEARCHes stopped because their connection closed.
    let cancelled = Atomic<Int>(0)
    /// SORT and THREAD collections started again: the header cache's threading table
    /// was started again under them (SortData.swift).
    let collectionRestarts = Atomic<Int>(0)

    /// Tests only: runs before each message file is read (it may block, to hold a
    /// SEARCH at a known point). A class box: see ChangeInbox on closures in a Mutex.
    final class Hook: Sendable {
        let run: @Sendable () -> Void
        init(_ run: @escaping @Sendable () -> Void) { self.run = run }
    }

    let beforeRead = Mutex<Hook?>(nil)
}
