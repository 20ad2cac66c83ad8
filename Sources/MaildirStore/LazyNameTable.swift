// A dictionary by file name that a loaded folder state (imapd-index) starts as the
// saved pairs, built into the dictionary only when first looked up or changed: the
// first SELECT of a large folder after a restart looks none up (LocationTable,
// FolderState.recordUIDs), and building two dictionaries of 100,000 names was about
// half of it.
import Synchronization

/// The pairs of a loaded table, in the order they were saved. They may be read from
/// what the folder state holds anyway (RecordUIDs: the records' names and UIDs) or kept
/// coded (LoadedLocations), each made when it is read: no second array of 100,000
/// names at the load.
protocol SavedPairs<Value> {
    associatedtype Value
    var count: Int { get }
    func name(at index: Int) -> String
    func value(at index: Int) -> Value
}

struct LazyNameTable<Value: Sendable>: Sendable, ExpressibleByDictionaryLiteral {
    private var table: [String: Value] = [:]
    /// Loaded pairs not yet in `table` (which is empty while they are kept).
    private var saved: Saved?

    /// The pairs of a loaded table, and their dictionary once built. Nothing in it
    /// changes after the load but that one build, under its lock: copies of a table
    /// (snapshots of the folder state) share it safely.
    final class Saved: Sendable {
        let pairs: any SavedPairs<Value> & Sendable
        private let built = Mutex<[String: Value]?>(nil)

        init(_ pairs: any SavedPairs<Value> & Sendable) {
            self.pairs = pairs
        }

        var dictionary: [String: Value] {
            built.withLock { built in
                if let built { return built }
                let made = make()
                built = made
                return made
            }
        }

        /// The dictionary given away (the table holding the only reference to this
        /// is about to change it: no copy of 100,000 entries at its first change).
        func take() -> [String: Value] {
            built.withLock { built in
                let made = built ?? make()
                built = nil
                return made
            }
        }

        /// A name given twice keeps its first value (as the uidlist's first record of
        /// a repeated name keeps its UID; the index writer never repeats a file).
        private func make() -> [String: Value] {
            var made: [String: Value] = [:]
            made.reserveCapacity(pairs.count)
            for index in 0..<pairs.count {
                let name = pairs.name(at: index)
                if let first = made.updateValue(pairs.value(at: index), forKey: name) { made[name] = first }
            }
            return made
        }
    }

    init(dictionaryLiteral elements: (String, Value)...) {
        for (name, value) in elements { table[name] = value }
    }

    /// A loaded table.
    init(loaded pairs: any SavedPairs<Value> & Sendable) {
        saved = Saved(pairs)
    }

    /// The whole table as a dictionary (built now if it was loaded and never used).
    var dictionary: [String: Value] { saved?.dictionary ?? table }

    subscript(name: String) -> Value? {
        get { dictionary[name] }
        set {
            takeSaved()
            table[name] = newValue
        }
    }

    /// The value of `name` when it is the `index`th pair of a loaded table never
    /// changed since, read in place (a FETCH of a few messages after a restart does not
    /// build the dictionary of 100,000); else the dictionary's.
    func value(of name: String, savedAt index: Int) -> Value? {
        if let saved, index >= 0, index < saved.pairs.count, saved.pairs.name(at: index) == name {
            return saved.pairs.value(at: index)
        }
        return self[name]
    }

    /// Removes the entry of `name`, answering its value.
    mutating func removeValue(forKey name: String) -> Value? {
        takeSaved()
        return table.removeValue(forKey: name)
    }

    /// Stores `value`, answering the one it replaces.
    mutating func updateValue(_ value: Value, forKey name: String) -> Value? {
        takeSaved()
        return table.updateValue(value, forKey: name)
    }

    /// Before a change: the loaded pairs become the dictionary itself.
    private mutating func takeSaved() {
        guard var box = saved else { return }
        saved = nil
        table = isKnownUniquelyReferenced(&box) ? box.take() : box.dictionary
    }

    /// Entries (for a loaded table with a repeated name, the pairs saved).
    var count: Int { saved?.pairs.count ?? table.count }

    mutating func reserveCapacity(_ capacity: Int) {
        takeSaved()
        table.reserveCapacity(capacity)
    }

    /// Visits the entries whose value passes `isIncluded`; a loaded table is walked
    /// as saved, without building its dictionary.
    func forEach(where isIncluded: (Value) -> Bool, _ body: (String, Value) -> Void) {
        if let saved {
            for index in 0..<saved.pairs.count {
                let value = saved.pairs.value(at: index)
                if isIncluded(value) { body(saved.pairs.name(at: index), value) }
            }
        } else {
            for (name, value) in table where isIncluded(value) { body(name, value) }
        }
    }
}
