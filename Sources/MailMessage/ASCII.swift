/// Byte values named by the RFC 5322 / RFC 2045 grammars. Every magic byte the parsers
/// compare against is spelled here once.
enum ASCII {
    static let nul: UInt8 = 0x00
    static let tab: UInt8 = 0x09
    static let lf: UInt8 = 0x0A
    static let cr: UInt8 = 0x0D
    static let questionMark: UInt8 = 0x3F
    static let space: UInt8 = 0x20
    static let exclamation: UInt8 = 0x21
    static let dquote: UInt8 = 0x22
    static let percent: UInt8 = 0x25
    static let apostrophe: UInt8 = 0x27
    static let openParen: UInt8 = 0x28
    static let closeParen: UInt8 = 0x29
    static let asterisk: UInt8 = 0x2A
    static let plus: UInt8 = 0x2B
    static let comma: UInt8 = 0x2C
    static let hyphen: UInt8 = 0x2D
    static let dot: UInt8 = 0x2E
    static let slash: UInt8 = 0x2F
    static let zero: UInt8 = 0x30
    static let nine: UInt8 = 0x39
    static let colon: UInt8 = 0x3A
    static let semicolon: UInt8 = 0x3B
    static let lessThan: UInt8 = 0x3C
    static let equals: UInt8 = 0x3D
    static let greaterThan: UInt8 = 0x3E
    static let question: UInt8 = 0x3F
    static let at: UInt8 = 0x40
    static let upperA: UInt8 = 0x41
    static let upperF: UInt8 = 0x46
    static let upperZ: UInt8 = 0x5A
    static let openBracket: UInt8 = 0x5B
    static let backslash: UInt8 = 0x5C
    static let closeBracket: UInt8 = 0x5D
    static let underscore: UInt8 = 0x5F
    static let lowerA: UInt8 = 0x61
    static let lowerF: UInt8 = 0x66
    static let lowerZ: UInt8 = 0x7A
    static let del: UInt8 = 0x7F
    /// Dovecot's stand-in for NUL in strings shown to humans (`imap_append_string_for_humans`).
    static let nulReplacement: UInt8 = 0x80

    /// RFC 5322 `WSP` (space or horizontal tab).
    @inline(__always) static func isWSP(_ b: UInt8) -> Bool { b == space || b == tab }
    /// WSP or a line-break byte: what Dovecot's `rfc822_skip_lwsp` skips.
    @inline(__always) static func isLWSPOrNewline(_ b: UInt8) -> Bool {
        b == space || b == tab || b == cr || b == lf
    }
    @inline(__always) static func isDigit(_ b: UInt8) -> Bool { b >= zero && b <= nine }
    @inline(__always) static func isAlpha(_ b: UInt8) -> Bool {
        (b >= upperA && b <= upperZ) || (b >= lowerA && b <= lowerZ)
    }
    @inline(__always) static func lowercased(_ b: UInt8) -> UInt8 {
        b >= upperA && b <= upperZ ? b + 0x20 : b
    }
    /// Value of a hexadecimal digit, nil for anything else.
    @inline(__always) static func hexValue(_ b: UInt8) -> UInt8? {
        if b >= zero && b <= nine { return b - zero }
        if b >= upperA && b <= upperF { return b - upperA + 10 }
        if b >= lowerA && b <= lowerF { return b - lowerA + 10 }
        return nil
    }

    /// ASCII case-insensitive comparison of raw bytes with a (usually ASCII) name.
    static func equalsIgnoringCase<C: Collection>(_ bytes: C, _ name: String) -> Bool
    where C.Element == UInt8 {
        var it = bytes.makeIterator()
        for n in name.utf8 {
            guard let b = it.next(), lowercased(b) == lowercased(n) else { return false }
        }
        return it.next() == nil
    }

    /// ASCII case-insensitive prefix test.
    static func hasPrefixIgnoringCase<C: Collection>(_ bytes: C, _ prefix: String) -> Bool
    where C.Element == UInt8 {
        var it = bytes.makeIterator()
        for n in prefix.utf8 {
            guard let b = it.next(), lowercased(b) == lowercased(n) else { return false }
        }
        return true
    }
}
