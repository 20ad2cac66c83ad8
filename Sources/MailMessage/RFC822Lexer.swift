/// Lexical layer of RFC 5322 §3.2 (CFWS, atoms, dot-atoms, quoted strings, domain
/// literals) and RFC 2045 §5.1 (MIME tokens, tspecials), applied to one header
/// value. Broken input follows Dovecot's rfc822-parser step for step (unterminated
/// comments and quotes, empty tokens, 8-bit bytes counted as atext), so that
/// ENVELOPE and BODYSTRUCTURE agree with Dovecot's on the same messages.
struct RFC822Lexer {
    /// Outcome of a step, Dovecot's 1 / 0 / -1.
    enum Step: Equatable {
        /// Succeeded, more data follows.
        case more
        /// Succeeded, at the end of the data.
        case end
        /// Syntax error.
        case broken
    }

    let data: [UInt8]
    var pos = 0
    /// When non-nil, the text of the last comment skipped (RFC 5322 names from
    /// `addr-spec (Name)`).
    var lastComment: [UInt8]?

    init(_ data: [UInt8], recordComments: Bool = false) {
        self.data = data
        self.lastComment = recordComments ? [] : nil
    }

    var atEnd: Bool { pos >= data.count }
    /// The current byte, NUL at the end.
    var current: UInt8 { pos < data.count ? data[pos] : ASCII.nul }
    var state: Step { atEnd ? .end : .more }

    // MARK: Character classes

    /// `atext` (RFC 5322 §3.2.3) plus every 8-bit byte; bit 2 marks the atext bytes
    /// that are MIME tspecials ("/", "=", "?").
    private static let classes: [UInt8] = {
        var t = [UInt8](repeating: 0, count: 256)
        for b in 0..<256 {
            let c = UInt8(b)
            if c >= 0x80 || ASCII.isAlpha(c) || ASCII.isDigit(c) { t[b] = 1 }
        }
        for c in "!#$%&'*+-^_`{|}~".utf8 { t[Int(c)] = 1 }
        for c in "/=?".utf8 { t[Int(c)] = 2 }
        return t
    }()

    @inline(__always) static func isAtext(_ b: UInt8) -> Bool { classes[Int(b)] != 0 }
    /// RFC 2045 `token` byte (atext that is not a tspecial), plus ".".
    @inline(__always) static func isTokenByte(_ b: UInt8) -> Bool {
        classes[Int(b)] == 1 || b == ASCII.dot
    }

    // MARK: CFWS

    /// `comment` (RFC 5322 §3.2.2), nested, with quoted-pairs. At "(".
    mutating func skipComment() -> Step {
        var level = 1
        pos += 1
        var start = pos
        var text: [UInt8] = []
        while pos < data.count {
            switch data[pos] {
            case ASCII.openParen:
                level += 1
            case ASCII.closeParen:
                level -= 1
                if level == 0 {
                    if lastComment != nil {
                        text.append(contentsOf: data[start..<pos])
                        lastComment = text
                    }
                    pos += 1
                    return state
                }
            case ASCII.backslash:
                text.append(contentsOf: data[start..<pos])
                start = pos + 1
                pos += 1
                if pos >= data.count { return .broken }
            default:
                break
            }
            pos += 1
        }
        return .broken
    }

    /// `[CFWS]`: white space, line breaks and comments.
    mutating func skipCFWS() -> Step {
        while pos < data.count {
            let b = data[pos]
            if ASCII.isLWSPOrNewline(b) {
                pos += 1
            } else if b == ASCII.openParen {
                if skipComment() == .broken { return .broken }
            } else {
                break
            }
        }
        return state
    }

    // MARK: Words

    /// `atom` (§3.2.3).
    mutating func parseAtom(into out: inout [UInt8]) -> Step {
        guard !atEnd, Self.isAtext(current) else { return .broken }
        let start = pos
        while pos < data.count && Self.isAtext(data[pos]) { pos += 1 }
        out.append(contentsOf: data[start..<pos])
        return skipCFWS()
    }

