/// RFC 9051 §9 `sequence-set`: comma-separated numbers and ranges, `*` meaning the
/// largest number in use, ranges in either order (`4:2` is `2:4`), and `$` (RFC 5182
/// SEARCHRES) meaning the result of the last `SEARCH … RETURN (SAVE)`.

/// One end of a range: a number or `*`.
public enum SequenceBound<Number: MessageNumber>: Hashable, Sendable {
    case number(Number)
    /// `*`: the largest number in use (the last message), or, in an empty mailbox, none.
    case star

    /// The concrete value, with `*` standing for `largest`.
    public func resolved(largest: UInt32) -> UInt32 {
        switch self {
        case .number(let n): return n.rawValue
        case .star: return largest
        }
    }
}

/// `seq-range = seq-number ":" seq-number` (or a single `seq-number`, first == last).
public struct SequenceRange<Number: MessageNumber>: Hashable, Sendable {
    public var first: SequenceBound<Number>
    public var last: SequenceBound<Number>
    public init(_ first: SequenceBound<Number>, _ last: SequenceBound<Number>) {
        self.first = first
        self.last = last
    }
    public init(single: SequenceBound<Number>) { self.init(single, single) }

    /// The closed range this denotes once `*` is known, low end first.
    public func resolved(largest: UInt32) -> ClosedRange<UInt32> {
        let a = first.resolved(largest: largest)
        let b = last.resolved(largest: largest)
        return min(a, b)...max(a, b)
    }
}

/// A parsed sequence set. `UID FETCH` etc. carry `SequenceSet<UID>`, plain `FETCH`
/// carries `SequenceSet<SequenceNumber>`.
public enum SequenceSet<Number: MessageNumber>: Hashable, Sendable {
    case ranges([SequenceRange<Number>])
    /// `$` (RFC 5182): the saved result of the last SEARCH with RETURN (SAVE).
    case lastSearchResult

    /// The set's ranges once `*` is known, sorted and merged. `lastSearchResult`
    /// yields nil: the session substitutes its saved result.
    public func resolvedRanges(largest: UInt32) -> [ClosedRange<UInt32>]? {
        guard case .ranges(let ranges) = self else { return nil }
        let sorted = ranges.map { $0.resolved(largest: largest) }.sorted { $0.lowerBound < $1.lowerBound }
        var merged: [ClosedRange<UInt32>] = []
        for r in sorted {
            if let last = merged.last,
                r.lowerBound <= last.upperBound
                    || (last.upperBound < .max && r.lowerBound == last.upperBound + 1)
            {
                merged[merged.count - 1] = last.lowerBound...max(last.upperBound, r.upperBound)
            } else {
                merged.append(r)
            }
        }
        return merged
    }
}
