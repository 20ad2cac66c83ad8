import IMAPProtocol
import MaildirStore

/// UIDs for `VANISHED (EARLIER)` (RFC 7162 §3.2.5.2, §3.2.6), always as ranges: a client
/// may name `1:4294967295` as its known UIDs, so nothing here lists UIDs one by one
/// beyond what the folder holds (its messages, its remembered expunges).
extension MailboxView {
    /// `ranges` (ascending, disjoint) cut to UIDs this folder may have given out:
    /// 1 to UIDNEXT-1.
    func clampedToAssigned(_ ranges: [ClosedRange<UInt32>]) -> [ClosedRange<UInt32>] {
        guard uidNext.rawValue > 1 else { return [] }
        let last = uidNext.rawValue - 1
        return ranges.compactMap { $0.lowerBound <= last ? max(1, $0.lowerBound)...min($0.upperBound, last) : nil }
    }

    /// The UIDs of `ranges` (ascending, disjoint) that are not in the view, as ranges.
    /// O(ranges + messages): one pass over both.
    func absentUIDs(in ranges: [ClosedRange<UInt32>]) -> [ClosedRange<UInt32>] {
        var result: [ClosedRange<UInt32>] = []
        var index = 0
        for range in ranges {
            while index < count, uid(atIndex: index).rawValue < range.lowerBound { index += 1 }
            // UInt64: the gap after UID 4294967295 must not overflow.
            var low = UInt64(range.lowerBound)
            while index < count, uid(atIndex: index).rawValue <= range.upperBound {
                let present = UInt64(uid(atIndex: index).rawValue)
                if present > low { result.append(UInt32(low)...UInt32(present - 1)) }
                low = present + 1
                index += 1
            }
            if low <= UInt64(range.upperBound) { result.append(UInt32(low)...range.upperBound) }
        }
        return result
    }

    /// `uids` (ascending) that lie in `ranges` (ascending, disjoint) and are no longer
    /// in the view, as ranges. A message expunged whose expunge this client was not
    /// told of yet is still in the view: its VANISHED comes with the other updates.
    func vanished(_ uids: [StoreUID], within ranges: [ClosedRange<UInt32>]) -> [ClosedRange<UInt32>] {
        var kept: [UInt32] = []
        var r = 0
        for uid in uids {
            while r < ranges.count, ranges[r].upperBound < uid.rawValue { r += 1 }
            guard r < ranges.count else { break }
            if ranges[r].contains(uid.rawValue) && sequenceNumber(of: uid) == nil { kept.append(uid.rawValue) }
        }
        return mergedRanges(kept)
    }

    /// VANISHED (EARLIER) for a client that last synchronized at `modSeq` and asks
    /// about `ranges` (already clamped): from the folder's remembered expunges when
    /// they reach back that far, else every UID of `ranges` not in the view (RFC 7162
    /// §3.2.5.2 allows reporting UIDs the client may never have known).
    func vanishedSince(_ modSeq: ModSeq, within ranges: [ClosedRange<UInt32>], folder: SharedFolder)
        -> [ClosedRange<UInt32>]
    {
        guard !ranges.isEmpty else { return [] }
        if let expunged = folder.expunged(since: modSeq) { return vanished(expunged, within: ranges) }
        return absentUIDs(in: ranges)
    }

    /// RFC 7162 §3.2.5.2 seq-match-data: pairs of a message sequence number and the
    /// UID the client has there, ascending. While the view has the same UID at that
    /// number, no message below it was expunged unseen by the client (the counts
    /// agree), so VANISHED need only cover UIDs above the last matching pair; the
    /// first mismatch ends the search (as Dovecot does). Returns the first UID still
    /// to report, 1 when nothing matched. Walks the sets in step, at most `count`
    /// pairs, never expanding them into arrays.
    func firstUnmatchedUID(sequenceNumbers: [ClosedRange<UInt32>], uids: [ClosedRange<UInt32>]) -> UInt32 {
        var start: UInt32 = 1
        var s = RangeWalker(sequenceNumbers)
        var u = RangeWalker(uids)
        while let n = s.next(), let known = u.next() {
            guard n >= 1, Int(n) <= count, uid(atIndex: Int(n) - 1).rawValue == known, known < .max else { break }
            start = known + 1
        }
        return start
    }
}

/// Steps through ascending ranges one value at a time.
struct RangeWalker {
    private let ranges: [ClosedRange<UInt32>]
    private var range = 0
    private var value: UInt64

    init(_ ranges: [ClosedRange<UInt32>]) {
        self.ranges = ranges
        value = UInt64(ranges.first?.lowerBound ?? 0)
    }

    mutating func next() -> UInt32? {
        while range < ranges.count {
            if value <= UInt64(ranges[range].upperBound) {
                defer { value += 1 }
                return UInt32(value)
            }
            range += 1
            if range < ranges.count { value = UInt64(ranges[range].lowerBound) }
        }
        return nil
    }

    /// How many values the ranges hold.
    static func count(_ ranges: [ClosedRange<UInt32>]) -> UInt64 {
        ranges.reduce(0) { $0 + UInt64($1.upperBound - $1.lowerBound) + 1 }
    }
}
