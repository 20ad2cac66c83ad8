/// A cursor over one framed command (see `CommandDecoder.State`: lines without their
/// CRLF, literal bytes right after the `}` that announced them) and the lexical
/// productions of RFC 9051 §9 every command shares: SP, atoms, numbers, strings.
/// Per-area productions live in extensions (`CommandGrammar`, `FetchGrammar`, …).
///
/// Every read is bounds-checked: running off the end is a `ParseError`, never a trap.
struct GrammarParser {
    let bytes: [UInt8]
    /// Offsets where the framer placed literal data; a `{n}` is a literal only there.
    let literalStarts: [Int]
    var position = 0

    init(bytes: [UInt8], literalStarts: [Int]) {
        self.bytes = bytes
        self.literalStarts = literalStarts
    }

    var isAtEnd: Bool { position >= bytes.count }

    func peek(_ offset: Int = 0) -> UInt8? {
        let i = position + offset
        return i >= 0 && i < bytes.count ? bytes[i] : nil
    }

    // MARK: - Single bytes

    /// Consumes `byte` if it is next.
    mutating func consume(_ byte: UInt8) -> Bool {
        guard peek() == byte else { return false }
        position += 1
        return true
    }

    /// Requires `byte` next: a missing byte at the end is a missing argument.
    mutating func expect(_ byte: UInt8) throws(ParseError) {
        guard let b = peek() else {
            throw byte == ASCII.closeParen ? .unbalancedParentheses : .missingArgument
        }
        guard b == byte else {
            throw byte == ASCII.closeParen && b != ASCII.space ? .unbalancedParentheses : .unexpectedCharacter
        }
        position += 1
    }

    /// `SP`
    mutating func space() throws(ParseError) { try expect(ASCII.space) }

    /// The end of the command: anything left over is an error.
    func expectEnd() throws(ParseError) {
        guard let b = peek() else { return }
        throw b == ASCII.closeParen ? .unbalancedParentheses : .unexpectedCharacter
    }

    // MARK: - Runs and keywords

    /// The longest run of bytes satisfying `predicate` (possibly empty).
    mutating func run(while predicate: (UInt8) -> Bool) -> Range<Int> {
        let start = position
        while position < bytes.count, predicate(bytes[position]) { position += 1 }
        return start..<position
    }

    /// A non-empty run, else the error for what is there instead.
    mutating func nonEmptyRun(while predicate: (UInt8) -> Bool) throws(ParseError) -> Range<Int> {
        let range = run(while: predicate)
        guard range.isEmpty else { return range }
        throw isAtEnd ? .missingArgument : .unexpectedCharacter
    }

    /// The bytes of `range` as an ASCII upper-cased String (keywords are
    /// case-insensitive, RFC 9051 §9 note 1). Short keywords stay in Swift's inline
    /// small-string storage: no allocation.
    func uppercased(_ range: Range<Int>) -> String {
        String(unsafeUninitializedCapacity: range.count) { buffer in
            var i = 0
            for b in bytes[range] {
                buffer[i] = ASCII.uppercased(b)
                i += 1
            }
            return i
        }
    }

    /// `atom`, as sent (ASCII by construction).
    mutating func atom() throws(ParseError) -> String {
        let range = try nonEmptyRun(while: ASCII.isAtomChar)
        return String(decoding: bytes[range], as: UTF8.self)
    }

    /// An atom used as a keyword, upper-cased.
    mutating func keyword() throws(ParseError) -> String {
        uppercased(try nonEmptyRun(while: ASCII.isAtomChar))
    }

    /// A keyword made of letters only (FETCH attribute parts, SEARCH keys, section
    /// texts), upper-cased; `extra` admits e.g. "." or "-".
    mutating func letters(extra: UInt8? = nil, digits: Bool = false) throws(ParseError) -> String {
        let range = try nonEmptyRun { b in
            ASCII.isLetter(b) || b == extra || (digits && ASCII.isDigit(b))
        }
        return uppercased(range)
    }

    /// The upper-cased atom at the cursor without consuming it (nil if none).
    func peekKeyword() -> String? {
        var copy = self
        return try? copy.keyword()
    }

    // MARK: - Numbers

    /// `1*DIGIT` as UInt64; more than UInt64 holds is an error.
    mutating func digits() throws(ParseError) -> UInt64 {
        let range = try nonEmptyRun(while: ASCII.isDigit)
        var value: UInt64 = 0
        for b in bytes[range] {
            let (times10, o1) = value.multipliedReportingOverflow(by: 10)
            let (sum, o2) = times10.addingReportingOverflow(UInt64(b - ASCII.zero))
            guard !o1, !o2 else { throw .invalidNumber }
            value = sum
        }
        return value
    }

    /// `number = 1*DIGIT` (unsigned 32-bit).
    mutating func number() throws(ParseError) -> UInt32 {
        let value = try digits()
        guard value <= UInt64(UInt32.max) else { throw .invalidNumber }
        return UInt32(value)
    }

