import NIOCore

/// ENVELOPE (RFC 9051 §7.5.2, §9 `envelope`, `address`), byte for byte as Dovecot
/// writes it (lib-imap imap-envelope.c):
/// - the subject and address display names are cleaned "for humans": runs of SP, TAB,
///   CR and LF become one space, leading and trailing ones go, NUL becomes 0x80; if
///   anything changed, or the text holds `"` or `\`, it is sent as a literal;
/// - every other field is an nstring with CR and LF dropped (header unfolding);
/// - an empty address list is NIL, addresses follow each other without a space.
extension ResponseEncoder {

    /// `envelope = "(" env-date SP env-subject SP env-from SP env-sender SP env-reply-to
    /// SP env-to SP env-cc SP env-bcc SP env-in-reply-to SP env-message-id ")"`
    func writeEnvelope(_ envelope: Envelope, into buffer: inout ByteBuffer) {
        buffer.writeInteger(EncoderByte.openParen)
        writeNString(envelope.date, stripLineBreaks: true, into: &buffer)
        writeSpace(into: &buffer)
        writeHumanNString(envelope.subject, into: &buffer)
        writeSpace(into: &buffer)
        writeAddressList(envelope.from, into: &buffer)
        writeSpace(into: &buffer)
        writeAddressList(envelope.sender, into: &buffer)
        writeSpace(into: &buffer)
        writeAddressList(envelope.replyTo, into: &buffer)
        writeSpace(into: &buffer)
        writeAddressList(envelope.to, into: &buffer)
        writeSpace(into: &buffer)
        writeAddressList(envelope.cc, into: &buffer)
        writeSpace(into: &buffer)
        writeAddressList(envelope.bcc, into: &buffer)
        writeSpace(into: &buffer)
        writeNString(envelope.inReplyTo, stripLineBreaks: true, into: &buffer)
        writeSpace(into: &buffer)
        writeNString(envelope.messageID, stripLineBreaks: true, into: &buffer)
        buffer.writeInteger(EncoderByte.closeParen)
    }

    /// `env-from = "(" 1*address ")" / nil` (and the other address fields).
    private func writeAddressList(_ addresses: [Address], into buffer: inout ByteBuffer) {
        guard !addresses.isEmpty else {
            buffer.writeStaticString("NIL")
            return
        }
        buffer.writeInteger(EncoderByte.openParen)
        for address in addresses {
            // `address = "(" addr-name SP addr-adl SP addr-mailbox SP addr-host ")"`
            buffer.writeInteger(EncoderByte.openParen)
            writeHumanNString(address.name, into: &buffer)
            writeSpace(into: &buffer)
            writeNString(address.adl, stripLineBreaks: true, into: &buffer)
            writeSpace(into: &buffer)
            writeNString(address.mailbox, stripLineBreaks: true, into: &buffer)
            writeSpace(into: &buffer)
            writeNString(address.host, stripLineBreaks: true, into: &buffer)
            buffer.writeInteger(EncoderByte.closeParen)
        }
        buffer.writeInteger(EncoderByte.closeParen)
    }

    /// NIL, or the string cleaned for humans (Dovecot `imap_append_string_for_humans`).
    func writeHumanNString(_ bytes: [UInt8]?, into buffer: inout ByteBuffer) {
        guard let bytes else {
            buffer.writeStaticString("NIL")
            return
        }
        bytes.withUnsafeBufferPointer { writeHumanString($0, into: &buffer) }
    }

    /// Two passes: the first decides whether anything changes and how long the result
    /// is (a literal needs its length up front), the second writes the cleaned bytes.
    /// 8-bit bytes force a literal unless the client enabled UTF-8 and they are valid
    /// UTF-8 (then they may be quoted, RFC 9051 §9 `QUOTED-CHAR`).
    func writeHumanString(_ bytes: UnsafeBufferPointer<UInt8>, into buffer: inout ByteBuffer) {
        var removed = 0
        var lastWasSpace = true
        var onlySpaceSoFar = true
        var modify = false
        var eightBit = false
        for b in bytes {
            switch b {
            case EncoderByte.nul:
                lastWasSpace = false
                modify = true
            case EncoderByte.space, EncoderByte.tab, EncoderByte.cr, EncoderByte.lf:
                if b != EncoderByte.space { modify = true }
                if lastWasSpace {
                    modify = true
                    removed += 1
                }
                lastWasSpace = true
            case EncoderByte.dquote, EncoderByte.backslash:
                modify = true
                lastWasSpace = false
            default:
                if b >= EncoderByte.firstEightBit { eightBit = true }
                lastWasSpace = false
            }
            if !lastWasSpace { onlySpaceSoFar = false }
        }
        let trailingSpace = lastWasSpace && !bytes.isEmpty && !onlySpaceSoFar
        if trailingSpace {
            modify = true
            removed += 1
        }
        if eightBit && !(options.utf8 && encoderIsValidUTF8(bytes)) { modify = true }

        if !modify && bytes.count <= EncoderLimits.maxQuotedLength {
            // Nothing to clean and nothing to escape.
            writeQuoted(bytes, escapes: 0, into: &buffer)
            return
        }
        let length = bytes.count - removed
        guard length > 0 else {
            buffer.writeStaticString("\"\"")
            return
        }
        writeLiteralHeader(length, binary: false, into: &buffer)
        lastWasSpace = true
        for b in bytes {
            switch b {
            case EncoderByte.nul:
                buffer.writeInteger(EncoderByte.nulReplacement)
                lastWasSpace = false
            case EncoderByte.space, EncoderByte.tab, EncoderByte.cr, EncoderByte.lf:
                if !lastWasSpace { buffer.writeInteger(EncoderByte.space) }
                lastWasSpace = true
            default:
                buffer.writeInteger(b)
                lastWasSpace = false
            }
        }
        if trailingSpace {
            // The one space written for the trailing run is not part of the result.
            buffer.moveWriterIndex(to: buffer.writerIndex - 1)
        }
    }
}
