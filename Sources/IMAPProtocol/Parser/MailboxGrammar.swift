/// Commands on mailboxes: SELECT/EXAMINE parameters (RFC 4466, CONDSTORE/QRESYNC
/// RFC 7162), CREATE (RFC 6154 USE), LIST (RFC 9051 §6.3.9, LIST-EXTENDED RFC 5258,
/// LIST-STATUS RFC 5819), LSUB (RFC 3501) and STATUS (RFC 9051 §6.3.11).
extension GrammarParser {
    /// Nesting allowed inside an unknown LIST return option's value before BAD.
    static let maxOptionValueDepth = 16

    /// `select-params = SP "(" select-param *(SP select-param) ")"`;
    /// `select-param =/ "CONDSTORE" / "QRESYNC" SP "(" uidvalidity SP
    /// mod-sequence-value [SP known-uids] [SP seq-match-data] ")"`.
    /// An unknown parameter is a BAD (RFC 4466 §2.1). `()` is accepted as empty.
    mutating func selectParameters() throws(ParseError) -> SelectParameters {
        var parameters = SelectParameters()
        guard consume(ASCII.space) else { return parameters }
        _ = try parenthesizedList(allowEmpty: true) { (p: inout GrammarParser) throws(ParseError) in
            switch try p.keyword() {
            case "CONDSTORE":
                parameters.condstore = true
            case "QRESYNC":
                try p.space()
                parameters.qresync = try p.qresyncParameter()
            default:
                throw ParseError("Unknown SELECT parameter")
            }
        }
        return parameters
    }

    /// `"(" uidvalidity SP mod-sequence-value [SP known-uids] [SP seq-match-data] ")"`;
    /// `seq-match-data = "(" known-sequence-set SP known-uid-set ")"`.
    private mutating func qresyncParameter() throws(ParseError) -> QResyncParameter {
        try expect(ASCII.openParen)
        let uidValidity = try nzNumber()
        try space()
        var parameter = QResyncParameter(uidValidity: UIDValidity(uidValidity), modSeq: try modSequenceValue())
        if consume(ASCII.space) {
            if peek() != ASCII.openParen {
                parameter.knownUIDs = try sequenceSet()
                if consume(ASCII.space) { try seqMatchData(into: &parameter) }
            } else {
                try seqMatchData(into: &parameter)
            }
        }
        try expect(ASCII.closeParen)
        return parameter
    }

    private mutating func seqMatchData(into parameter: inout QResyncParameter) throws(ParseError) {
        try expect(ASCII.openParen)
        parameter.knownSequenceNumbers = try sequenceSet()
        try space()
        parameter.knownSequenceUIDs = try sequenceSet()
        try expect(ASCII.closeParen)
    }

    /// `create = "CREATE" SP mailbox [create-params]` (RFC 4466);
    /// `create-param =/ "USE" SP "(" [use-attr *(SP use-attr)] ")"` (RFC 6154).
    /// The special-use attributes are kept as sent, backslash included (`\Sent`).
    mutating func create() throws(ParseError) -> Command {
        let name = try spaceMailbox()
        var specialUse: [String] = []
        if consume(ASCII.space) {
            _ = try parenthesizedList(allowEmpty: false) { (p: inout GrammarParser) throws(ParseError) in
                guard try p.keyword() == "USE" else { throw ParseError("Unknown CREATE parameter") }
                try p.space()
                specialUse += try p.parenthesizedList(allowEmpty: true) { (q: inout GrammarParser) throws(ParseError) in
                    try q.expect(ASCII.backslash)
                    return "\\" + (try q.atom())
                }
            }
        }
        return .create(name, specialUse: specialUse)
    }

