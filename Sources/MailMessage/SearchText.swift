import IMAPProtocol

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Decoded text for SEARCH (RFC 9051 §6.4.4): header values with RFC 2047 words
/// decoded, text bodies with their transfer encoding undone and their charset
/// converted, all to Swift strings.
extension MessageTree {
    /// Header fields of the top-level message with this name (case-insensitive),
    /// unfolded, RFC 2047 decoded to UTF-8 (charsets: UTF-8, US-ASCII, ISO-8859-1..16
    /// where feasible, Windows-1252 at least; unknown → bytes as Latin-1).
    public func decodedHeaderValues(_ name: String, _ raw: UnsafeRawBufferPointer) -> [String] {
        let view = ByteView(raw)
        return fields(of: root, view).filter { ASCII.equalsIgnoringCase(view.name(of: $0), name) }.map {
            RFC2047.decode(view.unfoldedValue(of: $0))
        }
    }

    /// Address fields (`From`, `To`, `Cc`, `Bcc`) of the top-level message for SEARCH
    /// FROM/TO/CC/BCC (RFC 9051 §6.4.4 matches "the envelope structure's FROM field"):
    /// for each field, its decoded value as written, then its addresses as ENVELOPE
    /// parses them (`AddressParser`), written out as Dovecot's search does
    /// (`Name <local@domain>`, `local@domain`, groups as `group: …;`, names RFC 2047
    /// decoded). The second form is what finds `user@domain` in
    /// `<user (comment)@ (comment) domain>`; the first keeps every match the text as
    /// written gives.
    public func decodedAddressValues(_ name: String, _ raw: UnsafeRawBufferPointer) -> [String] {
        let view = ByteView(raw)
        return fields(of: root, view).filter { ASCII.equalsIgnoringCase(view.name(of: $0), name) }.flatMap {
            [
                RFC2047.decode(view.unfoldedValue(of: $0)),
                Self.addressText(AddressParser.parse(view.foldedValue(of: $0))),
            ]
        }
    }

    /// The addresses of one field in the form Dovecot's SEARCH matches against
    /// (`message_address_write`), without the parser's placeholders for missing parts.
    static func addressText(_ addresses: [RawAddress]) -> String {
        var text = ""
        var afterGroupStart = false
        for (index, address) in addresses.enumerated() {
            let isGroupEnd = address.mailbox == nil && address.domain == nil && address.name == nil
            let isGroupStart = !isGroupEnd && address.domain == nil && address.name == nil
            if index > 0 && !afterGroupStart && !isGroupEnd { text += ", " }
            afterGroupStart = false
            if isGroupEnd {
                text += ";"
                continue
            }
            if isGroupStart {
                text += RFC2047.decode(address.mailbox ?? []) + ": "
                afterGroupStart = true
                continue
            }
            var spec = ""
            if let mailbox = address.mailbox, mailbox != AddressParser.missingMailbox {
                spec += Charset.decodeUnknown(mailbox)
            }
            if let domain = address.domain, domain != AddressParser.missingDomain,
                domain != AddressParser.syntaxError
            {
                spec += "@" + Charset.decodeUnknown(domain)
            }
            if let route = address.route, route != AddressParser.invalidRoute {
                spec = Charset.decodeUnknown(route) + ":" + spec
            }
            if let name = address.name {
                text += RFC2047.decode(EnvelopeText.forHumans(name)) + " <" + spec + ">"
            } else {
                text += address.route == nil ? spec : "<" + spec + ">"
            }
        }
        return text
    }

