/// RFC 9208 §7 (formal syntax) for the QUOTA commands:
///
///     getquota      = "GETQUOTA" SP quota-root-name
///     getquotaroot  = "GETQUOTAROOT" SP mailbox
///     setquota      = "SETQUOTA" SP quota-root-name SP setquota-list
///     setquota-list = "(" [setquota-resource *(SP setquota-resource)] ")"
///     setquota-resource = resource-name SP resource-limit
///     quota-root-name = astring;  resource-name = atom;  resource-limit = number64
extension GrammarParser {
    /// At most this many resources in one SETQUOTA (RFC 9208 defines four).
    static let maxSetQuotaResources = 32

    mutating func getQuota() throws(ParseError) -> Command {
        try space()
        return .getQuota(try astring())
    }

    mutating func getQuotaRoot() throws(ParseError) -> Command {
        .getQuotaRoot(try spaceMailbox())
    }

    mutating func setQuota() throws(ParseError) -> Command {
        try space()
        let root = try astring()
        try space()
        let resources = try parenthesizedList(allowEmpty: true) {
            (p: inout GrammarParser) throws(ParseError) -> QuotaResourceLimit in
            let name = try p.keyword()
            try p.space()
            return QuotaResourceLimit(name: name, limit: try p.number64())
        }
        guard resources.count <= Self.maxSetQuotaResources else { throw ParseError("Too many quota resources") }
        return .setQuota(root, resources)
    }
}
