/// RFC 9051 §2.3.2 message flags: system flags (`\Seen` …) and keywords (atoms).
public enum Flag: Hashable, Sendable, CustomStringConvertible {
    case answered  // \Answered
    case flagged  // \Flagged
    case deleted  // \Deleted
    case seen  // \Seen
    case draft  // \Draft
    /// Any other `\`-flag (`flag-extension`), e.g. `\Recent` from an IMAP4rev1 client,
    /// stored without the backslash, as sent.
    case `extension`(String)
    /// A keyword (`flag-keyword = "$MDNSent" / "$Forwarded" / … / atom`). Keywords are
    /// compared case-insensitively (RFC 9051 §2.3.2); the original spelling is kept.
    case keyword(String)

    /// Parses the wire form (`\Seen`, `$Junk`, `NonJunk`). System flag names are
    /// case-insensitive.
    public init(_ text: String) {
        if text.first == "\\" {
            let name = String(text.dropFirst())
            switch name.lowercased() {
            case "answered": self = .answered
            case "flagged": self = .flagged
            case "deleted": self = .deleted
            case "seen": self = .seen
            case "draft": self = .draft
            default: self = .extension(name)
            }
        } else {
            self = .keyword(text)
        }
    }

    /// The wire form.
    public var description: String {
        switch self {
        case .answered: return "\\Answered"
        case .flagged: return "\\Flagged"
        case .deleted: return "\\Deleted"
        case .seen: return "\\Seen"
        case .draft: return "\\Draft"
        case .extension(let name): return "\\" + name
        case .keyword(let name): return name
        }
    }

    /// The five system flags every Maildir can store, in the order SELECT lists them.
    public static let systemFlags: [Flag] = [.answered, .flagged, .deleted, .seen, .draft]
}
