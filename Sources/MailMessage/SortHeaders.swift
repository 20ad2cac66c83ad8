import IMAPProtocol

/// What SORT and THREAD (RFC 5256, RFC 5957) read of a message's header, in one pass
/// over the top-level fields. Where a field appears more than once, the first one
/// counts, as in Dovecot's sort and thread code (`mail_get_first_header`).
public struct SortHeaders: Sendable, Hashable {
    /// Subject, unfolded, RFC 2047 words decoded to UTF-8.
    public var subject: String?
    /// The first address of From, To and Cc.
    public var from: SortAddress?
    public var to: SortAddress?
    public var cc: SortAddress?
    /// The Date: field's instant (seconds since the epoch); nil when absent or
    /// unparsable.
    public var sentDate: Int64?
    /// Message-ID, In-Reply-To and References as written (unfolded); the thread code
    /// picks the message identifiers out of them.
    public var messageID: [UInt8]?
    public var inReplyTo: [UInt8]?
    public var references: [UInt8]?

    public init() {}
}

/// The first address of an address field, as SORT compares it.
public struct SortAddress: Sendable, Hashable {
    /// RFC 5256 §3 FROM/TO/CC: the `addr-mailbox` (local part) of the address, as
    /// written; "" when missing.
    public var mailbox: String
    /// RFC 5957 §3 DISPLAYFROM/DISPLAYTO: the display name, RFC 2047 decoded; when it is
    /// empty or missing, `mailbox@host` (Dovecot's `get_display_name`); a group's name for a group.
    public var displayName: String

    public init(mailbox: String, displayName: String) {
        self.mailbox = mailbox
        self.displayName = displayName
    }
}

extension MessageTree {
    /// The fields SORT and THREAD use, of the top-level message.
    public func sortHeaders(_ raw: UnsafeRawBufferPointer) -> SortHeaders {
        let view = ByteView(raw)
        var headers = SortHeaders()
        for field in fields(of: root, view) {
            let name = view.name(of: field)
            if ASCII.equalsIgnoringCase(name, "Subject") {
                if headers.subject == nil { headers.subject = RFC2047.decode(view.unfoldedValue(of: field)) }
            } else if ASCII.equalsIgnoringCase(name, "From") {
                if headers.from == nil { headers.from = Self.firstAddress(view.foldedValue(of: field)) }
            } else if ASCII.equalsIgnoringCase(name, "To") {
                if headers.to == nil { headers.to = Self.firstAddress(view.foldedValue(of: field)) }
            } else if ASCII.equalsIgnoringCase(name, "Cc") {
                if headers.cc == nil { headers.cc = Self.firstAddress(view.foldedValue(of: field)) }
            } else if ASCII.equalsIgnoringCase(name, "Date") {
                if headers.sentDate == nil {
                    headers.sentDate = RFC5322Date.parse(view.unfoldedValue(of: field))?.seconds
                }
            } else if ASCII.equalsIgnoringCase(name, "Message-ID") {
                if headers.messageID == nil { headers.messageID = view.unfoldedValue(of: field) }
            } else if ASCII.equalsIgnoringCase(name, "In-Reply-To") {
                if headers.inReplyTo == nil { headers.inReplyTo = view.unfoldedValue(of: field) }
            } else if ASCII.equalsIgnoringCase(name, "References") {
                if headers.references == nil { headers.references = view.unfoldedValue(of: field) }
            }
        }
        return headers
    }

    static func firstAddress(_ value: [UInt8]) -> SortAddress? {
        guard let first = AddressParser.parse(value).first else { return nil }
        func known(_ part: [UInt8]?, placeholder: [UInt8]) -> [UInt8]? {
            guard let part, part != placeholder, part != AddressParser.syntaxError else { return nil }
            return part
        }
        let mailbox = known(first.mailbox, placeholder: AddressParser.missingMailbox)
        var display = ""
        if let name = first.name, !EnvelopeText.forHumans(name).isEmpty {
            display = RFC2047.decode(EnvelopeText.forHumans(name))
        } else if let mailbox = first.mailbox, let domain = first.domain {
            display = Charset.decodeUnknown(mailbox) + "@" + Charset.decodeUnknown(domain)
        } else if let group = first.mailbox {
            // A group's start (`name:`): its name, as Dovecot sorts it (imaptest's
            // sort-display-to group).
            display = RFC2047.decode(group)
        }
        return SortAddress(mailbox: mailbox.map(Charset.decodeUnknown) ?? "", displayName: display)
    }
}
