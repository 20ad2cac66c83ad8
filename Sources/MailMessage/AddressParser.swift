/// RFC 5322 §3.4 address lists (`From`, `To`, …) as ENVELOPE needs them, with the
/// obsolete forms of §4.4 (route addresses `<@a,@b:user@host>`, phrases with dots).
///
/// Broken input is handled as Dovecot's message-address parser does, so that both
/// servers answer the same ENVELOPE: a missing local part or domain becomes
/// `MISSING_MAILBOX` / `MISSING_DOMAIN`, an unparsable angle address gets the domain
/// `SYNTAX_ERROR`, a bad route `INVALID_ROUTE`; a comment after a bare `addr-spec`
/// is taken as the display name.
struct RawAddress: Equatable {
    var name: [UInt8]?
    var route: [UInt8]?
    var mailbox: [UInt8]?
    var domain: [UInt8]?
}

struct AddressParser {
    static let missingMailbox = Array("MISSING_MAILBOX".utf8)
    static let missingDomain = Array("MISSING_DOMAIN".utf8)
    static let syntaxError = Array("SYNTAX_ERROR".utf8)
    static let invalidRoute = Array("INVALID_ROUTE".utf8)

    private var lexer: RFC822Lexer
    private var result: [RawAddress] = []
    private var address = RawAddress()

    private init(_ value: [UInt8]) { lexer = RFC822Lexer(value, recordComments: true) }

    /// The addresses of an address-list field value. Groups appear as a start entry
    /// (mailbox = group name, no domain) and an end entry (all nil), RFC 9051 §7.5.2.
    static func parse(_ value: [UInt8]) -> [RawAddress] {
        var parser = AddressParser(value)
        guard parser.lexer.skipCFWS() == .more else { return [] }
        parser.parseAddressList()
        return parser.result
    }

    private mutating func add() {
        result.append(address)
        address = RawAddress()
    }

    private mutating func addFixed() {
        if address.mailbox == nil { address.mailbox = Self.missingMailbox }
        if address.domain == nil { address.domain = Self.missingDomain }
        add()
    }

    /// `address-list = (address *("," address)) / obs-addr-list`
    private mutating func parseAddressList() {
        while true {
            let step = parseAddress()
            if step == .end || lexer.current != ASCII.comma { break }
            lexer.pos += 1
            let next = lexer.skipCFWS()
            if next != .more {
                // Ends with junk after the comma.
                if next == .broken { addFixed() }
                break
            }
        }
    }

    /// `address = mailbox / group`
    private mutating func parseAddress() -> RFC822Lexer.Step {
        let start = lexer.pos
        let step = parseGroup()
        if step != .broken { return step }
        lexer.pos = start
        return parseMailbox()
    }

    /// `group = display-name ":" [group-list] ";" [CFWS]`
    private mutating func parseGroup() -> RFC822Lexer.Step {
        var name: [UInt8] = []
        guard lexer.parsePhrase(into: &name) == .more, lexer.current == ASCII.colon else { return .broken }
        // From here on this is a group, even if broken.
        lexer.pos += 1
        var step = lexer.skipCFWS()
        address.mailbox = name
        add()
        if step == .more && lexer.current != ASCII.semicolon {
            while true {
                if parseMailbox() != .more {
                    step = .broken
                    break
                }
                if lexer.current != ASCII.comma { break }
                lexer.pos += 1
                if lexer.skipCFWS() != .more {
                    step = .broken
                    break
                }
            }
        }
        if step != .broken {
            if lexer.current != ASCII.semicolon || lexer.atEnd {
                step = .broken
            } else {
                lexer.pos += 1
                step = lexer.skipCFWS()
            }
        }
        add()
        return step == .end ? .end : .more
    }

    /// `mailbox = name-addr / addr-spec`
    private mutating func parseMailbox() -> RFC822Lexer.Step {
        let start = lexer.pos
        var step = parseNameAddress()
        if step == .broken {
            lexer.pos = start
            step = parseAddrSpec()
        }
        addFixed()
        return step
    }

    /// `name-addr = [display-name] angle-addr`
    private mutating func parseNameAddress() -> RFC822Lexer.Step {
        var name: [UInt8] = []
        guard lexer.parsePhrase(into: &name) == .more, lexer.current == ASCII.lessThan else { return .broken }
        address.name = name.isEmpty ? nil : name
        if parseAngleAddress() == .broken { address.domain = Self.syntaxError }
        return lexer.state
    }

    /// `angle-addr = [CFWS] "<" [obs-route] addr-spec ">" [CFWS]`
    private mutating func parseAngleAddress() -> RFC822Lexer.Step {
        lexer.pos += 1
        var step = lexer.skipCFWS()
        if step != .more { return step }
        if lexer.current == ASCII.at {
            guard parseRoute() == .more, lexer.current == ASCII.colon else {
                address.route = Self.invalidRoute
                return .broken
            }
            lexer.pos += 1
            step = lexer.skipCFWS()
            if step != .more { return step }
        }
        step = parseLocalPart()
        if step != .more { return step }
        if lexer.current == ASCII.at {
            step = parseDomain()
            if step != .more { return step }
        }
        guard lexer.current == ASCII.greaterThan else { return .broken }
        lexer.pos += 1
        return lexer.skipCFWS()
    }

    /// `obs-domain-list = *(CFWS / ",") "@" domain *("," [CFWS] ["@" domain])`,
    /// kept as `@a,@b` (the ENVELOPE `addr-adl`).
    private mutating func parseRoute() -> RFC822Lexer.Step {
        var route: [UInt8] = []
        while true {
            if lexer.atEnd { return .end }
            if lexer.current != ASCII.at { break }
            if !route.isEmpty { route.append(ASCII.comma) }
            route.append(ASCII.at)
            let step = lexer.parseDomain(into: &route)
            if step != .more { return step }
            while lexer.skipCFWS() == .more && lexer.current == ASCII.comma { lexer.pos += 1 }
        }
        address.route = route
        return .more
    }

    /// `addr-spec = local-part "@" domain`; a comment seen meanwhile becomes the name.
    private mutating func parseAddrSpec() -> RFC822Lexer.Step {
        lexer.lastComment = []
        var step = parseLocalPart()
        if step != .end && lexer.current == ASCII.at {
            let domainStep = parseDomain()
            if domainStep != .more { step = domainStep }
        }
        if let comment = lexer.lastComment, !comment.isEmpty { address.name = comment }
        return step
    }

    /// `local-part = dot-atom / quoted-string / obs-local-part`
    private mutating func parseLocalPart() -> RFC822Lexer.Step {
        guard !lexer.atEnd else { return .broken }
        var local: [UInt8] = []
        let step =
            lexer.current == ASCII.dquote
            ? lexer.parseQuotedString(into: &local) : lexer.parseDotAtom(into: &local)
        if step == .broken { return .broken }
        address.mailbox = local
        return step
    }

    private mutating func parseDomain() -> RFC822Lexer.Step {
        var domain: [UInt8] = []
        let step = lexer.parseDomain(into: &domain)
        if step == .broken { return .broken }
        address.domain = domain
        return step
    }
}
