/// SEARCH (RFC 9051 §6.4.4) with ESEARCH return options (RFC 4731), SEARCHRES
/// (RFC 5182), CONDSTORE `MODSEQ` (RFC 7162) and the IMAP4rev1 keys old clients send.
extension GrammarParser {
    /// Deepest nesting of `(…)`, `NOT` and `OR` accepted: hostile input must never
    /// recurse without bound.
    static let maxSearchDepth = 100

    /// `search = "SEARCH" [search-return-opts] SP search-program`;
    /// `search-return-opts = SP "RETURN" SP "(" [search-return-opt *(SP search-return-opt)] ")"`;
    /// `search-program = ["CHARSET" SP charset SP] search-key *(SP search-key)`.
    /// The top-level keys are always returned as `.and`, like a parenthesised list.
    mutating func search(kind: MessageSetKind) throws(ParseError) -> Command {
        try space()
        var command = SearchCommand(key: .and([]))
        if peekKeyword() == "RETURN", peek(6) == ASCII.space {
            position += 7
            command.hasReturn = true
            (command.returnOptions, command.partial) = try searchReturnOptions("SEARCH")
            try space()
        }
        if peekKeyword() == "CHARSET", peek(7) == ASCII.space {
            position += 8
            command.charset = try astring()
            try space()
        }
        var keys = [try searchKey(charset: command.charset, depth: 1)]
        while consume(ASCII.space) { keys.append(try searchKey(charset: command.charset, depth: 1)) }
        command.key = .and(keys)
        return .search(kind, command)
    }

    /// `"(" [search-return-opt *(SP search-return-opt)] ")"` with RFC 9394's
    /// `"PARTIAL" SP partial-range` and RFC 5267's UPDATE and CONTEXT. Combinations no
    /// RFC gives a meaning are BAD: PARTIAL with ALL (RFC 9394 §3.1, as Dovecot), UPDATE
    /// with SAVE (RFC 5267 §4.2: a saved result is not kept up to date), an option twice.
    mutating func searchReturnOptions(_ command: String) throws(ParseError) -> ([SearchReturnOption], PartialRange?) {
        var partial: PartialRange?
        let options = try parenthesizedList(allowEmpty: true) { (p: inout GrammarParser) throws(ParseError) in
            guard let option = SearchReturnOption(rawValue: try p.keyword()) else {
                throw ParseError("Unknown \(command) return option")
            }
            if option == .partial {
                try p.space()
                partial = try p.partialRange()
            }
            return option
        }
        let set = Set(options)
        guard set.count == options.count else { throw ParseError("\(command) return option given twice") }
        if set.contains(.partial) && set.contains(.all) { throw ParseError("PARTIAL and ALL are mutually exclusive") }
        return (options, partial)
    }

    /// RFC 9394 `partial-range = partial-range-first / partial-range-last`:
    /// `nz-number ":" nz-number` or `"-" nz-number ":" "-" nz-number` (32-bit values).
    mutating func partialRange() throws(ParseError) -> PartialRange {
        let fromEnd = consume(ASCII.minus)
        let a = try nzNumber()
        try expect(ASCII.colon)
        guard consume(ASCII.minus) == fromEnd else { throw ParseError("PARTIAL range mixes signs") }
        let b = try nzNumber()
        return PartialRange(a, b, fromEnd: fromEnd)
    }

