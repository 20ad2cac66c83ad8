import NIOCore

/// Status responses (RFC 9051 §7.1) and their response codes (`resp-text-code`),
/// plus the command continuation request (§7.6).
///
/// `resp-cond-state = ("OK" / "NO" / "BAD") SP resp-text`,
/// `resp-text = ["[" resp-text-code "]" SP] [text]`. The space after the status is
/// always written, so an empty text gives `tag OK ` (valid IMAP4rev2; every status we
/// send carries text anyway).
extension ResponseEncoder {

    /// `tag SP resp-cond-state CRLF` and friends.
    func writeTaggedStatus(
        tag: String, status: ResponseStatus, code: ResponseCode?, text: String, into buffer: inout ByteBuffer
    ) {
        // The tag was validated by the parser; CR/LF are still neutralised so that no
        // input can ever split our response line. No tag at all (nothing readable came
        // in) answers untagged rather than with a line starting with a space.
        if tag.isEmpty {
            buffer.writeInteger(EncoderByte.asterisk)
        } else {
            writeText(tag, into: &buffer)
        }
        writeSpace(into: &buffer)
        writeStatusBody(status, code: code, text: text, into: &buffer)
    }

    /// `* OK [code] text CRLF` (also NO, BAD, PREAUTH, BYE).
    func writeUntaggedStatus(_ status: ResponseStatus, code: ResponseCode?, text: String, into buffer: inout ByteBuffer)
    {
        buffer.writeStaticString("* ")
        writeStatusBody(status, code: code, text: text, into: &buffer)
    }

    /// `continue-req = "+" SP (resp-text / base64) CRLF`. Dovecot sends `+ ` before a
    /// SASL exchange and `+ OK` for literals; the session passes the text it wants.
    func writeContinuation(_ text: String, into buffer: inout ByteBuffer) {
        buffer.writeStaticString("+ ")
        writeText(text, into: &buffer)
        writeCRLF(into: &buffer)
    }

    private func writeStatusBody(
        _ status: ResponseStatus, code: ResponseCode?, text: String, into buffer: inout ByteBuffer
    ) {
        writeStatusName(status, into: &buffer)
        writeSpace(into: &buffer)
        if let code {
            let mark = buffer.writerIndex
            buffer.writeInteger(EncoderByte.openBracket)
            if writeResponseCode(code, into: &buffer) {
                buffer.writeInteger(EncoderByte.closeBracket)
                writeSpace(into: &buffer)
            } else {
                // A code with nothing valid to say (an empty set, an invalid atom) is
                // left out rather than sent malformed.
                buffer.moveWriterIndex(to: mark)
            }
        }
        writeText(text, into: &buffer)
        writeCRLF(into: &buffer)
    }

    private func writeStatusName(_ status: ResponseStatus, into buffer: inout ByteBuffer) {
        switch status {
        case .ok: buffer.writeStaticString("OK")
        case .no: buffer.writeStaticString("NO")
        case .bad: buffer.writeStaticString("BAD")
        case .preauth: buffer.writeStaticString("PREAUTH")
        case .bye: buffer.writeStaticString("BYE")
        }
    }

    /// The code between the brackets. Returns false when the code cannot be written
    /// validly (the caller then drops it).
    func writeResponseCode(_ code: ResponseCode, into buffer: inout ByteBuffer) -> Bool {
        switch code {
        // RFC 4315 UIDPLUS / RFC 9051: `"APPENDUID" SP nz-number SP append-uid`
        case .appendUID(let validity, let uids):
            guard !uids.isEmpty else { return false }
            buffer.writeStaticString("APPENDUID ")
            writeNumber(validity.rawValue, into: &buffer)
            writeSpace(into: &buffer)
            writeSequenceSet(uids, into: &buffer)
        // `"COPYUID" SP nz-number SP uid-set SP uid-set`
        case .copyUID(let validity, let source, let destination):
            guard !source.isEmpty, !destination.isEmpty else { return false }
            buffer.writeStaticString("COPYUID ")
            writeNumber(validity.rawValue, into: &buffer)
            writeSpace(into: &buffer)
            writeSequenceSet(source, into: &buffer)
            writeSpace(into: &buffer)
            writeSequenceSet(destination, into: &buffer)
        // `"BADCHARSET" [SP "(" charset *(SP charset) ")" ]`, `charset = atom / quoted`
        case .badCharset(let charsets):
            buffer.writeStaticString("BADCHARSET")
            writeCharsetList(charsets, into: &buffer)
        // `capability-data`
        case .capability(let capabilities):
            buffer.writeStaticString("CAPABILITY")
            writeAtoms(capabilities, into: &buffer)
        // `"PERMANENTFLAGS" SP "(" [flag-perm *(SP flag-perm)] ")"`
        case .permanentFlags(let flags):
            buffer.writeStaticString("PERMANENTFLAGS (")
            var first = true
            for flag in flags {
                let mark = buffer.writerIndex
                if !first { writeSpace(into: &buffer) }
                let written: Bool
                switch flag {
                case .flag(let f): written = writeFlag(f, into: &buffer)
                case .wildcard:
                    buffer.writeStaticString("\\*")
                    written = true
                }
                if written { first = false } else { buffer.moveWriterIndex(to: mark) }
            }
            buffer.writeInteger(EncoderByte.closeParen)
        case .uidNext(let uid):
            buffer.writeStaticString("UIDNEXT ")
            writeNumber(uid.rawValue, into: &buffer)
        case .uidValidity(let validity):
            buffer.writeStaticString("UIDVALIDITY ")
            writeNumber(validity.rawValue, into: &buffer)
        // RFC 7162 CONDSTORE
        case .highestModSeq(let modSeq):
            buffer.writeStaticString("HIGHESTMODSEQ ")
            writeNumber(modSeq, into: &buffer)
        case .modified(let set):
            guard !set.isEmpty else { return false }
            buffer.writeStaticString("MODIFIED ")
            writeSequenceSet(set, into: &buffer)
        // RFC 3501 §7.1 (IMAP4rev1 only)
        case .unseen(let number):
            buffer.writeStaticString("UNSEEN ")
            writeNumber(number.rawValue, into: &buffer)
        // `atom [SP 1*<any TEXT-CHAR except "]">]`
        case .other(let name, let text):
            guard writeAtomIfValid(name, into: &buffer) else { return false }
            if let text, !text.isEmpty {
                writeSpace(into: &buffer)
                writeText(text, forCode: true, into: &buffer)
            }
        default:
            writeAtomCode(code, into: &buffer)
        }
        return true
    }

