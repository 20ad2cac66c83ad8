/// A mailbox attribute of a LIST or LSUB response (`mbx-list-flags`, RFC 9051 §7.3.1),
/// with its backslash: the base attributes, the child-info ones (RFC 5258 §3.4) and
/// the special-use ones (RFC 6154 §2). The wire spelling lives here and nowhere else.
public struct MailboxAttribute: RawRepresentable, Hashable, Sendable {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }

    // RFC 9051 §7.3.1
    public static let noinferiors = MailboxAttribute(rawValue: "\\Noinferiors")
    public static let noselect = MailboxAttribute(rawValue: "\\Noselect")
    public static let marked = MailboxAttribute(rawValue: "\\Marked")
    public static let unmarked = MailboxAttribute(rawValue: "\\Unmarked")
    public static let nonExistent = MailboxAttribute(rawValue: "\\NonExistent")
    public static let subscribed = MailboxAttribute(rawValue: "\\Subscribed")
    public static let remote = MailboxAttribute(rawValue: "\\Remote")
    public static let hasChildren = MailboxAttribute(rawValue: "\\HasChildren")
    public static let hasNoChildren = MailboxAttribute(rawValue: "\\HasNoChildren")

    // RFC 6154 §2 (also RFC 9051 §7.3.1)
    public static let all = MailboxAttribute(rawValue: "\\All")
    public static let archive = MailboxAttribute(rawValue: "\\Archive")
    public static let drafts = MailboxAttribute(rawValue: "\\Drafts")
    public static let flagged = MailboxAttribute(rawValue: "\\Flagged")
    public static let junk = MailboxAttribute(rawValue: "\\Junk")
    public static let sent = MailboxAttribute(rawValue: "\\Sent")
    public static let trash = MailboxAttribute(rawValue: "\\Trash")

    /// Every special-use attribute, in RFC 6154's order.
    public static let specialUse: [MailboxAttribute] = [.all, .archive, .drafts, .flagged, .junk, .sent, .trash]

    /// The special-use attribute spelled `text` in any case (`\sent` → `\Sent`), or nil.
    public init?(specialUse text: String) {
        guard let known = Self.specialUse.first(where: { $0.rawValue.lowercased() == text.lowercased() })
        else { return nil }
        self = known
    }

    /// The child-info attribute for a mailbox that has or has not children.
    public static func children(_ has: Bool) -> MailboxAttribute { has ? .hasChildren : .hasNoChildren }
}
