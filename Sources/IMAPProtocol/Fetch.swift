/// RFC 9051 §6.4.5 FETCH data items and section specs.

/// `fetch-att`. The macros ALL, FAST and FULL are expanded by the parser (§6.4.5).
public enum FetchAttribute: Hashable, Sendable {
    case envelope
    case flags
    case internalDate
    case rfc822Size
    /// `RFC822` ≡ `BODY[]` but answered as `RFC822`; sets \Seen.
    case rfc822
    /// `RFC822.HEADER` ≡ `BODY.PEEK[HEADER]`, answered as `RFC822.HEADER`.
    case rfc822Header
    /// `RFC822.TEXT` ≡ `BODY[TEXT]`, answered as `RFC822.TEXT`; sets \Seen.
    case rfc822Text
    case uid
    /// `BODY` (non-extensible BODYSTRUCTURE).
    case body
    /// `BODYSTRUCTURE`
    case bodyStructure
    /// `BODY[section]<partial>` and `BODY.PEEK[…]`.
    case bodySection(SectionSpec, partial: Partial?, peek: Bool)
    /// `BINARY[part]<partial>` and `BINARY.PEEK[…]` (RFC 3516).
    case binary(part: [Int], partial: Partial?, peek: Bool)
    /// `BINARY.SIZE[part]`
    case binarySize(part: [Int])
    /// CONDSTORE `MODSEQ`.
    case modSeq
}

/// `<offset.count>` of a partial fetch (§6.4.5): the answer is labelled `<offset>`.
public struct Partial: Hashable, Sendable {
    public var offset: Int
    public var count: Int
    public init(offset: Int, count: Int) {
        self.offset = offset
        self.count = count
    }
}

/// `section-spec`: an optional part path (`1.2.3`) and an optional text specifier.
/// `BODY[]` is `SectionSpec(part: [], text: nil)`.
public struct SectionSpec: Hashable, Sendable, CustomStringConvertible {
    public var part: [Int]
    public var text: SectionText?
    public init(part: [Int] = [], text: SectionText? = nil) {
        self.part = part
        self.text = text
    }
    /// `1.2.HEADER.FIELDS (From To)` — the form echoed back in the FETCH response.
    public var description: String {
        var pieces = part.map(String.init)
        if let text { pieces.append(text.description) }
        return pieces.joined(separator: ".")
    }
}

/// `section-msgtext / "MIME"`
public enum SectionText: Hashable, Sendable, CustomStringConvertible {
    case header
    /// Field names as the client sent them; the response echoes them (RFC 9051 §7.5.2).
    case headerFields([String])
    case headerFieldsNot([String])
    case text
    case mime

    public var description: String {
        switch self {
        case .header: return "HEADER"
        case .headerFields(let f): return "HEADER.FIELDS (\(f.joined(separator: " ")))"
        case .headerFieldsNot(let f): return "HEADER.FIELDS.NOT (\(f.joined(separator: " ")))"
        case .text: return "TEXT"
        case .mime: return "MIME"
        }
    }
}

/// FETCH modifiers (RFC 4466): `CHANGEDSINCE` (CONDSTORE) and `VANISHED` (QRESYNC).
public struct FetchModifiers: Hashable, Sendable {
    public var changedSince: UInt64?
    public var vanished: Bool = false
    public init(changedSince: UInt64? = nil, vanished: Bool = false) {
        self.changedSince = changedSince
        self.vanished = vanished
    }
}

/// `STORE` modifiers: `UNCHANGEDSINCE` (CONDSTORE).
public struct StoreModifiers: Hashable, Sendable {
    public var unchangedSince: UInt64?
    public init(unchangedSince: UInt64? = nil) { self.unchangedSince = unchangedSince }
}

/// `store-att-flags = (["+" / "-"] "FLAGS" [".SILENT"]) SP (flag-list / (flag *(SP flag)))`
public struct StoreAction: Hashable, Sendable {
    public enum Operation: Hashable, Sendable {
        case replace  // FLAGS
        case add  // +FLAGS
        case remove  // -FLAGS
    }
    public var operation: Operation
    public var silent: Bool
    public var flags: [Flag]
    public init(operation: Operation, silent: Bool, flags: [Flag]) {
        self.operation = operation
        self.silent = silent
        self.flags = flags
    }
}
