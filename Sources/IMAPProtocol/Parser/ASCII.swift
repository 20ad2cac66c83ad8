/// The bytes the IMAP grammar (RFC 9051 §9) gives meaning to, named once so that the
/// framer and the grammar never spell a magic number.
enum ASCII {
    static let nul: UInt8 = 0x00
    static let lf: UInt8 = 0x0A
    static let cr: UInt8 = 0x0D
    static let space: UInt8 = 0x20
    static let dquote: UInt8 = 0x22
    static let dollar: UInt8 = 0x24
    static let percent: UInt8 = 0x25
    static let openParen: UInt8 = 0x28
    static let closeParen: UInt8 = 0x29
    static let asterisk: UInt8 = 0x2A
    static let plus: UInt8 = 0x2B
    static let comma: UInt8 = 0x2C
    static let minus: UInt8 = 0x2D
    static let period: UInt8 = 0x2E
    static let slash: UInt8 = 0x2F
    static let zero: UInt8 = 0x30
    static let nine: UInt8 = 0x39
    static let colon: UInt8 = 0x3A
    static let lessThan: UInt8 = 0x3C
    static let equals: UInt8 = 0x3D
    static let greaterThan: UInt8 = 0x3E
    static let upperA: UInt8 = 0x41
    static let upperZ: UInt8 = 0x5A
    static let openBracket: UInt8 = 0x5B
    static let backslash: UInt8 = 0x5C
    static let closeBracket: UInt8 = 0x5D
    static let lowerA: UInt8 = 0x61
    static let lowerZ: UInt8 = 0x7A
    static let openBrace: UInt8 = 0x7B
    static let closeBrace: UInt8 = 0x7D
    static let tilde: UInt8 = 0x7E
    static let del: UInt8 = 0x7F
    /// Distance between an ASCII lower-case letter and its upper-case form.
    static let caseOffset: UInt8 = 0x20

    static func isDigit(_ b: UInt8) -> Bool { b >= zero && b <= nine }

    static func isLetter(_ b: UInt8) -> Bool {
        (b >= upperA && b <= upperZ) || (b >= lowerA && b <= lowerZ)
    }

    static func uppercased(_ b: UInt8) -> UInt8 { b >= lowerA && b <= lowerZ ? b - caseOffset : b }

    /// `CTL = %x00-1F / %x7F`
    static func isControl(_ b: UInt8) -> Bool { b < space || b == del }

    /// `ATOM-CHAR = <any CHAR except atom-specials>`;
    /// `atom-specials = "(" / ")" / "{" / SP / CTL / list-wildcards / quoted-specials / resp-specials`.
    /// CHAR is 7-bit: 8-bit bytes only travel in quoted strings and literals.
    static func isAtomChar(_ b: UInt8) -> Bool {
        guard b < del, !isControl(b) else { return false }
        switch b {
        case openParen, closeParen, openBrace, space, percent, asterisk, dquote, backslash, closeBracket:
            return false
        default:
            return true
        }
    }

    /// `ASTRING-CHAR = ATOM-CHAR / resp-specials`
    static func isAstringChar(_ b: UInt8) -> Bool { isAtomChar(b) || b == closeBracket }

    /// `tag = 1*<any ASTRING-CHAR except "+">`
    static func isTagChar(_ b: UInt8) -> Bool { b != plus && isAstringChar(b) }

    /// `list-char = ATOM-CHAR / list-wildcards / resp-specials`
    static func isListChar(_ b: UInt8) -> Bool {
        isAtomChar(b) || b == percent || b == asterisk || b == closeBracket
    }

    /// `base64-char = ALPHA / DIGIT / "+" / "/"`
    static func isBase64Char(_ b: UInt8) -> Bool { isLetter(b) || isDigit(b) || b == plus || b == slash }
}
