/// Content-Type / Content-Disposition values: `type "/" subtype *(";" parameter)`
/// (RFC 2045 §5.1, RFC 2183) with RFC 2231 parameter continuations merged.

/// A parsed `Content-Type` field value.
struct ContentTypeValue {
    /// Media type as written (case kept, as Dovecot prints it).
    var type: [UInt8]
    /// Subtype as written; nil when the value had no "/".
    var subtype: [UInt8]?
    var parameters: [MIMEParameter]
}

/// One parameter after RFC 2231 merging. Extended values (`name*`) keep their raw
/// `charset'language'%XX` form: BODYSTRUCTURE shows them so (Dovecot); SEARCH
/// decodes them with `decodedValue`.
struct MIMEParameter {
    var name: [UInt8]
    var value: [UInt8]

    /// Names compare case-insensitively (RFC 2045 §5.1).
    func isNamed(_ n: String) -> Bool { ASCII.equalsIgnoringCase(name, n) }
}

enum MIMEParameters {
    /// Parses a Content-Type value. On broken syntax the type and subtype read so far
    /// are kept and the parameters dropped, as Dovecot does.
    static func parseContentType(_ value: [UInt8]) -> ContentTypeValue {
        var lexer = RFC822Lexer(value)
        var full: [UInt8] = []
        var ok = false
        if lexer.skipCFWS() == .more, lexer.parseMIMEToken(into: &full) == .more, lexer.current == ASCII.slash {
            lexer.pos += 1
            full.append(ASCII.slash)
            if lexer.skipCFWS() == .more {
                ok = lexer.parseMIMEToken(into: &full) != .broken
            }
        }
        var result: ContentTypeValue
        if let slash = full.firstIndex(of: ASCII.slash) {
            result = ContentTypeValue(
                type: Array(full[..<slash]), subtype: Array(full[(slash + 1)...]), parameters: [])
        } else {
            result = ContentTypeValue(type: full, subtype: nil, parameters: [])
        }
        if ok { result.parameters = parseParameters(&lexer) }
        return result
    }

    /// Parses a Content-Disposition value: the disposition type token and parameters;
    /// nil when not even the token could be read.
    static func parseDisposition(_ value: [UInt8]) -> (type: [UInt8], parameters: [MIMEParameter])? {
        var lexer = RFC822Lexer(value)
        _ = lexer.skipCFWS()
        var token: [UInt8] = []
        if lexer.parseMIMEToken(into: &token) == .broken { return nil }
        return (token, parseParameters(&lexer))
    }

    /// Parses a Content-Transfer-Encoding value: one token and nothing else, or nil.
    static func parseEncoding(_ value: [UInt8]) -> [UInt8]? {
        var lexer = RFC822Lexer(value)
        _ = lexer.skipCFWS()
        var token: [UInt8] = []
        guard lexer.parseMIMEToken(into: &token) != .broken, lexer.skipCFWS() == .end, !token.isEmpty else {
            return nil
        }
        return token
    }

    /// Parses a Content-Language value: `1#Language-tag` as atoms.
    static func parseLanguages(_ value: [UInt8]) -> [[UInt8]] {
        var lexer = RFC822Lexer(value)
        _ = lexer.skipCFWS()
        var result: [[UInt8]] = []
        while true {
            var atom: [UInt8] = []
            if lexer.parseAtom(into: &atom) == .broken { break }
            result.append(atom)
            if lexer.atEnd || lexer.current != ASCII.comma { break }
            lexer.pos += 1
            _ = lexer.skipCFWS()
        }
        return result
    }

    /// `*(";" parameter)`, then RFC 2231 merging. Broken parameters are skipped one
    /// byte at a time, as Dovecot resynchronises.
    static func parseParameters(_ lexer: inout RFC822Lexer) -> [MIMEParameter] {
        var plain: [MIMEParameter] = []
        var sections: [RFC2231Section] = []
        while !lexer.atEnd {
            guard let (name, value) = parseParameter(&lexer) else {
                if lexer.atEnd { break }
                lexer.pos += 1
                continue
            }
            if let section = RFC2231Section(name: name, value: value) {
                sections.append(section)
            } else {
                plain.append(MIMEParameter(name: name, value: value))
            }
        }
        return plain + RFC2231Section.merge(sections)
    }

