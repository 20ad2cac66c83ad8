/// RFC 9051 §9 `command = tag SP (command-any / command-auth / command-nonauth /
/// command-select) CRLF`, dispatched on the command name. The simple commands are
/// parsed here; the others in the per-area files (Mailbox, Append, Fetch, Search,
/// Store grammars).
enum CommandGrammar {
    /// Longest command name echoed in "Unknown command X".
    static let maxEchoedNameLength = 32

    /// Parses one framed command into the decoder's event.
    static func parse(_ bytes: [UInt8], literalStarts: [Int]) -> DecoderEvent {
        var parser = GrammarParser(bytes: bytes, literalStarts: literalStarts)
        let tagRange = parser.run(while: ASCII.isTagChar)
        guard !tagRange.isEmpty, parser.peek() == nil || parser.peek() == ASCII.space else {
            return .bad(tag: nil, message: "Invalid tag")
        }
        let tag = String(decoding: bytes[tagRange], as: UTF8.self)
        do throws(ParseError) {
            guard parser.consume(ASCII.space), !parser.isAtEnd else { throw ParseError("Missing command") }
            let command = try parser.command()
            try parser.expectEnd()
            return .command(TaggedCommand(tag: tag, command: command))
        } catch {
            return .bad(tag: tag, message: error.message)
        }
    }

    /// The tag of a (possibly partial) command, if it starts with a syntactically
    /// valid one followed by SP: for answering a command the framer refuses.
    static func tag(in bytes: [UInt8]) -> String? {
        var end = 0
        while end < bytes.count, ASCII.isTagChar(bytes[end]) { end += 1 }
        guard end > 0, end < bytes.count, bytes[end] == ASCII.space else { return nil }
        return String(decoding: bytes[..<end], as: UTF8.self)
    }
}

extension GrammarParser {
    /// Everything after `tag SP`.
    mutating func command() throws(ParseError) -> Command {
        let nameRange = try nonEmptyRun(while: ASCII.isAtomChar)
        let name = uppercased(nameRange)
        switch name {
        // command-any
        case "CAPABILITY": return .capability
        case "NOOP": return .noop
        case "LOGOUT": return .logout
        case "ID": return .id(try idParameters())
        case "ENABLE": return .enable(try enableArguments())
        // command-nonauth
        case "STARTTLS": return .starttls
        case "AUTHENTICATE": return try authenticate()
        case "LOGIN": return try login()
        // command-auth
        case "SELECT":
            try space()
            return .select(try mailbox(), try selectParameters())
        case "EXAMINE":
            try space()
            return .examine(try mailbox(), try selectParameters())
        case "CREATE": return try create()
        case "DELETE": return .delete(try spaceMailbox())
        case "RENAME": return .rename(from: try spaceMailbox(), to: try spaceMailbox())
        case "SUBSCRIBE": return .subscribe(try spaceMailbox())
        case "UNSUBSCRIBE": return .unsubscribe(try spaceMailbox())
        case "LIST": return .list(try listArguments())
        case "LSUB": return try lsub()
        case "NAMESPACE": return .namespace
        case "STATUS": return try status()
        case "APPEND": return try append()
        case "IDLE": return .idle
        case "GETQUOTA": return try getQuota()
        case "GETQUOTAROOT": return try getQuotaRoot()
        case "SETQUOTA": return try setQuota()
        case "COMPRESS":
            // RFC 4978 §5: `compress = "COMPRESS" SP algorithm`; `algorithm = "DEFLATE"`,
            // read as an atom so an unknown one is the session's BAD, with the tag.
            try space()
            return .compress(mechanism: try atom())
        // command-select
        case "CHECK": return .check
        case "CLOSE": return .close
        case "UNSELECT": return .unselect
        case "EXPUNGE": return .expunge
        case "SEARCH": return try search(kind: .sequenceNumber)
        case "SORT": return try sort(kind: .sequenceNumber)
        case "THREAD": return try thread(kind: .sequenceNumber)
        case "FETCH": return try fetch(uid: false)
        case "STORE": return try store(uid: false)
        case "COPY": return try copyOrMove(uid: false, move: false)
        case "MOVE": return try copyOrMove(uid: false, move: true)
        case "UID": return try uidCommand()
        case "CANCELUPDATE": return try cancelUpdate()
        default:
            throw ParseError("Unknown command " + String(name.prefix(CommandGrammar.maxEchoedNameLength)))
        }
    }

