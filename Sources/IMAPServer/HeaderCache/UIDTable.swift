// Values by UID for the header cache's tables: two parallel arrays in ascending UID
// order, so looking up a folder's messages (which ascend too) is a walk along both,
// not a hash lookup per message. With a dictionary, each of a 100,000-message SORT's
// lookups missed the CPU cache: a quarter of a warm SORT's time.

struct UIDTable<Value: Sendable>: Sendable {
    private var uids: [UInt32] = []
    private var values: [Value] = []
    /// A UID was put out of order or twice since the last `normalize`.
    private var disordered = false

    var count: Int { uids.count }

    init() {}

    /// A table of `uids` (strictly ascending, as the caller checked) and their values.
    init(ascending uids: [UInt32], values: [Value]) {
        precondition(uids.count == values.count)
        self.uids = uids
        self.values = values
    }

    mutating func reserveCapacity(_ capacity: Int) {
        uids.reserveCapacity(capacity)
        values.reserveCapacity(capacity)
    }

    /// Adds a value; the last one put for a UID wins (after `normalize`).
    mutating func put(_ uid: UInt32, _ value: Value) {
        if let last = uids.last, uid <= last { disordered = true }
        uids.append(uid)
        values.append(value)
    }

    mutating func removeAll() {
        self = UIDTable()
    }

    /// Ascending UIDs, one value each (the last put). Call after putting and before
    /// `lookup`; cheap when the puts came in order (files are written in UID order).
    mutating func normalize() {
        guard disordered else { return }
        // Stable: among equal UIDs the later put sorts later, and is the one kept.
        let order = uids.indices.sorted { (uids[$0], $0) < (uids[$1], $1) }
        var sortedUIDs: [UInt32] = []
        var sortedValues: [Value] = []
        sortedUIDs.reserveCapacity(order.count)
        sortedValues.reserveCapacity(order.count)
        for (position, index) in order.enumerated() {
            if position + 1 < order.count && uids[order[position + 1]] == uids[index] { continue }
            sortedUIDs.append(uids[index])
            sortedValues.append(values[index])
        }
        uids = sortedUIDs
        values = sortedValues
        disordered = false
    }

    /// The value of each UID (nil when there is none), for UIDs that mostly ascend: the
    /// next match is looked for just after the last one, else by binary search.
    func lookup(_ wanted: some Sequence<UInt32>) -> [Value?] {
        assert(!disordered, "UIDTable.lookup before normalize")
        var found: [Value?] = []
        found.reserveCapacity(wanted.underestimatedCount)
        var next = 0
        for uid in wanted {
            // `next` is where the last search ended; the binary search only when it is
            // not already the first UID at or above this one.
            let placed = next < uids.count && uids[next] >= uid && (next == 0 || uids[next - 1] < uid)
            if !placed { next = lowerBound(uid) }
            if next < uids.count && uids[next] == uid {
                found.append(values[next])
                next += 1
            } else {
                found.append(nil)
            }
        }
        return found
    }

    /// The UIDs and their values, ascending (after `normalize`).
    var columns: (uids: [UInt32], values: [Value]) { (uids, values) }

    /// Every UID with its value, ascending (after `normalize`).
    var entries: Zip2Sequence<[UInt32], [Value]> { zip(uids, values) }

    private func lowerBound(_ uid: UInt32) -> Int {
        var low = 0
        var high = uids.count
        while low < high {
            let mid = (low + high) / 2
            if uids[mid] < uid { low = mid + 1 } else { high = mid }
        }
        return low
    }
}
