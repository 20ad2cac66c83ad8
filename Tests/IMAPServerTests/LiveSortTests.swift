import IMAPProtocol
import MailMessage
import MaildirStore
import XCTest

@testable import IMAPServer

/// LiveSort (CONTEXT=SORT) against a full re-sort: after random removals and
/// insertions the kept order is the order SORT would give, and a client that applies
/// the REMOVEFROM and ADDTO pairs in order, as RFC 5267 §4.3 describes, ends with the
/// same list.
final class LiveSortTests: XCTestCase {
    private func message(_ uid: UInt32, size: Int, subject: String) -> SortMessage {
        var headers = SortHeaders()
        headers.subject = subject
        var message = SortMessage(sequenceNumber: SequenceNumber(uid), uid: StoreUID(uid), internalDate: 0, size: size)
        message.setHeaders(headers)
        return message
    }

    /// A client's copy: REMOVEFROM pairs remove the named numbers, ADDTO pairs insert
    /// their numbers at `position` (1-based) onwards, in order.
    private func apply(
        _ pairs: [(position: UInt32, numbers: [ClosedRange<UInt32>])], to list: inout [UInt32], adding: Bool
    ) {
        for (position, ranges) in pairs {
            let numbers = ranges.flatMap { Array($0) }
            if adding {
                list.insert(contentsOf: numbers, at: Int(position) - 1)
            } else {
                XCTAssertEqual(list[Int(position) - 1], numbers.first, "REMOVEFROM position")
                list.removeAll { numbers.contains($0) }
            }
        }
    }

    func testRandomChangesMatchAFullSort() {
        // Seeded: a failure repeats.
        var generator = SplitMix64(seed: 5267)
        for criteria in [
            [SortCriterion(.size)], [SortCriterion(.size, reverse: true)],
            [SortCriterion(.subject), SortCriterion(.size, reverse: true)],
        ] {
            var all: [UInt32: SortMessage] = [:]
            var nextUID: UInt32 = 1
            func fresh() -> SortMessage {
                defer { nextUID += 1 }
                let m = message(
                    nextUID, size: Int.random(in: 0..<20, using: &generator),
                    subject: ["a", "b", "c"].randomElement(using: &generator)!)
                all[m.uid.rawValue] = m
                return m
            }
            let initial = (0..<50).map { _ in fresh() }
            let live = LiveSort(
                criteria: criteria, ordered: SortOrder.order(initial, by: criteria).map { initial[$0] })
            var client = live.ordered.map(\.uid.rawValue)
            for _ in 0..<30 {
                let present = live.ordered.map(\.uid)
                let gone = Set(present.filter { _ in Int.random(in: 0..<8, using: &generator) == 0 })
                apply(live.remove(gone) { $0.rawValue }, to: &client, adding: false)
                let added = (0..<Int.random(in: 0..<6, using: &generator)).map { _ in fresh() }
                apply(live.insert(added) { $0.rawValue }, to: &client, adding: true)
                let kept = live.ordered.map { all[$0.uid.rawValue]! }.sorted { $0.uid < $1.uid }
                let expected = SortOrder.order(kept, by: criteria).map { kept[$0].uid.rawValue }
                XCTAssertEqual(live.ordered.map(\.uid.rawValue), expected, "\(criteria)")
                XCTAssertEqual(client, expected, "\(criteria)")
            }
        }
    }
}

/// A small seeded generator (SplitMix64), so the random cases are the same every run.
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
