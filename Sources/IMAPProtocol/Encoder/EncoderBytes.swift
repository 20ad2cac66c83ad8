/// The bytes and character classes of the RFC 9051 §9 grammar that the response encoder
/// needs: every magic character as a named constant, and one lookup table answering
/// "may this byte appear in an atom / astring / quoted string".
///
/// The names are prefixed `Encoder` because the command parser lives in the same module
/// and keeps its own tables.

/// Single bytes of the wire syntax.
enum EncoderByte {
    static let nul: UInt8 = 0x00
    static let tab: UInt8 = 0x09
    static let lf: UInt8 = 0x0A
    static let cr: UInt8 = 0x0D
    static let space: UInt8 = 0x20
    static let dquote: UInt8 = 0x22
    static let percent: UInt8 = 0x25
    static let openParen: UInt8 = 0x28
    static let closeParen: UInt8 = 0x29
    static let asterisk: UInt8 = 0x2A
    static let plus: UInt8 = 0x2B
    static let comma: UInt8 = 0x2C
    static let minus: UInt8 = 0x2D
    static let dot: UInt8 = 0x2E
    static let zero: UInt8 = 0x30
    static let colon: UInt8 = 0x3A
    static let lessThan: UInt8 = 0x3C
    static let greaterThan: UInt8 = 0x3E
    static let openBracket: UInt8 = 0x5B
    static let backslash: UInt8 = 0x5C
    static let closeBracket: UInt8 = 0x5D
    static let openBrace: UInt8 = 0x7B
    static let closeBrace: UInt8 = 0x7D
    static let tilde: UInt8 = 0x7E
    static let del: UInt8 = 0x7F
    /// `a`…`z` minus this is `A`…`Z`.
    static let asciiCaseBit: UInt8 = 0x20
    static let lowercaseA: UInt8 = 0x61
    static let lowercaseZ: UInt8 = 0x7A
    /// First byte that is not 7-bit ASCII.
    static let firstEightBit: UInt8 = 0x80
    /// What a NUL inside a string becomes. A literal is `*CHAR8` (no NUL) and a quoted
    /// string cannot hold one either; Dovecot turns NUL into 0x80 for the same reason
    /// (lib-imap `imap_append_string_for_humans`), which also keeps the length unchanged.
    static let nulReplacement: UInt8 = 0x80
}

/// Encoder tuning that is a policy choice rather than grammar.
enum EncoderLimits {
    /// Strings longer than this go out as literals even when they could be quoted:
    /// clients and proxies cope badly with very long lines, and a literal costs only a
    /// few bytes more.
    static let maxQuotedLength = 1024
    /// Dovecot switches to a literal after this many quoted-specials (`"` and `\`):
    /// each costs a byte of escaping, a literal costs `{n}\r\n` (lib-imap imap-quote.c).
    /// Following it keeps our strings byte-identical to Dovecot's.
    static let maxQuotedEscapes = 4
}

/// Bit set per byte value, from the RFC 9051 §9 productions.
enum EncoderCharacterClass {
    /// `ATOM-CHAR = <any CHAR except atom-specials>`,
    /// `atom-specials = "(" / ")" / "{" / SP / CTL / list-wildcards / quoted-specials / resp-specials`.
    static let atom: UInt8 = 1 << 0
    /// `ASTRING-CHAR = ATOM-CHAR / resp-specials` (atom characters plus `]`).
    static let astring: UInt8 = 1 << 1
    /// `quoted-specials = DQUOTE / "\"`: allowed in a quoted string only escaped.
    static let quotedSpecial: UInt8 = 1 << 2
    /// CR, LF, NUL: never allowed in a quoted string (`TEXT-CHAR` excludes CR and LF;
    /// `CHAR` excludes NUL).
    static let unquotable: UInt8 = 1 << 3
    /// 8-bit bytes: allowed in a quoted string only as UTF-8 when the client enabled it.
    static let eightBit: UInt8 = 1 << 4
    /// Bytes `resp-text` may not carry (CR, LF, NUL) and are replaced by a space.
    static let notText: UInt8 = 1 << 5

    /// One entry per byte value; indexing with a `UInt8` can never go out of bounds.
    static let table: [UInt8] = {
        var t = [UInt8](repeating: 0, count: 256)
        for b in 0x21...0x7E {
            t[b] = atom | astring
        }
        for special in [
            EncoderByte.openParen, EncoderByte.closeParen, EncoderByte.openBrace,
            EncoderByte.percent, EncoderByte.asterisk, EncoderByte.dquote, EncoderByte.backslash,
            EncoderByte.closeBracket,
        ] {
            t[Int(special)] &= ~atom
        }
        // resp-specials is the one atom-special an astring may contain.
        for special in [EncoderByte.openParen, EncoderByte.closeParen, EncoderByte.openBrace] {
            t[Int(special)] &= ~astring
        }
        for special in [EncoderByte.percent, EncoderByte.asterisk, EncoderByte.dquote, EncoderByte.backslash] {
            t[Int(special)] &= ~astring
        }
        t[Int(EncoderByte.dquote)] |= quotedSpecial
        t[Int(EncoderByte.backslash)] |= quotedSpecial
        for b in [EncoderByte.cr, EncoderByte.lf, EncoderByte.nul] {
            t[Int(b)] |= unquotable | notText
        }
        for b in 0x80...0xFF {
            t[b] = eightBit
        }
        return t
    }()

    @inline(__always)
    static func of(_ byte: UInt8) -> UInt8 { table[Int(byte)] }
}

/// Whether `bytes` is well-formed UTF-8 (RFC 3629: no overlong forms, no surrogates,
/// nothing above U+10FFFF). With UTF8=ACCEPT / IMAP4rev2 a quoted string may carry
/// `UTF8-2 / UTF8-3 / UTF8-4` (RFC 9051 §9), so only valid UTF-8 may be quoted.
func encoderIsValidUTF8(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
    var i = 0
    let n = bytes.count
    while i < n {
        let b0 = bytes[i]
        if b0 < 0x80 {
            i += 1
            continue
        }
        let length: Int
        var lowest: UInt8 = 0x80
        var highest: UInt8 = 0xBF
        switch b0 {
        case 0xC2...0xDF: length = 2
        case 0xE0:
            length = 3
            lowest = 0xA0
        case 0xE1...0xEC, 0xEE...0xEF: length = 3
        case 0xED:
            length = 3
            highest = 0x9F
        case 0xF0:
            length = 4
            lowest = 0x90
        case 0xF1...0xF3: length = 4
        case 0xF4:
            length = 4
            highest = 0x8F
        default: return false
        }
        guard n - i >= length else { return false }
        // The second byte carries the overlong/surrogate/range restriction.
        let b1 = bytes[i + 1]
        guard b1 >= lowest && b1 <= highest else { return false }
        var k = 2
        while k < length {
            let b = bytes[i + k]
            guard b >= 0x80 && b <= 0xBF else { return false }
            k += 1
        }
        i += length
    }
    return true
}