    /// `";" attribute "=" value` with value a token or a quoted string; nil on error.
    private static func parseParameter(_ lexer: inout RFC822Lexer) -> ([UInt8], [UInt8])? {
        guard lexer.current == ASCII.semicolon else { return nil }
        lexer.pos += 1
        guard lexer.skipCFWS() == .more else { return nil }
        var name: [UInt8] = []
        guard lexer.parseMIMEToken(into: &name) == .more, lexer.current == ASCII.equals else { return nil }
        lexer.pos += 1
        var value: [UInt8] = []
        let r = lexer.skipCFWS()
        if r == .broken { return nil }
        if r == .end { return (name, value) }
        if lexer.current == ASCII.dquote {
            if lexer.parseQuotedString(into: &value) == .broken { return nil }
        } else if lexer.current == ASCII.equals {
            // Broken input seen in the wild: name==?utf-8?b?...?= (Dovecot keeps it).
            while !lexer.atEnd {
                let c = lexer.current
                if c == ASCII.semicolon || ASCII.isLWSPOrNewline(c) { break }
                value.append(c)
                lexer.pos += 1
            }
        } else if lexer.parseMIMEToken(into: &value) == .broken {
            return nil
        }
        return (name, value)
    }
}

/// One `name*N[*]=value` section of an RFC 2231 parameter (§3, §4).
struct RFC2231Section {
    var key: [UInt8]
    var index: Int
    var extended: Bool
    var value: [UInt8]

    /// nil when `name` is not in RFC 2231 form (no "*", or junk after it).
    init?(name: [UInt8], value: [UInt8]) {
        guard let star = name.firstIndex(of: ASCII.asterisk) else { return nil }
        var p = star + 1
        var index = 0
        var digits = 0
        while p < name.count, ASCII.isDigit(name[p]), digits < 6 {
            index = index * 10 + Int(name[p] - ASCII.zero)
            p += 1
            digits += 1
        }
        var extended = false
        if p == name.count && star == name.count - 1 {
            // `name*=` : a single extended section (RFC 2231 §4).
            extended = true
        } else if p < name.count && name[p] == ASCII.asterisk {
            extended = true
            p += 1
        }
        guard p == name.count else { return nil }
        self.key = Array(name[..<star])
        self.index = index
        self.extended = extended
        self.value = value
    }

    /// Merges the sections of each name (in index order) into one parameter named
    /// `name*` when any section was extended, `name` otherwise. Plain sections mixed
    /// with extended ones get their "%" escaped; a name with missing indexes is kept
    /// section by section (Dovecot's rfc2231_parse).
    static func merge(_ sections: [RFC2231Section]) -> [MIMEParameter] {
        guard !sections.isEmpty else { return [] }
        let sorted = sections.enumerated().sorted { a, b in
            if a.element.key != b.element.key { return a.element.key.lexicographicallyPrecedes(b.element.key) }
            if a.element.index != b.element.index { return a.element.index < b.element.index }
            return a.offset < b.offset
        }.map(\.element)
        var result: [MIMEParameter] = []
        var i = 0
        while i < sorted.count {
            var j = i
            var complete = true
            var anyExtended = false
            var expected = 0
            while j < sorted.count && ASCII.lowercasedBytes(sorted[j].key) == ASCII.lowercasedBytes(sorted[i].key) {
                if sorted[j].index != expected { complete = false }
                if sorted[j].extended { anyExtended = true }
                expected += 1
                j += 1
            }
            if complete {
                var value: [UInt8] = []
                if !sorted[i].extended && anyExtended { value.append(contentsOf: "''".utf8) }
                for s in sorted[i..<j] {
                    if !s.extended && anyExtended {
                        for b in s.value {
                            if b == ASCII.percent { value.append(contentsOf: "%25".utf8) } else { value.append(b) }
                        }
                    } else {
                        value.append(contentsOf: s.value)
                    }
                }
                var name = sorted[i].key
                if anyExtended { name.append(ASCII.asterisk) }
                result.append(MIMEParameter(name: name, value: value))
            } else {
                for s in sorted[i..<j] {
                    var name = s.key
                    name.append(ASCII.asterisk)
                    name.append(contentsOf: String(s.index).utf8)
                    if s.extended { name.append(ASCII.asterisk) }
                    result.append(MIMEParameter(name: name, value: s.value))
                }
            }
            i = j
        }
        return result
    }
}

extension ASCII {
    static func lowercasedBytes(_ bytes: [UInt8]) -> [UInt8] { bytes.map(lowercased) }
}