    /// `dot-atom`, with white space allowed around the dots (RFC 822 compatibility).
    mutating func parseDotAtom(into out: inout [UInt8]) -> Step {
        guard !atEnd, Self.isAtext(current) else { return .broken }
        var start = pos
        pos += 1
        while pos < data.count {
            if Self.isAtext(data[pos]) {
                pos += 1
                continue
            }
            out.append(contentsOf: data[start..<pos])
            let r = skipCFWS()
            if r != .more { return r }
            if current != ASCII.dot { return .more }
            pos += 1
            out.append(ASCII.dot)
            let r2 = skipCFWS()
            if r2 != .more { return r2 }
            start = pos
        }
        out.append(contentsOf: data[start..<pos])
        return .end
    }

    /// RFC 2045 `token` (may be empty, as in Dovecot), then CFWS.
    mutating func parseMIMEToken(into out: inout [UInt8]) -> Step {
        let start = pos
        while pos < data.count && Self.isTokenByte(data[pos]) { pos += 1 }
        out.append(contentsOf: data[start..<pos])
        return atEnd ? .end : skipCFWS()
    }

    /// `quoted-string` (§3.2.4): quotes removed, quoted-pairs undone, folding line
    /// breaks removed. At DQUOTE.
    mutating func parseQuotedString(into out: inout [UInt8]) -> Step {
        pos += 1
        var start = pos
        while pos < data.count {
            switch data[pos] {
            case ASCII.dquote:
                out.append(contentsOf: data[start..<pos])
                pos += 1
                return skipCFWS()
            case ASCII.lf:
                var end = pos
                if end > start && data[end - 1] == ASCII.cr { end -= 1 }
                out.append(contentsOf: data[start..<end])
                start = pos + 1
            case ASCII.backslash:
                out.append(contentsOf: data[start..<pos])
                pos += 1
                if pos >= data.count { return .broken }
                start = pos
            default:
                break
            }
            pos += 1
        }
        return .broken
    }

    /// A run of atext and dots, as Dovecot's phrase parser takes obsolete phrases.
    private mutating func parseAtomOrDot(into out: inout [UInt8]) -> Step {
        let start = pos
        while pos < data.count && (Self.isAtext(data[pos]) || data[pos] == ASCII.dot) { pos += 1 }
        out.append(contentsOf: data[start..<pos])
        return atEnd ? .end : skipCFWS()
    }

    /// `phrase` / `obs-phrase` (§3.2.5, §4.1): words joined by one space.
    mutating func parsePhrase(into out: inout [UInt8]) -> Step {
        if atEnd { return .end }
        if current == ASCII.dot { return .broken }
        while true {
            let r = current == ASCII.dquote ? parseQuotedString(into: &out) : parseAtomOrDot(into: &out)
            if r != .more { return r }
            let c = current
            if !Self.isAtext(c) && c != ASCII.dquote && c != ASCII.dot { break }
            out.append(ASCII.space)
        }
        return skipCFWS()
    }

    /// `domain-literal` (§3.4.1), kept with its brackets. At "[".
    mutating func parseDomainLiteral(into out: inout [UInt8]) -> Step {
        let start = pos
        while pos < data.count {
            if data[pos] == ASCII.backslash {
                pos += 1
                if pos >= data.count { break }
            } else if data[pos] == ASCII.closeBracket {
                pos += 1
                out.append(contentsOf: data[start..<pos])
                return skipCFWS()
            }
            pos += 1
        }
        return .broken
    }

    /// `"@" domain`. At "@".
    mutating func parseDomain(into out: inout [UInt8]) -> Step {
        pos += 1
        if skipCFWS() != .more { return .broken }
        if current == ASCII.openBracket { return parseDomainLiteral(into: &out) }
        return parseDotAtom(into: &out)
    }
}
