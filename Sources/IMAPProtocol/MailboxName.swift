/// RFC 9051 §5.1 mailbox name as it travels on the wire: UTF-8 when the client enabled
/// IMAP4rev2 or UTF8=ACCEPT, modified UTF-7 (§5.1.3) otherwise. The codec does not
/// convert; the server interprets the bytes according to the session's state.
public struct MailboxName: Hashable, Sendable, CustomStringConvertible {
    /// The astring exactly as received (or to be sent), decoded as UTF-8.
    public var rawValue: String
    public init(_ rawValue: String) { self.rawValue = rawValue }

    /// `INBOX` is case-insensitive (RFC 9051 §5.1).
    public var isInbox: Bool { rawValue.uppercased() == "INBOX" }
    public var description: String { rawValue }
    public static let inbox = MailboxName("INBOX")
}
