/// RFC 2047 encoded words in header values (`=?charset?B|Q?text?=`), decoded for
/// SEARCH. Tolerant, as mail readers are: encoded words are recognised anywhere (not
/// only between white space), white space between two encoded words is dropped
/// (§6.2), and consecutive encoded words in one charset are joined before charset
/// conversion, so a multi-byte character split across two words survives. Text
/// outside encoded words (raw 8-bit headers) is read as UTF-8, else ISO-8859-1.
enum RFC2047 {
    struct Word {
        var charset: [UInt8]
        var bytes: [UInt8]
        /// Index just past the closing "?=".
        var end: Int
    }

    static func decode(_ value: [UInt8]) -> String {
        var result = ""
        var pending: [UInt8] = []
        var pendingCharset: [UInt8]?
        var literalStart = 0
        var i = 0
        func flush() {
            if let charset = pendingCharset { result += Charset.decode(pending, charset: charset) }
            pending.removeAll()
            pendingCharset = nil
        }
        while i + 1 < value.count {
            guard value[i] == ASCII.equals, value[i + 1] == ASCII.question, let word = parseWord(value, at: i) else {
                i += 1
                continue
            }
            let literal = value[literalStart..<i]
            if pendingCharset == nil || !literal.allSatisfy(ASCII.isLWSPOrNewline) {
                flush()
                result += Charset.decodeUnknown(Array(literal))
            }
            let charset = ASCII.lowercasedBytes(word.charset)
            if pendingCharset != nil && pendingCharset != charset { flush() }
            pendingCharset = charset
            pending.append(contentsOf: word.bytes)
            i = word.end
            literalStart = i
        }
        flush()
        if literalStart < value.count { result += Charset.decodeUnknown(Array(value[literalStart...])) }
        return result
    }

    /// `encoded-word = "=?" charset "?" encoding "?" encoded-text "?="` at `start`.
    static func parseWord(_ v: [UInt8], at start: Int) -> Word? {
        var p = start + 2
        let charsetStart = p
        while p < v.count && v[p] != ASCII.question && !ASCII.isLWSPOrNewline(v[p]) { p += 1 }
        guard p < v.count, v[p] == ASCII.question, p > charsetStart else { return nil }
        let charset = Array(v[charsetStart..<p])
        p += 1
        guard p + 1 < v.count, v[p + 1] == ASCII.question else { return nil }
        let encoding = ASCII.lowercased(v[p])
        p += 2
        let textStart = p
        while p + 1 < v.count && !(v[p] == ASCII.question && v[p + 1] == ASCII.equals) {
            if ASCII.isLWSPOrNewline(v[p]) { return nil }
            p += 1
        }
        guard p + 1 < v.count else { return nil }
        let text = Array(v[textStart..<p])
        let bytes: [UInt8]
        switch encoding {
        case UInt8(ascii: "b"): bytes = Base64.decode(text)
        case UInt8(ascii: "q"): bytes = QuotedPrintable.decode(text, header: true)
        default: return nil
        }
        return Word(charset: charset, bytes: bytes, end: p + 2)
    }
}

/// RFC 2231 §4 extended parameter values (`charset'language'%XX…`), decoded for
/// SEARCH. A plain value may still hold RFC 2047 words (a common violation).
extension MIMEParameter {
    var isExtended: Bool { name.last == ASCII.asterisk }

    var decodedValue: String {
        guard isExtended else { return RFC2047.decode(value) }
        let parts = value.split(separator: ASCII.apostrophe, maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3 else { return Charset.decodeUnknown(Self.percentDecode(value[...])) }
        return Charset.decode(Self.percentDecode(parts[2]), charset: Array(parts[0]))
    }

    /// The parameter name without the RFC 2231 "*".
    var baseName: [UInt8] { isExtended ? Array(name.dropLast()) : name }

    static func percentDecode(_ s: ArraySlice<UInt8>) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(s.count)
        var i = s.startIndex
        while i < s.endIndex {
            if s[i] == ASCII.percent, i + 2 < s.endIndex, let hi = ASCII.hexValue(s[i + 1]),
                let lo = ASCII.hexValue(s[i + 2])
            {
                out.append(hi << 4 | lo)
                i += 3
            } else {
                out.append(s[i])
                i += 1
            }
        }
        return out
    }
}