    /// Every header field of the message and of each MIME part inside it (attached
    /// messages included) as (name, decoded value), for SEARCH TEXT. Dovecot's TEXT
    /// matches part headers too (`TEXT "application/pdf"` finds an attachment's
    /// Content-Type), but not boundary lines nor non-text bodies. RFC 2231 parameters
    /// are matched as written (`filename*0*=utf-8''r%C3%A9sum`), not decoded, as Dovecot
    /// matches them.
    public func decodedHeaders(_ raw: UnsafeRawBufferPointer) -> [(String, String)] {
        let view = ByteView(raw)
        return parts.flatMap { part in
            fields(of: part, view).map {
                (Charset.decodeUnknown(Array(view.name(of: $0))), RFC2047.decode(view.unfoldedValue(of: $0)))
            }
        }
    }

    /// Decoded text of every text/* leaf (base64 / quoted-printable undone, charset
    /// converted to UTF-8), for SEARCH BODY/TEXT. Parts of attached messages included.
    /// A container the parser did not open (`MessageLimits`: nested deeper than
    /// `maxDepth`, or past `maxParts`) is searched as it is written: FETCH returns its
    /// content as that part's body, so SEARCH finds what FETCH can show.
    public func decodedBodyTexts(_ raw: UnsafeRawBufferPointer) -> [String] {
        let view = ByteView(raw)
        var texts: [String] = []
        for part in parts {
            let body = view.slice(part.bodyStart.offset, part.end.offset)
            if part.kind == .text {
                let info = PartHeaderInfo(part, fields: fields(of: part, view), view)
                texts.append(Charset.decode(TransferEncoding(info.encoding).decode(body), charset: info.charset))
            } else if part.overflow {
                texts.append(Charset.decodeUnknown(Array(body)))
            }
        }
        return texts
    }

    /// File names of the parts (Content-Disposition `filename`, else Content-Type
    /// `name`), RFC 2231 and RFC 2047 decoded.
    public func attachmentNames(_ raw: UnsafeRawBufferPointer) -> [String] {
        let view = ByteView(raw)
        var names: [String] = []
        for part in parts {
            let info = PartHeaderInfo(part, fields: fields(of: part, view), view)
            let candidates =
                (info.disposition?.parameters.filter { ASCII.equalsIgnoringCase($0.baseName, "filename") } ?? [])
                + (info.contentType?.parameters.filter { ASCII.equalsIgnoringCase($0.baseName, "name") } ?? [])
            if let first = candidates.first { names.append(first.decodedValue) }
        }
        return names
    }

    /// The Date: header parsed (RFC 5322 §3.3, obsolete forms tolerated): the
    /// date as written in the header's own zone (what SENTON compares) and the
    /// instant in seconds since the epoch. nil when absent or unparsable.
    public func sentDate(_ raw: UnsafeRawBufferPointer) -> (date: IMAPDate, seconds: Int64)? {
        let view = ByteView(raw)
        guard let field = fields(of: root, view).first(where: { ASCII.equalsIgnoringCase(view.name(of: $0), "Date") })
        else { return nil }
        return RFC5322Date.parse(view.unfoldedValue(of: field))
    }
}

/// Case-insensitive substring match as SEARCH needs it (RFC 9051 §6.4.4): Unicode
/// case folding on both sides ("MÜNCHEN" matches "München"); no other normalisation
/// required.
public func searchMatches(_ haystack: String, _ needle: String) -> Bool {
    let n = Array(needle.lowercased().utf8)
    if n.isEmpty { return true }
    let h = Array(haystack.lowercased().utf8)
    guard h.count >= n.count else { return false }
    return h.withUnsafeBytes { hb in
        n.withUnsafeBytes { nb in
            guard let hp = hb.baseAddress, let np = nb.baseAddress else { return false }
            // memchr for the first byte, memcmp for the rest (memmem is not in Glibc's module).
            let first = Int32(nb[0])
            let lastStart = hb.count - nb.count
            var i = 0
            while i <= lastStart {
                guard let hit = memchr(hp + i, first, lastStart - i + 1) else { return false }
                let at = hp.distance(to: UnsafeRawPointer(hit))
                if memcmp(hp + at, np, nb.count) == 0 { return true }
                i = at + 1
            }
            return false
        }
    }
}