    /// `nz-number = digit-nz *DIGIT` (unsigned 32-bit, not 0).
    mutating func nzNumber() throws(ParseError) -> UInt32 {
        let value = try number()
        guard value > 0 else { throw .invalidNumber }
        return value
    }

    /// `number64 = 1*DIGIT` (0 ≤ n < 2^63).
    mutating func number64() throws(ParseError) -> UInt64 {
        let value = try digits()
        guard value <= UInt64(Int64.max) else { throw .invalidNumber }
        return value
    }

    /// `mod-sequence-value = 1*DIGIT` (RFC 7162: 1 ≤ n < 2^63).
    mutating func modSequenceValue() throws(ParseError) -> UInt64 {
        let value = try number64()
        guard value > 0 else { throw .invalidNumber }
        return value
    }

    // MARK: - Strings

    /// `astring = 1*ASTRING-CHAR / string`, raw bytes (a password keeps its bytes).
    mutating func astringBytes() throws(ParseError) -> [UInt8] {
        if let b = peek(), ASCII.isAstringChar(b) {
            return Array(bytes[run(while: ASCII.isAstringChar)])
        }
        return try stringBytes()
    }

    /// `astring`, decoded as UTF-8 (invalid UTF-8 is a BAD).
    mutating func astring() throws(ParseError) -> String { try utf8(astringBytes()) }

    /// `string = quoted / literal`, raw bytes.
    mutating func stringBytes() throws(ParseError) -> [UInt8] {
        switch peek() {
        case ASCII.dquote: return try quoted()
        case ASCII.openBrace: return Array(bytes[try literal(binaryAllowed: false).data])
        case nil: throw .missingArgument
        default: throw .unexpectedCharacter
        }
    }

    /// `string`, decoded as UTF-8.
    mutating func string() throws(ParseError) -> String { try utf8(stringBytes()) }

    /// `nstring = string / nil`; nil for `NIL`.
    mutating func nstring() throws(ParseError) -> String? {
        if let b = peek(), ASCII.isAtomChar(b) {
            guard try keyword() == "NIL" else { throw .unexpectedCharacter }
            return nil
        }
        return try string()
    }

    /// `quoted = DQUOTE *QUOTED-CHAR DQUOTE`; `QUOTED-CHAR = <any TEXT-CHAR except
    /// quoted-specials> / "\" quoted-specials / UTF8-2 / UTF8-3 / UTF8-4` (the UTF-8
    /// is validated by whoever turns the bytes into a String).
    mutating func quoted() throws(ParseError) -> [UInt8] {
        try expect(ASCII.dquote)
        var result: [UInt8] = []
        while true {
            guard let b = peek() else { throw .invalidQuotedString }
            position += 1
            switch b {
            case ASCII.dquote:
                return result
            case ASCII.backslash:
                guard let escaped = peek(), escaped == ASCII.dquote || escaped == ASCII.backslash else {
                    throw .invalidQuotedString
                }
                position += 1
                result.append(escaped)
            case ASCII.nul, ASCII.cr, ASCII.lf:
                throw .invalidQuotedString
            default:
                result.append(b)
            }
        }
    }

    /// `literal = "{" number64 ["+"] "}" CRLF *CHAR8` and, when allowed,
    /// `literal8 = "~{" number64 ["+"] "}" CRLF *OCTET`. Returns the range of the
    /// data in `bytes`. The framer already checked the size against the limits and
    /// recorded where the data starts.
    mutating func literal(binaryAllowed: Bool) throws(ParseError) -> (data: Range<Int>, isBinary: Bool) {
        var isBinary = false
        if binaryAllowed, consume(ASCII.tilde) { isBinary = true }
        try expect(ASCII.openBrace)
        let size = try digits()
        _ = consume(ASCII.plus)
        try expect(ASCII.closeBrace)
        guard literalStarts.contains(position), size <= UInt64(bytes.count - position) else {
            throw .invalidLiteral
        }
        let range = position..<(position + Int(size))
        position = range.upperBound
        return (range, isBinary)
    }

    func utf8(_ raw: [UInt8]) throws(ParseError) -> String {
        guard let s = String(validating: raw, as: UTF8.self) else { throw .invalidUTF8 }
        return s
    }

    // MARK: - Parenthesised lists

    /// `"(" [item *(SP item)] ")"`, or with `allowEmpty: false`
    /// `"(" item *(SP item) ")"`.
    mutating func parenthesizedList<T>(
        allowEmpty: Bool, _ item: (inout GrammarParser) throws(ParseError) -> T
    ) throws(ParseError) -> [T] {
        try expect(ASCII.openParen)
        var items: [T] = []
        if allowEmpty, consume(ASCII.closeParen) { return items }
        repeat {
            items.append(try item(&self))
        } while consume(ASCII.space)
        try expect(ASCII.closeParen)
        return items
    }
}