    /// `list = "LIST" [SP list-select-opts] SP mailbox SP mbox-or-pat [SP list-return-opts]`
    /// (RFC 5258); `mbox-or-pat = list-mailbox / patterns`;
    /// `patterns = "(" list-mailbox *(SP list-mailbox) ")"`.
    mutating func listArguments() throws(ParseError) -> ListCommand {
        try space()
        var selection: [String] = []
        if peek() == ASCII.openParen {
            // `list-select-opts = "(" [list-select-opt *(SP list-select-opt)] ")"`:
            // which combinations make sense is the server's business (RFC 5258 §3).
            selection = try parenthesizedList(allowEmpty: true) { (p: inout GrammarParser) throws(ParseError) in
                try p.keyword()
            }
            try space()
        }
        let reference = try mailbox()
        try space()
        let patterns: [String]
        if peek() == ASCII.openParen {
            patterns = try parenthesizedList(allowEmpty: false) { (p: inout GrammarParser) throws(ParseError) in
                try p.listMailbox()
            }
        } else {
            patterns = [try listMailbox()]
        }
        var returnOptions: [ListReturnOption] = []
        if consume(ASCII.space) {
            // `list-return-opts = "RETURN" SP "(" [return-option *(SP return-option)] ")"`
            guard try keyword() == "RETURN" else { throw .unexpectedCharacter }
            try space()
            returnOptions = try parenthesizedList(allowEmpty: true) { (p: inout GrammarParser) throws(ParseError) in
                try p.listReturnOption()
            }
        }
        return ListCommand(
            selectionOptions: selection, reference: reference, patterns: patterns, returnOptions: returnOptions)
    }

    /// `return-option = "SUBSCRIBED" / "CHILDREN" / status-option / option-extension`
    /// (RFC 5258, RFC 5819, RFC 6154 `SPECIAL-USE`). An extension's value
    /// (`"(" option-val-comp ")"`) is skipped.
    private mutating func listReturnOption() throws(ParseError) -> ListReturnOption {
        let name = try keyword()
        switch name {
        case "SUBSCRIBED": return .subscribed
        case "CHILDREN": return .children
        case "SPECIAL-USE": return .specialUse
        case "STATUS":
            try space()
            return .status(try statusAttributes())
        default:
            if peek() == ASCII.space, peek(1) == ASCII.openParen {
                position += 1
                try skipParenthesizedValue(depth: 0)
            }
            return .other(name)
        }
    }

    /// `option-val-comp = astring / option-val-comp *(SP option-val-comp) /
    /// "(" option-val-comp ")"`, skipped with bounded nesting.
    private mutating func skipParenthesizedValue(depth: Int) throws(ParseError) {
        guard depth < GrammarParser.maxOptionValueDepth else { throw .tooDeeplyNested }
        _ = try parenthesizedList(allowEmpty: true) { (p: inout GrammarParser) throws(ParseError) in
            if p.peek() == ASCII.openParen {
                try p.skipParenthesizedValue(depth: depth + 1)
            } else {
                _ = try p.astringBytes()
            }
        }
    }

    /// `list-mailbox = 1*list-char / string`
    mutating func listMailbox() throws(ParseError) -> String {
        if let b = peek(), ASCII.isListChar(b) {
            return String(decoding: bytes[run(while: ASCII.isListChar)], as: UTF8.self)
        }
        return try string()
    }

    /// `"LSUB" SP mailbox SP list-mailbox` (RFC 3501).
    mutating func lsub() throws(ParseError) -> Command {
        let reference = try spaceMailbox()
        try space()
        return .lsub(reference: reference, pattern: try listMailbox())
    }

    /// `status = "STATUS" SP mailbox SP "(" status-att *(SP status-att) ")"`
    mutating func status() throws(ParseError) -> Command {
        let name = try spaceMailbox()
        try space()
        return .status(name, try statusAttributes())
    }

    /// `"(" status-att *(SP status-att) ")"`
    mutating func statusAttributes() throws(ParseError) -> [StatusAttribute] {
        try parenthesizedList(allowEmpty: false) { (p: inout GrammarParser) throws(ParseError) in
            guard let attribute = StatusAttribute(rawValue: try p.keyword()) else {
                throw ParseError("Unknown STATUS attribute")
            }
            return attribute
        }
    }
}