    /// RFC 5267 §4.5 `"CANCELUPDATE" 1*(SP tag-string)`, `tag-string = string`; at most
    /// 100 tags (a session holds far fewer live searches).
    mutating func cancelUpdate() throws(ParseError) -> Command {
        var tags: [String] = []
        repeat {
            guard tags.count < 100 else { throw ParseError("Too many CANCELUPDATE tags") }
            try space()
            tags.append(try string())
        } while peek() == ASCII.space
        return .cancelUpdate(tags)
    }

    /// `uid = "UID" SP (copy / move / fetch / search / store / uid-expunge)`, and
    /// RFC 5256's `sort` and `thread`
    mutating func uidCommand() throws(ParseError) -> Command {
        try space()
        let name = try keyword()
        switch name {
        case "COPY": return try copyOrMove(uid: true, move: false)
        case "MOVE": return try copyOrMove(uid: true, move: true)
        case "FETCH": return try fetch(uid: true)
        case "SEARCH": return try search(kind: .uid)
        case "SORT": return try sort(kind: .uid)
        case "THREAD": return try thread(kind: .uid)
        case "STORE": return try store(uid: true)
        case "EXPUNGE":
            // `uid-expunge = "EXPUNGE" SP sequence-set` (RFC 4315)
            try space()
            return .uidExpunge(try sequenceSet())
        default:
            throw ParseError("Unknown command UID " + String(name.prefix(CommandGrammar.maxEchoedNameLength)))
        }
    }

    /// RFC 2971: `id = "ID" SP id-params-list`;
    /// `id-params-list = "(" *(string SP nstring) ")" / nil`. Keys are accepted as
    /// astrings (some clients send atoms); `()` is accepted as an empty list.
    mutating func idParameters() throws(ParseError) -> [(key: String, value: String?)]? {
        try space()
        if peek() != ASCII.openParen {
            guard try keyword() == "NIL" else { throw .unexpectedCharacter }
            return nil
        }
        return try parenthesizedList(allowEmpty: true) { (p: inout GrammarParser) throws(ParseError) in
            let key = try p.astring()
            try p.space()
            return (key: key, value: try p.nstring())
        }
    }

    /// `enable = "ENABLE" 1*(SP capability)`; `capability = ("AUTH=" auth-type) / atom`.
    mutating func enableArguments() throws(ParseError) -> [String] {
        var names: [String] = []
        repeat {
            try space()
            names.append(try atom())
        } while !isAtEnd
        return names
    }

    /// `authenticate = "AUTHENTICATE" SP auth-type [SP initial-resp]` (RFC 4959);
    /// `initial-resp = (base64 / "=")`. The response lines that follow are read with
    /// `expectContinuationLine()`.
    mutating func authenticate() throws(ParseError) -> Command {
        try space()
        let mechanism = try atom()
        guard consume(ASCII.space) else { return .authenticate(mechanism: mechanism, initialResponse: nil) }
        // `base64 = *(4base64-char) [base64-terminal]`: the characters are checked
        // here, the decoding (and its padding rules) is the SASL layer's.
        let range = try nonEmptyRun { ASCII.isBase64Char($0) || $0 == ASCII.equals }
        let response = bytes[range]
        if let firstPad = response.firstIndex(of: ASCII.equals),
            response[firstPad...].contains(where: { $0 != ASCII.equals })
        {
            throw ParseError("Invalid base64")
        }
        return .authenticate(mechanism: mechanism, initialResponse: Secret(Array(response)))
    }

    /// `login = "LOGIN" SP userid SP password`; `userid = astring`, `password = astring`.
    mutating func login() throws(ParseError) -> Command {
        try space()
        let username = try astring()
        try space()
        let password = try astringBytes()
        return .login(username: username, password: Secret(password))
    }

    /// `mailbox = "INBOX" / astring`, the bytes kept as sent (RFC 9051 §5.1).
    mutating func mailbox() throws(ParseError) -> MailboxName {
        let raw = try astringBytes()
        guard let name = String(validating: raw, as: UTF8.self) else { throw ParseError("Invalid mailbox name") }
        return MailboxName(name)
    }

    mutating func spaceMailbox() throws(ParseError) -> MailboxName {
        try space()
        return try mailbox()
    }

    /// `copy = "COPY" SP sequence-set SP mailbox`, `move = "MOVE" SP sequence-set SP mailbox`.
    mutating func copyOrMove(uid: Bool, move: Bool) throws(ParseError) -> Command {
        try space()
        let set = try messageSet(uid: uid)
        let target = try spaceMailbox()
        return move ? .move(set, target) : .copy(set, target)
    }
}
