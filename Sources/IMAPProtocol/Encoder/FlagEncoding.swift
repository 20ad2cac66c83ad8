import NIOCore

/// Flags on the wire (RFC 9051 §2.3.2, §9 `flag`, `flag-list`): the system flags as
/// constants, keywords as atoms, `flag-extension = "\" atom`.
///
/// A keyword that is not a valid atom (it could only come from a hand-edited
/// `dovecot-keywords` file) is left out of the list: the grammar has no quoted form for
/// flags, and one bad token would make the client drop the whole response. This is on
/// the FETCH FLAGS hot path, so nothing here allocates.
extension ResponseEncoder {

    /// Writes one flag; returns false (writing nothing) when it is not a valid atom.
    @discardableResult
    func writeFlag(_ flag: Flag, into buffer: inout ByteBuffer) -> Bool {
        switch flag {
        case .answered: buffer.writeStaticString("\\Answered")
        case .flagged: buffer.writeStaticString("\\Flagged")
        case .deleted: buffer.writeStaticString("\\Deleted")
        case .seen: buffer.writeStaticString("\\Seen")
        case .draft: buffer.writeStaticString("\\Draft")
        case .extension(let name):
            return encoderWithUTF8(name) { bytes in
                guard isAtom(bytes) else { return false }
                buffer.writeInteger(EncoderByte.backslash)
                buffer.writeBytes(bytes)
                return true
            }
        case .keyword(let name):
            return writeAtomIfValid(name, into: &buffer)
        }
        return true
    }

    /// `flag-list = "(" [flag *(SP flag)] ")"`.
    func writeFlagList(_ flags: [Flag], into buffer: inout ByteBuffer) {
        buffer.writeInteger(EncoderByte.openParen)
        var first = true
        for flag in flags {
            let mark = buffer.writerIndex
            if !first { writeSpace(into: &buffer) }
            if writeFlag(flag, into: &buffer) {
                first = false
            } else {
                buffer.moveWriterIndex(to: mark)
            }
        }
        buffer.writeInteger(EncoderByte.closeParen)
    }
}