    /// `search-key`, one of RFC 9051 §9's alternatives, `"(" search-key *(SP search-key) ")"`,
    /// a bare `sequence-set`, or `search-modsequence` (RFC 7162).
    mutating func searchKey(charset: String?, depth: Int) throws(ParseError) -> SearchKey {
        guard depth <= GrammarParser.maxSearchDepth else { throw .tooDeeplyNested }
        guard let first = peek() else { throw .missingArgument }
        if first == ASCII.openParen {
            return .and(
                try parenthesizedList(allowEmpty: false) { (p: inout GrammarParser) throws(ParseError) in
                    try p.searchKey(charset: charset, depth: depth + 1)
                })
        }
        if ASCII.isDigit(first) || first == ASCII.asterisk || first == ASCII.dollar {
            return .sequenceNumbers(try sequenceSet())
        }
        guard ASCII.isLetter(first) else { throw .unexpectedCharacter }
        let name = try letters()
        switch name {
        case "ALL": return .all
        case "ANSWERED": return .answered
        case "DELETED": return .deleted
        case "DRAFT": return .draft
        case "FLAGGED": return .flagged
        case "SEEN": return .seen
        case "UNANSWERED": return .unanswered
        case "UNDELETED": return .undeleted
        case "UNDRAFT": return .undraft
        case "UNFLAGGED": return .unflagged
        case "UNSEEN": return .unseen
        case "RECENT": return .recent
        case "NEW": return .new
        case "OLD": return .old
        case "KEYWORD":
            try space()
            return .keyword(try atom())
        case "UNKEYWORD":
            try space()
            return .unkeyword(try atom())
        case "BCC": return .bcc(try spaceSearchString(charset))
        case "CC": return .cc(try spaceSearchString(charset))
        case "FROM": return .from(try spaceSearchString(charset))
        case "TO": return .to(try spaceSearchString(charset))
        case "SUBJECT": return .subject(try spaceSearchString(charset))
        case "BODY": return .body(try spaceSearchString(charset))
        case "TEXT": return .text(try spaceSearchString(charset))
        case "HEADER":
            // `"HEADER" SP header-fld-name SP astring`
            try space()
            let field = try astring()
            return .header(field: field, value: try spaceSearchString(charset))
        case "BEFORE": return .before(try spaceDate())
        case "ON": return .on(try spaceDate())
        case "SINCE": return .since(try spaceDate())
        case "SENTBEFORE": return .sentBefore(try spaceDate())
        case "SENTON": return .sentOn(try spaceDate())
        case "SENTSINCE": return .sentSince(try spaceDate())
        case "LARGER": return .larger(try spaceSize())
        // RFC 5032: `"OLDER" SP nz-number` / `"YOUNGER" SP nz-number`.
        case "OLDER":
            try space()
            return .older(try nzNumber())
        case "YOUNGER":
            try space()
            return .younger(try nzNumber())
        case "SMALLER": return .smaller(try spaceSize())
        case "UID":
            try space()
            return .uid(try sequenceSet())
        case "NOT":
            try space()
            return .not(try searchKey(charset: charset, depth: depth + 1))
        case "OR":
            try space()
            let a = try searchKey(charset: charset, depth: depth + 1)
            try space()
            return .or(a, try searchKey(charset: charset, depth: depth + 1))
        case "MODSEQ":
            return .modSeq(try searchModSequence())
        default:
            throw ParseError("Unknown search key")
        }
    }

    /// `search-modsequence = "MODSEQ" [search-modseq-ext] SP mod-sequence-valzer`;
    /// `search-modseq-ext = SP entry-name SP entry-type-req`;
    /// `entry-name = DQUOTE "/flags/" attr-flag DQUOTE`;
    /// `entry-type-req = "priv" / "shared" / "all"`. The entry is checked and
    /// dropped: we keep one modseq per message, not per flag (RFC 7162 §3.1.5
    /// allows that).
    private mutating func searchModSequence() throws(ParseError) -> UInt64 {
        try space()
        if peek() == ASCII.dquote {
            _ = try quoted()
            try space()
            switch try keyword() {
            case "PRIV", "SHARED", "ALL": break
            default: throw ParseError("Invalid MODSEQ entry type")
            }
            try space()
        }
        return try number64()
    }

    private mutating func spaceDate() throws(ParseError) -> IMAPDate {
        try space()
        return try date()
    }

    /// `"LARGER" SP number64` / `"SMALLER" SP number64`: sizes past UInt32 are
    /// clamped, which keeps the meaning (no message is that large).
    private mutating func spaceSize() throws(ParseError) -> UInt32 {
        try space()
        return UInt32(clamping: try number64())
    }

    /// An astring search value. Its bytes are UTF-8, or, when the client named
    /// ISO-8859-1 as CHARSET, Latin-1 (each byte is the code point). Any other
    /// charset the server refuses with `[BADCHARSET]`.
    private mutating func spaceSearchString(_ charset: String?) throws(ParseError) -> String {
        try space()
        let raw = try astringBytes()
        if let charset, !SearchCommand.isUTF8Compatible(charset) {
            // Another charset: the bytes are carried losslessly, one scalar U+0000–U+00FF
            // per byte; the SEARCH handler converts them from `charset` to UTF-8 (or
            // answers BADCHARSET when it does not know it).
            var s = String.UnicodeScalarView()
            for b in raw { s.append(Unicode.Scalar(b)) }
            return String(s)
        }
        if let s = String(validating: raw, as: UTF8.self) { return s }
        throw .invalidUTF8
    }
}
