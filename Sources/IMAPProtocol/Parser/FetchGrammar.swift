/// FETCH (RFC 9051 §6.4.5) with BINARY (RFC 3516) and CONDSTORE/QRESYNC modifiers
/// (RFC 7162).
extension GrammarParser {
    /// `fetch = "FETCH" SP sequence-set SP ("ALL" / "FULL" / "FAST" / fetch-att /
    /// "(" fetch-att *(SP fetch-att) ")") [fetch-modifiers]`. The macros are
    /// expanded here (§6.4.5) and are not valid inside a list.
    mutating func fetch(uid: Bool) throws(ParseError) -> Command {
        try space()
        let set = try messageSet(uid: uid)
        try space()
        let attributes: [FetchAttribute]
        if peek() == ASCII.openParen {
            attributes = try parenthesizedList(allowEmpty: false) { (p: inout GrammarParser) throws(ParseError) in
                try p.fetchAttribute()
            }
        } else if let macro = fetchMacro() {
            attributes = macro
        } else {
            attributes = [try fetchAttribute()]
        }
        return .fetch(set, attributes, try fetchModifiers())
    }

    /// `"ALL" / "FAST" / "FULL"`, consumed only when the whole argument is one.
    private mutating func fetchMacro() -> [FetchAttribute]? {
        var probe = self
        guard let name = try? probe.letters(), probe.peek() == nil || probe.peek() == ASCII.space else { return nil }
        let fast: [FetchAttribute] = [.flags, .internalDate, .rfc822Size]
        let expansion: [FetchAttribute]
        switch name {
        case "ALL": expansion = fast + [.envelope]
        case "FAST": expansion = fast
        case "FULL": expansion = fast + [.envelope, .body]
        default: return nil
        }
        position = probe.position
        return expansion
    }

    /// `fetch-att = "ENVELOPE" / "FLAGS" / "INTERNALDATE" / "RFC822" [".HEADER" /
    /// ".SIZE" / ".TEXT"] / "BODY" ["STRUCTURE"] / "UID" / "BODY" section [partial] /
    /// "BODY.PEEK" section [partial] / "BINARY" [".PEEK"] section-binary [partial] /
    /// "BINARY.SIZE" section-binary / "MODSEQ"`
    mutating func fetchAttribute() throws(ParseError) -> FetchAttribute {
        let name = try letters(extra: ASCII.period, digits: true)
        switch name {
        case "ENVELOPE": return .envelope
        case "FLAGS": return .flags
        case "INTERNALDATE": return .internalDate
        case "RFC822.SIZE": return .rfc822Size
        case "RFC822": return .rfc822
        case "RFC822.HEADER": return .rfc822Header
        case "RFC822.TEXT": return .rfc822Text
        case "UID": return .uid
        case "BODYSTRUCTURE": return .bodyStructure
        case "MODSEQ": return .modSeq
        case "BODY", "BODY.PEEK":
            let isPeek = name == "BODY.PEEK"
            guard isPeek || peek() == ASCII.openBracket else { return .body }
            let section = try section()
            return .bodySection(section, partial: try partial(), peek: isPeek)
        case "BINARY", "BINARY.PEEK":
            let part = try sectionBinary()
            return .binary(part: part, partial: try partial(), peek: name == "BINARY.PEEK")
        case "BINARY.SIZE":
            return .binarySize(part: try sectionBinary())
        case "ALL", "FAST", "FULL":
            throw ParseError("FETCH macro inside a list")
        default:
            throw ParseError("Unknown FETCH attribute")
        }
    }

    /// `section = "[" [section-spec] "]"`;
    /// `section-spec = section-msgtext / (section-part ["." section-text])`;
    /// `section-text = section-msgtext / "MIME"`: MIME only after a part number.
    private mutating func section() throws(ParseError) -> SectionSpec {
        try expect(ASCII.openBracket)
        var spec = SectionSpec()
        if let b = peek(), ASCII.isDigit(b) {
            spec.part = try sectionPart()
            if consume(ASCII.period) { spec.text = try sectionText(allowMIME: true) }
        } else if let b = peek(), ASCII.isLetter(b) {
            spec.text = try sectionText(allowMIME: false)
        }
        try expectCloseBracket()
        return spec
    }

    /// `section-part = nz-number *("." nz-number)`; stops before a `.` that is
    /// followed by a section text.
    private mutating func sectionPart() throws(ParseError) -> [Int] {
        var part: [Int] = []
        repeat {
            guard let b = peek(), ASCII.isDigit(b), b != ASCII.zero else { throw ParseError("Invalid section") }
            part.append(Int(try nzNumber()))
            guard peek() == ASCII.period, let next = peek(1), ASCII.isDigit(next) else { break }
            position += 1
        } while true
        return part
    }

    /// `section-msgtext = "HEADER" / "HEADER.FIELDS" [".NOT"] SP header-list / "TEXT"`
    private mutating func sectionText(allowMIME: Bool) throws(ParseError) -> SectionText {
        switch try letters(extra: ASCII.period) {
        case "HEADER": return .header
        case "TEXT": return .text
        case "MIME" where allowMIME: return .mime
        case "HEADER.FIELDS":
            try space()
            return .headerFields(try headerList())
        case "HEADER.FIELDS.NOT":
            try space()
            return .headerFieldsNot(try headerList())
        default:
            throw ParseError("Invalid section")
        }
    }

    /// `header-list = "(" header-fld-name *(SP header-fld-name) ")"`;
    /// `header-fld-name = astring`, kept as sent (the response echoes them).
    private mutating func headerList() throws(ParseError) -> [String] {
        try parenthesizedList(allowEmpty: false) { (p: inout GrammarParser) throws(ParseError) in try p.astring() }
    }

    /// `section-binary = "[" [section-part] "]"`
    private mutating func sectionBinary() throws(ParseError) -> [Int] {
        try expect(ASCII.openBracket)
        var part: [Int] = []
        if peek() != ASCII.closeBracket { part = try sectionPart() }
        try expectCloseBracket()
        return part
    }

    private mutating func expectCloseBracket() throws(ParseError) {
        guard consume(ASCII.closeBracket) else { throw isAtEnd ? .missingArgument : ParseError("Invalid section") }
    }

    /// `partial = "<" number64 "." nz-number64 ">"`
    private mutating func partial() throws(ParseError) -> Partial? {
        guard consume(ASCII.lessThan) else { return nil }
        let offset = try number64()
        try expect(ASCII.period)
        let count = try number64()
        guard count > 0, let offset = Int(exactly: offset), let count = Int(exactly: count) else {
            throw ParseError("Invalid partial")
        }
        try expect(ASCII.greaterThan)
        return Partial(offset: offset, count: count)
    }

    /// `fetch-modifiers = SP "(" fetch-modifier *(SP fetch-modifier) ")"`;
    /// `fetch-modifier =/ "CHANGEDSINCE" SP mod-sequence-valzer / "VANISHED"`
    /// (RFC 7162 §3.1.4.1, §3.2.6; 0 is accepted, it means "every message").
    private mutating func fetchModifiers() throws(ParseError) -> FetchModifiers {
        var modifiers = FetchModifiers()
        guard consume(ASCII.space) else { return modifiers }
        _ = try parenthesizedList(allowEmpty: false) { (p: inout GrammarParser) throws(ParseError) in
            switch try p.keyword() {
            case "CHANGEDSINCE":
                try p.space()
                modifiers.changedSince = try p.number64()
            case "VANISHED":
                modifiers.vanished = true
            default:
                throw ParseError("Unknown FETCH modifier")
            }
        }
        return modifiers
    }
}
