/// APPEND (RFC 9051 §6.3.12) with MULTIAPPEND (RFC 3502) and literal8 (RFC 3516),
/// and the flag productions APPEND and STORE share.
extension GrammarParser {
    /// `append = "APPEND" SP mailbox 1*append-message` (RFC 3502);
    /// `append-message = SP [flag-list SP] [date-time SP] (literal / literal8)`.
    /// The `~{n}` form (literal8) is accepted only here and sets `isBinary`.
    mutating func append() throws(ParseError) -> Command {
        let name = try spaceMailbox()
        var messages: [AppendMessage] = []
        repeat {
            let (flags, internalDate) = try appendMessageOptions()
            guard peek() == ASCII.openBrace || peek() == ASCII.tilde else {
                throw isAtEnd ? .missingArgument : ParseError("Expected a literal")
            }
            let (data, isBinary) = try literal(binaryAllowed: true)
            messages.append(
                AppendMessage(flags: flags, internalDate: internalDate, data: Array(bytes[data]), isBinary: isBinary))
        } while !isAtEnd
        return .append(name, messages)
    }

    /// `SP [flag-list SP] [date-time SP]`: what precedes each message literal.
    mutating func appendMessageOptions() throws(ParseError) -> ([Flag], IMAPDateTime?) {
        try space()
        var flags: [Flag] = []
        if peek() == ASCII.openParen {
            flags = try flagList()
            try space()
        }
        var internalDate: IMAPDateTime? = nil
        if peek() == ASCII.dquote {
            internalDate = try dateTime()
            try space()
        }
        return (flags, internalDate)
    }

    /// The text of a streamed APPEND before its first message literal:
    /// `tag SP "APPEND" SP mailbox SP [flag-list SP] [date-time SP] ["UTF8" SP "("]`,
    /// nothing more. Nil when `bytes` is anything else (the command is then framed as
    /// usual).
    static func appendPrefix(_ bytes: [UInt8], literalStarts: [Int]) -> (String, MailboxName, StreamedAppendOptions)? {
        var parser = GrammarParser(bytes: bytes, literalStarts: literalStarts)
        let tagRange = parser.run(while: ASCII.isTagChar)
        guard !tagRange.isEmpty, parser.consume(ASCII.space) else { return nil }
        guard let nameRange = try? parser.nonEmptyRun(while: ASCII.isAtomChar),
            parser.uppercased(nameRange) == appendCommandName,
            let name = try? parser.spaceMailbox(),
            let options = parser.streamedAppendOptions()
        else { return nil }
        return (String(decoding: bytes[tagRange], as: UTF8.self), name, options)
    }

    /// The text between two message literals of a streamed MULTIAPPEND
    /// (`SP [flag-list SP] [date-time SP] ["UTF8" SP "("]`), or nil if malformed.
    static func appendContinuation(_ bytes: [UInt8]) -> StreamedAppendOptions? {
        var parser = GrammarParser(bytes: bytes, literalStarts: [])
        return parser.streamedAppendOptions()
    }

    /// The options up to the end of `bytes`, where the message literal's marker begins.
    private mutating func streamedAppendOptions() -> StreamedAppendOptions? {
        guard let (flags, date) = try? appendMessageOptions() else { return nil }
        let utf8 = utf8DataOpening()
        guard isAtEnd else { return nil }
        return StreamedAppendOptions(flags: flags, internalDate: date, isUTF8Data: utf8)
    }

    /// RFC 6855 §4 `append-data =/ "UTF8" SP "(" literal8 ")"`: consumes `UTF8 (`
    /// when it comes next.
    private mutating func utf8DataOpening() -> Bool {
        var copy = self
        guard (try? copy.keyword()) == Self.utf8DataItem, copy.consume(ASCII.space), copy.consume(ASCII.openParen)
        else { return false }
        self = copy
        return true
    }

    static let appendCommandName = "APPEND"
    static let utf8DataItem = "UTF8"

    /// `flag-list = "(" [flag *(SP flag)] ")"`
    mutating func flagList() throws(ParseError) -> [Flag] {
        try parenthesizedList(allowEmpty: true) { (p: inout GrammarParser) throws(ParseError) in try p.flag() }
    }

    /// `flag = "\Answered" / "\Flagged" / "\Deleted" / "\Seen" / "\Draft" /
    /// flag-keyword / flag-extension`; `flag-extension = "\" atom`;
    /// `flag-keyword = atom`. `\*` (`flag-perm`) is only for PERMANENTFLAGS, never
    /// in a command.
    mutating func flag() throws(ParseError) -> Flag {
        if consume(ASCII.backslash) {
            guard let b = peek(), ASCII.isAtomChar(b) else { throw .invalidFlag }
            return Flag("\\" + (try atom()))
        }
        guard let b = peek(), ASCII.isAtomChar(b) else {
            throw isAtEnd ? .missingArgument : .invalidFlag
        }
        return Flag(try atom())
    }
}

/// What precedes one streamed APPEND message literal.
struct StreamedAppendOptions {
    var flags: [Flag]
    var internalDate: IMAPDateTime?
    /// Wrapped in RFC 6855 `UTF8 (…)`: the literal must be a literal8 and a `)` follows it.
    var isUTF8Data: Bool
}
