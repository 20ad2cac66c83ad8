import IMAPProtocol
import MaildirStore

/// RFC 5267 §4 CONTEXT=SORT: the ordered result of a live `SORT RETURN (UPDATE)`.
/// Sort values come from headers, size and INTERNALDATE, which never change for a
/// message in a Maildir: a message keeps its place while it matches, so an update only
/// removes and inserts. Positions are 1-based places in the sort order (RFC 5267 §4.3).
final class LiveSort {
    let criteria: [SortCriterion]
    let fields: SortFields
    let needsDetails: Bool
    /// The result, in sort order.
    private(set) var ordered: [SortMessage]

    init(criteria: [SortCriterion], ordered: [SortMessage]) {
        self.criteria = criteria
        let keys = Set(criteria.map(\.key))
        fields = SortFields(criteria.map(\.key))
        needsDetails = !keys.isDisjoint(with: [.arrival, .size, .date])
        self.ordered = ordered
    }

    /// Removes `uids` from the result. The REMOVEFROM pairs name each removed message
    /// at its position, the last first, so each pair holds when the client applies
    /// them in order.
    func remove(_ uids: Set<StoreUID>, number: (StoreUID) -> UInt32) -> [(
        position: UInt32, numbers: [ClosedRange<UInt32>]
    )] {
        guard !uids.isEmpty else { return [] }
        var pairs: [(position: UInt32, numbers: [ClosedRange<UInt32>])] = []
        for index in ordered.indices.reversed() where uids.contains(ordered[index].uid) {
            let n = number(ordered[index].uid)
            pairs.append((UInt32(index + 1), [n...n]))
        }
        ordered.removeAll { uids.contains($0.uid) }
        return pairs
    }

    /// Inserts `messages` in sort order: a binary search per message (O(k log n)
    /// comparisons) and one merge. The ADDTO pairs give the positions in the new
    /// order, ascending, consecutive ones together with their numbers in sort order.
    func insert(_ messages: [SortMessage], number: (StoreUID) -> UInt32) -> [(
        position: UInt32, numbers: [ClosedRange<UInt32>]
    )] {
        guard !messages.isEmpty else { return [] }
        let placed =
            messages
            .map { (index: insertionIndex($0), message: $0) }
            .sorted { a, b in
                a.index != b.index ? a.index < b.index : SortOrder.precedes(a.message, b.message, criteria)
            }
        var merged: [SortMessage] = []
        merged.reserveCapacity(ordered.count + placed.count)
        var next = 0
        var positions: [(position: UInt32, numbers: [UInt32])] = []
        for (index, message) in placed {
            while next < index {
                merged.append(ordered[next])
                next += 1
            }
            merged.append(message)
            let position = UInt32(merged.count)
            if let last = positions.last, last.position + UInt32(last.numbers.count) == position {
                positions[positions.count - 1].numbers.append(number(message.uid))
            } else {
                positions.append((position, [number(message.uid)]))
            }
        }
        merged += ordered[next...]
        ordered = merged
        return positions.map { ($0.position, SortOrder.runs($0.numbers)) }
    }

    /// The first index whose message `message` sorts before.
    private func insertionIndex(_ message: SortMessage) -> Int {
        var low = 0
        var high = ordered.count
        while low < high {
            let mid = (low + high) / 2
            if SortOrder.precedes(message, ordered[mid], criteria) { high = mid } else { low = mid + 1 }
        }
        return low
    }
}

extension SortOrder {
    /// Whether `a` sorts before `b` under `criteria` (ties in mailbox order, which is
    /// UID order), as `order` sorts.
    static func precedes(_ a: SortMessage, _ b: SortMessage, _ criteria: [SortCriterion]) -> Bool {
        for criterion in criteria {
            let (x, y) = (value(criterion.key, a), value(criterion.key, b))
            if x == y { continue }
            return criterion.reverse ? y < x : x < y
        }
        return a.uid < b.uid
    }
}
