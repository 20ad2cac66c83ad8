import NIOCore

/// LIST / LSUB (RFC 9051 §7.3.1, RFC 5258 LIST-EXTENDED), NAMESPACE (§7.3.2, RFC 2342)
/// and STATUS (§7.3.3). Mailbox names follow `astring` (Dovecot's
/// `imap_append_astring`): `INBOX`, `Sent` as atoms, `"Sent Items"` quoted, literals
/// only for what cannot be quoted.
extension ResponseEncoder {

    /// `mailbox-list = "(" [mbx-list-flags] ")" SP (DQUOTE QUOTED-CHAR DQUOTE / nil) SP
    /// mailbox [SP mbox-list-extended]` (everything after `* LIST `).
    func writeMailboxList(_ entry: MailboxListEntry, into buffer: inout ByteBuffer) {
        buffer.writeInteger(EncoderByte.openParen)
        var first = true
        for attribute in entry.attributes {
            let mark = buffer.writerIndex
            if !first { writeSpace(into: &buffer) }
            if writeAtomIfValid(attribute.rawValue, allowBackslash: true, into: &buffer) {
                first = false
            } else {
                buffer.moveWriterIndex(to: mark)
            }
        }
        buffer.writeStaticString(") ")
        writeDelimiter(entry.delimiter, into: &buffer)
        writeSpace(into: &buffer)
        writeAString(entry.name.rawValue, into: &buffer)

        // `mbox-list-extended = "(" [mbox-list-extended-item *(SP mbox-list-extended-item)] ")"`,
        // `mbox-list-extended-item = mbox-list-extended-item-tag SP tagged-ext-val`.
        guard entry.childInfoSubscribed || entry.oldName != nil else { return }
        buffer.writeStaticString(" (")
        if entry.childInfoSubscribed {
            // RFC 5258 §4: `("CHILDINFO" ("SUBSCRIBED"))`
            buffer.writeStaticString("\"CHILDINFO\" (\"SUBSCRIBED\")")
        }
        if let oldName = entry.oldName {
            // RFC 9051 OLDNAME extended item (after RENAME): `"OLDNAME" SP "(" mailbox ")"`
            if entry.childInfoSubscribed { writeSpace(into: &buffer) }
            buffer.writeStaticString("\"OLDNAME\" (")
            writeAString(oldName.rawValue, into: &buffer)
            buffer.writeInteger(EncoderByte.closeParen)
        }
        buffer.writeInteger(EncoderByte.closeParen)
    }

    /// `namespace-response = "NAMESPACE" SP namespace SP namespace SP namespace`,
    /// `namespace = nil / "(" 1*namespace-descr ")"`,
    /// `namespace-descr = "(" string SP (DQUOTE QUOTED-CHAR DQUOTE / nil) ")"` — no space
    /// between descriptors: `(("" "/")("Shared/" "/"))`.
    func writeNamespaces(_ response: NamespaceResponse, into buffer: inout ByteBuffer) {
        writeNamespaceList(response.personal, into: &buffer)
        writeSpace(into: &buffer)
        writeNamespaceList(response.otherUsers, into: &buffer)
        writeSpace(into: &buffer)
        writeNamespaceList(response.shared, into: &buffer)
    }

    private func writeNamespaceList(_ list: [NamespaceResponse.Namespace], into buffer: inout ByteBuffer) {
        guard !list.isEmpty else {
            buffer.writeStaticString("NIL")
            return
        }
        buffer.writeInteger(EncoderByte.openParen)
        for namespace in list {
            buffer.writeInteger(EncoderByte.openParen)
            writeString(namespace.prefix, into: &buffer)
            writeSpace(into: &buffer)
            writeDelimiter(namespace.delimiter, into: &buffer)
            buffer.writeInteger(EncoderByte.closeParen)
        }
        buffer.writeInteger(EncoderByte.closeParen)
    }

    /// `"STATUS" SP mailbox SP "(" [status-att-list] ")"`,
    /// `status-att-list = status-att-val *(SP status-att-val)`, in the order given.
    func writeStatusData(
        mailbox: MailboxName, _ attributes: [(StatusAttribute, UInt64)], into buffer: inout ByteBuffer
    ) {
        writeAString(mailbox.rawValue, into: &buffer)
        buffer.writeStaticString(" (")
        for (index, (attribute, value)) in attributes.enumerated() {
            if index > 0 { writeSpace(into: &buffer) }
            writeStatusAttributeName(attribute, into: &buffer)
            writeSpace(into: &buffer)
            writeNumber(value, into: &buffer)
        }
        buffer.writeInteger(EncoderByte.closeParen)
    }

    private func writeStatusAttributeName(_ attribute: StatusAttribute, into buffer: inout ByteBuffer) {
        switch attribute {
        case .messages: buffer.writeStaticString("MESSAGES")
        case .uidNext: buffer.writeStaticString("UIDNEXT")
        case .uidValidity: buffer.writeStaticString("UIDVALIDITY")
        case .unseen: buffer.writeStaticString("UNSEEN")
        case .deleted: buffer.writeStaticString("DELETED")
        case .size: buffer.writeStaticString("SIZE")
        case .recent: buffer.writeStaticString("RECENT")
        case .highestModSeq: buffer.writeStaticString("HIGHESTMODSEQ")
        case .appendLimit: buffer.writeStaticString("APPENDLIMIT")
        case .deletedStorage: buffer.writeStaticString("DELETED-STORAGE")
        }
    }
}
