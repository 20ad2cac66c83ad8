import IMAPProtocol

/// ENVELOPE (RFC 9051 §7.5.2) built from a header block.
///
/// Values are the raw header bytes with the folding removed (CRLF+WSP → WSP, RFC
/// 5322 §2.2.3); RFC 2047 encoded words are left encoded. As in Dovecot: a field
/// appearing twice takes its last value; Sender and Reply-To fall back to From when
/// absent or empty; Subject and display names are cleaned "for humans" (runs of white
/// space become one space, leading and trailing space dropped); a NUL ends a value.
extension MessageTree {
    /// ENVELOPE of the top-level message (RFC 9051 §7.5.2; RFC 2047 words left encoded;
    /// address groups as the RFC says; nil fields → NIL).
    public func envelope(_ raw: UnsafeRawBufferPointer) -> Envelope {
        envelope(of: root, ByteView(raw))
    }

    func envelope(of part: PartNode, _ view: ByteView) -> Envelope {
        var envelope = Envelope()
        var sender: [Address] = []
        var replyTo: [Address] = []
        for field in fields(of: part, view) {
            let name = view.name(of: field)
            guard let kind = EnvelopeField(name) else { continue }
            switch kind {
            case .date: envelope.date = EnvelopeText.plain(view.unfoldedValue(of: field))
            case .subject: envelope.subject = EnvelopeText.forHumans(view.unfoldedValue(of: field))
            case .inReplyTo: envelope.inReplyTo = EnvelopeText.plain(view.unfoldedValue(of: field))
            case .messageID: envelope.messageID = EnvelopeText.plain(view.unfoldedValue(of: field))
            case .from: envelope.from = Self.addresses(view.foldedValue(of: field))
            case .sender: sender = Self.addresses(view.foldedValue(of: field))
            case .replyTo: replyTo = Self.addresses(view.foldedValue(of: field))
            case .to: envelope.to = Self.addresses(view.foldedValue(of: field))
            case .cc: envelope.cc = Self.addresses(view.foldedValue(of: field))
            case .bcc: envelope.bcc = Self.addresses(view.foldedValue(of: field))
            }
        }
        envelope.sender = sender.isEmpty ? envelope.from : sender
        envelope.replyTo = replyTo.isEmpty ? envelope.from : replyTo
        return envelope
    }

    static func addresses(_ value: [UInt8]) -> [Address] {
        AddressParser.parse(value).map { raw in
            Address(
                name: raw.name.map(EnvelopeText.forHumans), adl: raw.route.map(EnvelopeText.plain),
                mailbox: raw.mailbox.map(EnvelopeText.plain), host: raw.domain.map(EnvelopeText.plain))
        }
    }
}

/// The header fields ENVELOPE reads.
enum EnvelopeField {
    case date, subject, from, sender, replyTo, to, cc, bcc, inReplyTo, messageID

    private static let table: [(String, EnvelopeField)] = [
        ("Date", .date), ("Subject", .subject), ("From", .from), ("Sender", .sender),
        ("Reply-To", .replyTo), ("To", .to), ("Cc", .cc), ("Bcc", .bcc),
        ("In-Reply-To", .inReplyTo), ("Message-ID", .messageID),
    ]

    init?(_ name: UnsafeRawBufferPointer) {
        guard name.count >= 2, name.count <= 11 else { return nil }
        for (n, f) in Self.table where ASCII.equalsIgnoringCase(name, n) {
            self = f
            return
        }
        return nil
    }
}

/// String cleaning for ENVELOPE and BODYSTRUCTURE values.
enum EnvelopeText {
    /// U+FFFD in UTF-8, which Dovecot 2.3 puts in place of a NUL.
    static let replacementCharacter: [UInt8] = [0xEF, 0xBF, 0xBD]

    /// A NUL becomes U+FFFD, as Dovecot 2.3 answers (recorded in the golden tests,
    /// Tests/IMAPServerTests/Golden): a string may not carry NUL (RFC 9051 §4.3).
    static func plain(_ bytes: [UInt8]) -> [UInt8] {
        guard bytes.contains(ASCII.nul) else { return bytes }
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count + 2)
        for b in bytes {
            if b == ASCII.nul { out += replacementCharacter } else { out.append(b) }
        }
        return out
    }

    /// Dovecot's `imap_append_string_for_humans`: every run of SP, HTAB, CR, LF
    /// becomes one space; leading and trailing white space is dropped.
    static func forHumans(_ bytes: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var pendingSpace = false
        for b in plain(bytes) {
            if ASCII.isLWSPOrNewline(b) {
                pendingSpace = !out.isEmpty
            } else {
                if pendingSpace { out.append(ASCII.space) }
                pendingSpace = false
                out.append(b)
            }
        }
        return out
    }
}
