/// STORE (RFC 9051 §6.4.6) with the CONDSTORE `UNCHANGEDSINCE` modifier (RFC 7162).
extension GrammarParser {
    /// `store = "STORE" SP sequence-set [store-modifiers] SP store-att-flags`;
    /// `store-modifiers = SP "(" store-modifier *(SP store-modifier) ")"`;
    /// `store-modifier =/ "UNCHANGEDSINCE" SP mod-sequence-valzer`.
    mutating func store(uid: Bool) throws(ParseError) -> Command {
        try space()
        let set = try messageSet(uid: uid)
        try space()
        var modifiers = StoreModifiers()
        if peek() == ASCII.openParen {
            _ = try parenthesizedList(allowEmpty: false) { (p: inout GrammarParser) throws(ParseError) in
                guard try p.keyword() == "UNCHANGEDSINCE" else { throw ParseError("Unknown STORE modifier") }
                try p.space()
                modifiers.unchangedSince = try p.number64()
            }
            try space()
        }
        return .store(set, modifiers, try storeAttributeFlags())
    }

    /// `store-att-flags = (["+" / "-"] "FLAGS" [".SILENT"]) SP (flag-list / (flag *(SP flag)))`
    private mutating func storeAttributeFlags() throws(ParseError) -> StoreAction {
        let operation: StoreAction.Operation
        if consume(ASCII.plus) {
            operation = .add
        } else if consume(ASCII.minus) {
            operation = .remove
        } else {
            operation = .replace
        }
        let silent: Bool
        switch try letters(extra: ASCII.period) {
        case "FLAGS": silent = false
        case "FLAGS.SILENT": silent = true
        default: throw ParseError("Invalid STORE attribute")
        }
        try space()
        var flags: [Flag]
        if peek() == ASCII.openParen {
            flags = try flagList()
        } else {
            flags = [try flag()]
            while consume(ASCII.space) { flags.append(try flag()) }
        }
        return StoreAction(operation: operation, silent: silent, flags: flags)
    }
}
