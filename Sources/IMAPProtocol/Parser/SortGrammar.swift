/// SORT and THREAD (RFC 5256 §4), SORT=DISPLAY keys (RFC 5957), ESORT return options
/// (RFC 5267 §3). The search part is SEARCH's grammar (SearchGrammar.swift).
extension GrammarParser {
    /// `sort = ["UID" SP] "SORT" [sort-return-opts] SP sort-criteria SP search-criteria`;
    /// `sort-return-opts = SP "RETURN" SP "(" [search-return-opt *(SP search-return-opt)] ")"`;
    /// `sort-criteria = "(" sort-criterion *(SP sort-criterion) ")"`;
    /// `sort-criterion = ["REVERSE" SP] sort-key`.
    mutating func sort(kind: MessageSetKind) throws(ParseError) -> Command {
        try space()
        var returnOptions: [SearchReturnOption] = []
        var hasReturn = false
        var partial: PartialRange?
        if peekKeyword() == "RETURN", peek(6) == ASCII.space {
            position += 7
            hasReturn = true
            (returnOptions, partial) = try searchReturnOptions("SORT")
            try space()
        }
        let criteria = try parenthesizedList(allowEmpty: false) { (p: inout GrammarParser) throws(ParseError) in
            try p.sortCriterion()
        }
        try space()
        let (charset, key) = try searchCriteria()
        return .sort(
            kind,
            SortCommand(
                criteria: criteria, charset: charset, key: key, returnOptions: returnOptions, hasReturn: hasReturn,
                partial: partial))
    }

    /// `thread = ["UID" SP] "THREAD" SP thread-alg SP search-criteria`;
    /// `thread-alg = "ORDEREDSUBJECT" / "REFERENCES" / thread-alg-ext`.
    mutating func thread(kind: MessageSetKind) throws(ParseError) -> Command {
        try space()
        guard let algorithm = ThreadAlgorithm(rawValue: try keyword()) else {
            throw ParseError("Unknown thread algorithm")
        }
        try space()
        let (charset, key) = try searchCriteria()
        return .thread(kind, ThreadCommand(algorithm: algorithm, charset: charset, key: key))
    }

    private mutating func sortCriterion() throws(ParseError) -> SortCriterion {
        var name = try keyword()
        var reverse = false
        if name == "REVERSE" {
            try space()
            reverse = true
            name = try keyword()
        }
        guard let key = SortKey(rawValue: name) else { throw ParseError("Unknown sort key") }
        return SortCriterion(key, reverse: reverse)
    }

    /// `search-criteria = charset 1*(SP search-key)`: unlike SEARCH, the charset is
    /// mandatory and has no CHARSET keyword. The keys are returned as `.and`.
    private mutating func searchCriteria() throws(ParseError) -> (String, SearchKey) {
        let charset = try astring()
        try space()
        var keys = [try searchKey(charset: charset, depth: 1)]
        while consume(ASCII.space) { keys.append(try searchKey(charset: charset, depth: 1)) }
        return (charset, .and(keys))
    }
}
