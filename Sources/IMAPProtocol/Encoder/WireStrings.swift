import NIOCore

/// Numbers, atoms, quoted strings and literals (RFC 9051 §4.1–§4.3, §9 `atom`,
/// `astring`, `string`, `nstring`, `literal`, `quoted`).
///
/// Choice of form, as Dovecot makes it (lib-imap imap-quote.c), so that our bytes match
/// its bytes:
/// - an astring is an atom when every byte is an `ASTRING-CHAR` and it is not `NIL`
///   (which would read as nil), else a string;
/// - a string is quoted unless it holds CR, LF or NUL, more than
///   `EncoderLimits.maxQuotedEscapes` quoted-specials, 8-bit bytes (allowed quoted
///   only as valid UTF-8 when the client enabled UTF-8), or more than
///   `EncoderLimits.maxQuotedLength` bytes; then it is a literal `{n}\r\n` + bytes.
///
/// Everything writes straight into the `ByteBuffer`: no intermediate `String`s.
extension ResponseEncoder {

    // MARK: numbers

    /// `number` / `number64`: decimal digits, no sign, no leading zeros.
    @inline(__always)
    func writeNumber(_ value: UInt64, into buffer: inout ByteBuffer) {
        if value < 10 {
            buffer.writeInteger(EncoderByte.zero &+ UInt8(truncatingIfNeeded: value))
            return
        }
        var digits = 1
        var rest = value
        while rest >= 10 {
            rest /= 10
            digits += 1
        }
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: digits) { out in
            var v = value
            var i = digits
            while i > 0 {
                i -= 1
                out[i] = EncoderByte.zero &+ UInt8(truncatingIfNeeded: v % 10)
                v /= 10
            }
            return digits
        }
    }

    @inline(__always)
    func writeNumber(_ value: UInt32, into buffer: inout ByteBuffer) {
        writeNumber(UInt64(value), into: &buffer)
    }

    /// A count the caller holds as `Int`; a negative value (a bug upstream) is sent as 0
    /// rather than producing a `-` the grammar has no place for.
    @inline(__always)
    func writeNumber(_ value: Int, into buffer: inout ByteBuffer) {
        writeNumber(UInt64(clamping: value), into: &buffer)
    }

    /// Exactly `width` digits, zero-padded; larger values are clamped to all nines.
    func writePaddedNumber(_ value: Int, width: Int, into buffer: inout ByteBuffer) {
        var limit = 1
        for _ in 0..<width { limit *= 10 }
        let clamped = min(max(value, 0), limit - 1)
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: width) { out in
            var v = clamped
            var i = width
            while i > 0 {
                i -= 1
                out[i] = EncoderByte.zero &+ UInt8(truncatingIfNeeded: v % 10)
                v /= 10
            }
            return width
        }
    }

    // MARK: atoms

    /// Whether `bytes` is an `atom` (1*ATOM-CHAR).
    func isAtom(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        guard !bytes.isEmpty else { return false }
        for b in bytes where EncoderCharacterClass.of(b) & EncoderCharacterClass.atom == 0 {
            return false
        }
        return true
    }

    /// Whether `bytes` is `"\" atom` or `atom` (a flag, a `mbx-list-flag`).
    func isFlagAtom(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        if let first = bytes.first, first == EncoderByte.backslash {
            return isAtom(UnsafeBufferPointer(rebasing: bytes.dropFirst()))
        }
        return isAtom(bytes)
    }

    /// Writes `value` if it is an atom (optionally `\`-prefixed when `allowBackslash`);
    /// returns false and writes nothing otherwise, so that a list never carries a token
    /// that would break the client's parser. Used for capability names, flags, list
    /// attributes: all come from our configuration or from keyword files, never from a
    /// place where quoting them would be meaningful.
    @discardableResult
    func writeAtomIfValid(_ value: String, allowBackslash: Bool = false, into buffer: inout ByteBuffer) -> Bool {
        encoderWithUTF8(value) { bytes in
            let valid = allowBackslash ? isFlagAtom(bytes) : isAtom(bytes)
            if valid { buffer.writeBytes(bytes) }
            return valid
        }
    }

    // MARK: strings

    /// `astring`: atom when possible (and not `NIL`), else `string`.
    func writeAString(_ value: String, into buffer: inout ByteBuffer) {
        encoderWithUTF8(value) { writeAString($0, into: &buffer) }
    }

    func writeAString(_ bytes: UnsafeBufferPointer<UInt8>, into buffer: inout ByteBuffer) {
        if isAStringAtom(bytes) {
            buffer.writeBytes(bytes)
        } else {
            writeString(bytes, into: &buffer)
        }
    }

    /// 1*ASTRING-CHAR, and not the three letters `NIL` (Dovecot: "don't mix up NIL and
    /// \"NIL\"").
    func isAStringAtom(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        guard !bytes.isEmpty else { return false }
        for b in bytes where EncoderCharacterClass.of(b) & EncoderCharacterClass.astring == 0 {
            return false
        }
        if bytes.count == 3, bytes[0] | EncoderByte.asciiCaseBit == UInt8(ascii: "n"),
            bytes[1] | EncoderByte.asciiCaseBit == UInt8(ascii: "i"),
            bytes[2] | EncoderByte.asciiCaseBit == UInt8(ascii: "l")
        {
            return false
        }
        return true
    }

    /// `string` (quoted or literal) from a Swift string.
    func writeString(_ value: String, into buffer: inout ByteBuffer) {
        encoderWithUTF8(value) { writeString($0, into: &buffer) }
    }

    /// `string` (quoted or literal) from raw bytes.
    func writeString(_ bytes: [UInt8], stripLineBreaks: Bool = false, into buffer: inout ByteBuffer) {
        bytes.withUnsafeBufferPointer { writeString($0, stripLineBreaks: stripLineBreaks, into: &buffer) }
    }

    /// `nstring`: NIL for nil, else `string`.
    func writeNString(_ bytes: [UInt8]?, stripLineBreaks: Bool = false, into buffer: inout ByteBuffer) {
        guard let bytes else {
            buffer.writeStaticString("NIL")
            return
        }
        writeString(bytes, stripLineBreaks: stripLineBreaks, into: &buffer)
    }

    /// `string`. With `stripLineBreaks`, CR and LF bytes are dropped first: header values
    /// (ENVELOPE, BODYSTRUCTURE) are unfolded this way, as Dovecot's
    /// `imap_append_nstring_nolf` does, instead of being sent as multi-line literals.
    func writeString(_ bytes: UnsafeBufferPointer<UInt8>, stripLineBreaks: Bool = false, into buffer: inout ByteBuffer)
    {
        var length = 0
        var escapes = 0
        var unquotable = false
        var eightBit = false
        for b in bytes {
            let c = EncoderCharacterClass.of(b)
            if c == EncoderCharacterClass.atom | EncoderCharacterClass.astring {
                length += 1
                continue
            }
            if stripLineBreaks && (b == EncoderByte.cr || b == EncoderByte.lf) { continue }
            length += 1
            if c & EncoderCharacterClass.quotedSpecial != 0 { escapes += 1 }
            if c & EncoderCharacterClass.unquotable != 0 { unquotable = true }
            if c & EncoderCharacterClass.eightBit != 0 { eightBit = true }
        }
        let quotable =
            !unquotable && escapes <= EncoderLimits.maxQuotedEscapes
            && length <= EncoderLimits.maxQuotedLength
            && (!eightBit || (options.utf8 && encoderIsValidUTF8(bytes)))
        let stripping = stripLineBreaks && length != bytes.count
        if quotable {
            writeQuoted(bytes, escapes: escapes, skipLineBreaks: stripping, into: &buffer)
        } else {
            writeLiteralHeader(length, binary: false, into: &buffer)
            writeLiteralPayload(bytes, skipLineBreaks: stripping, into: &buffer)
        }
    }

    /// `quoted = DQUOTE *QUOTED-CHAR DQUOTE`; the caller has checked that every byte may
    /// appear (after dropping CR/LF when `skipLineBreaks`).
    func writeQuoted(
        _ bytes: UnsafeBufferPointer<UInt8>, escapes: Int, skipLineBreaks: Bool = false,
        into buffer: inout ByteBuffer
    ) {
        buffer.writeInteger(EncoderByte.dquote)
        if escapes == 0 && !skipLineBreaks {
            buffer.writeBytes(bytes)
        } else {
            for b in bytes {
                if skipLineBreaks && (b == EncoderByte.cr || b == EncoderByte.lf) { continue }
                if EncoderCharacterClass.of(b) & EncoderCharacterClass.quotedSpecial != 0 {
                    buffer.writeInteger(EncoderByte.backslash)
                }
                buffer.writeInteger(b)
            }
        }
        buffer.writeInteger(EncoderByte.dquote)
    }

    /// `{n}\r\n`, or the literal8 form `~{n}\r\n` (RFC 3516) when `binary`.
    func writeLiteralHeader(_ size: Int, binary: Bool, into buffer: inout ByteBuffer) {
        if binary { buffer.writeInteger(EncoderByte.tilde) }
        buffer.writeInteger(EncoderByte.openBrace)
        writeNumber(size, into: &buffer)
        buffer.writeInteger(EncoderByte.closeBrace)
        writeCRLF(into: &buffer)
    }

    /// The bytes of a string literal. A NUL becomes `EncoderByte.nulReplacement`
    /// (a literal is `*CHAR8`); the length does not change.
    func writeLiteralPayload(_ bytes: UnsafeBufferPointer<UInt8>, skipLineBreaks: Bool, into buffer: inout ByteBuffer) {
        var hasNUL = false
        for b in bytes where b == EncoderByte.nul {
            hasNUL = true
            break
        }
        if !hasNUL && !skipLineBreaks {
            buffer.writeBytes(bytes)
            return
        }
        for b in bytes {
            if skipLineBreaks && (b == EncoderByte.cr || b == EncoderByte.lf) { continue }
            buffer.writeInteger(b == EncoderByte.nul ? EncoderByte.nulReplacement : b)
        }
    }

    /// A single-character `DQUOTE QUOTED-CHAR DQUOTE` (hierarchy delimiters), or NIL.
    /// A delimiter that cannot be quoted (CR, LF, NUL, 8-bit without UTF-8) goes out as
    /// NIL: no client could use it anyway.
    func writeDelimiter(_ delimiter: Character?, into buffer: inout ByteBuffer) {
        guard let delimiter else {
            buffer.writeStaticString("NIL")
            return
        }
        let text = String(delimiter)
        let ok: Bool = encoderWithUTF8(text) { bytes in
            var escapes = 0
            for b in bytes {
                let c = EncoderCharacterClass.of(b)
                if c & EncoderCharacterClass.unquotable != 0 { return false }
                if c & EncoderCharacterClass.quotedSpecial != 0 { escapes += 1 }
            }
            let eightBit = bytes.contains { $0 >= EncoderByte.firstEightBit }
            if eightBit && !(options.utf8 && encoderIsValidUTF8(bytes)) { return false }
            writeQuoted(bytes, escapes: escapes, into: &buffer)
            return true
        }
        if !ok { buffer.writeStaticString("NIL") }
    }

    // MARK: text

    /// `text` of `resp-text`: CR, LF and NUL would end or corrupt the line, so each
    /// becomes a space. When `forCode`, `]` is dropped too (`resp-text-code` arguments are
    /// `1*<any TEXT-CHAR except "]">`).
    func writeText(_ value: String, forCode: Bool = false, into buffer: inout ByteBuffer) {
        encoderWithUTF8(value) { bytes in
            var clean = true
            for b in bytes
            where EncoderCharacterClass.of(b) & EncoderCharacterClass.notText != 0
                || (forCode && b == EncoderByte.closeBracket)
            {
                clean = false
                break
            }
            if clean {
                buffer.writeBytes(bytes)
                return
            }
            for b in bytes {
                if forCode && b == EncoderByte.closeBracket { continue }
                if EncoderCharacterClass.of(b) & EncoderCharacterClass.notText != 0 {
                    buffer.writeInteger(EncoderByte.space)
                } else {
                    buffer.writeInteger(b)
                }
            }
        }
    }

    @inline(__always)
    func writeCRLF(into buffer: inout ByteBuffer) {
        buffer.writeInteger(UInt16(EncoderByte.cr) << 8 | UInt16(EncoderByte.lf))
    }

    @inline(__always)
    func writeSpace(into buffer: inout ByteBuffer) {
        buffer.writeInteger(EncoderByte.space)
    }
}

/// Runs `body` over the UTF-8 bytes of `value` without copying when the string is
/// native (the usual case); bridged or lazily-stored strings are copied once.
@inline(__always)
func encoderWithUTF8<R>(_ value: String, _ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
    if let result = value.utf8.withContiguousStorageIfAvailable(body) {
        return result
    }
    return Array(value.utf8).withUnsafeBufferPointer(body)
}
