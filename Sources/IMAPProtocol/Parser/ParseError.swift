/// Why a command is a BAD. The message goes on the wire (`tag BAD message`), so it is
/// short, never echoes argument values (they may be passwords), and only names a
/// command when that name is a plain atom.
struct ParseError: Error, Equatable {
    var message: String
    init(_ message: String) { self.message = message }

    static let missingArgument = ParseError("Missing argument")
    static let unexpectedCharacter = ParseError("Unexpected character")
    static let unbalancedParentheses = ParseError("Unbalanced parentheses")
    static let invalidSequenceSet = ParseError("Invalid sequence set")
    static let invalidNumber = ParseError("Invalid number")
    static let invalidUTF8 = ParseError("Invalid UTF-8")
    static let invalidDate = ParseError("Invalid date")
    static let invalidFlag = ParseError("Invalid flag")
    static let invalidLiteral = ParseError("Invalid literal")
    static let invalidQuotedString = ParseError("Invalid quoted string")
    static let tooDeeplyNested = ParseError("Too deeply nested")
}
