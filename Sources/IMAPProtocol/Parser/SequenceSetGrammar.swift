/// RFC 9051 §9 `sequence-set` and RFC 5182 `$`.
extension GrammarParser {
    /// `sequence-set = (seq-number / seq-range) ["," sequence-set]`, or `$`
    /// (`seq-last-command`, RFC 5182) standing alone.
    /// `seq-range = seq-number ":" seq-number`; `seq-number = nz-number / "*"`.
    /// Every error here is "Invalid sequence set", including a trailing `,` or a
    /// number glued to letters (`1abc`).
    mutating func sequenceSet<Number: MessageNumber>(
        of type: Number.Type = Number.self
    ) throws(ParseError) -> SequenceSet<Number> {
        if consume(ASCII.dollar) {
            try endOfSequenceSet()
            return .lastSearchResult
        }
        var ranges: [SequenceRange<Number>] = []
        repeat {
            let first: SequenceBound<Number> = try sequenceBound()
            if consume(ASCII.colon) {
                ranges.append(SequenceRange(first, try sequenceBound()))
            } else {
                ranges.append(SequenceRange(single: first))
            }
        } while consume(ASCII.comma)
        try endOfSequenceSet()
        return .ranges(ranges)
    }

    /// `seq-number = nz-number / "*"` (nz-number: 1 … 4294967295).
    private mutating func sequenceBound<Number: MessageNumber>() throws(ParseError) -> SequenceBound<Number> {
        if consume(ASCII.asterisk) { return .star }
        guard let b = peek(), ASCII.isDigit(b), b != ASCII.zero else { throw .invalidSequenceSet }
        do {
            return .number(Number(try nzNumber()))
        } catch {
            throw .invalidSequenceSet
        }
    }

    /// A set ends where an argument ends: SP, `)` or the end of the command.
    private func endOfSequenceSet() throws(ParseError) {
        guard let b = peek(), b != ASCII.space, b != ASCII.closeParen else { return }
        throw .invalidSequenceSet
    }

    /// The set of a command that has a UID form: UIDs after `UID`, sequence
    /// numbers otherwise.
    mutating func messageSet(uid: Bool) throws(ParseError) -> MessageSet {
        uid ? .uids(try sequenceSet()) : .sequenceNumbers(try sequenceSet())
    }
}