    /// The codes that are a bare atom (RFC 9051 §7.1, RFC 5530, RFC 4315, RFC 7162).
    private func writeAtomCode(_ code: ResponseCode, into buffer: inout ByteBuffer) {
        switch code {
        case .alert: buffer.writeStaticString("ALERT")
        case .alreadyExists: buffer.writeStaticString("ALREADYEXISTS")
        case .authenticationFailed: buffer.writeStaticString("AUTHENTICATIONFAILED")
        case .authorizationFailed: buffer.writeStaticString("AUTHORIZATIONFAILED")
        case .cannot: buffer.writeStaticString("CANNOT")
        case .clientBug: buffer.writeStaticString("CLIENTBUG")
        case .closed: buffer.writeStaticString("CLOSED")
        case .contactAdmin: buffer.writeStaticString("CONTACTADMIN")
        case .corruption: buffer.writeStaticString("CORRUPTION")
        case .expired: buffer.writeStaticString("EXPIRED")
        case .expungeIssued: buffer.writeStaticString("EXPUNGEISSUED")
        case .hasChildren: buffer.writeStaticString("HASCHILDREN")
        case .inUse: buffer.writeStaticString("INUSE")
        case .limit: buffer.writeStaticString("LIMIT")
        case .nonexistent: buffer.writeStaticString("NONEXISTENT")
        case .noPerm: buffer.writeStaticString("NOPERM")
        case .overQuota: buffer.writeStaticString("OVERQUOTA")
        case .parse: buffer.writeStaticString("PARSE")
        case .privacyRequired: buffer.writeStaticString("PRIVACYREQUIRED")
        case .readOnly: buffer.writeStaticString("READ-ONLY")
        case .readWrite: buffer.writeStaticString("READ-WRITE")
        case .serverBug: buffer.writeStaticString("SERVERBUG")
        case .tryCreate: buffer.writeStaticString("TRYCREATE")
        case .uidNotSticky: buffer.writeStaticString("UIDNOTSTICKY")
        case .unavailable: buffer.writeStaticString("UNAVAILABLE")
        case .unknownCTE: buffer.writeStaticString("UNKNOWN-CTE")
        case .noModSeq: buffer.writeStaticString("NOMODSEQ")
        case .appendUID, .copyUID, .badCharset, .capability, .permanentFlags, .uidNext, .uidValidity,
            .highestModSeq, .modified, .unseen, .other:
            // Codes with arguments are written by `writeResponseCode`.
            break
        }
    }

    /// ` (a b)` for BADCHARSET; nothing when empty. Each charset is an atom if it can be,
    /// else quoted; one that can be neither (CR, LF, …) is left out.
    private func writeCharsetList(_ charsets: [String], into buffer: inout ByteBuffer) {
        guard !charsets.isEmpty else { return }
        let start = buffer.writerIndex
        buffer.writeStaticString(" (")
        var first = true
        for charset in charsets {
            encoderWithUTF8(charset) { bytes in
                if isAtom(bytes) {
                    if !first { writeSpace(into: &buffer) }
                    buffer.writeBytes(bytes)
                    first = false
                    return
                }
                var escapes = 0
                for b in bytes {
                    let c = EncoderCharacterClass.of(b)
                    if c & (EncoderCharacterClass.unquotable | EncoderCharacterClass.eightBit) != 0 { return }
                    if c & EncoderCharacterClass.quotedSpecial != 0 { escapes += 1 }
                }
                if !first { writeSpace(into: &buffer) }
                writeQuoted(bytes, escapes: escapes, into: &buffer)
                first = false
            }
        }
        if first {
            // None could be written: `BADCHARSET` alone is valid.
            buffer.moveWriterIndex(to: start)
        } else {
            buffer.writeInteger(EncoderByte.closeParen)
        }
    }

    /// ` a b c` for capability names and ENABLED; invalid atoms are left out.
    func writeAtoms(_ atoms: [String], into buffer: inout ByteBuffer) {
        for atom in atoms {
            let mark = buffer.writerIndex
            writeSpace(into: &buffer)
            if !writeAtomIfValid(atom, into: &buffer) {
                buffer.moveWriterIndex(to: mark)
            }
        }
    }
}
