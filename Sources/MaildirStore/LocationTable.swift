// Base name → current file of every known message (LocationTable), with the digest of
// their names (NameDigest.swift).
//
// A table loaded from imapd-index starts as the saved pairs and becomes a dictionary
// only when first looked up or changed. The first SELECT of a large folder after a
// restart, its directories unchanged, looks nothing up: building the dictionary of
// 100,000 names there was about 40 % of that SELECT (cold, 100,000 messages: 100–120 ms
// with it, 52–64 ms without).
import Synchronization

struct LocationTable: Sendable, ExpressibleByDictionaryLiteral {
    private var table: [String: MessageLocation] = [:]
    /// Loaded pairs not yet in `table` (which is empty while they are kept).
    private var saved: Saved?
    private(set) var digest = NameDigest()
    /// How many of the files are in new/: a synchronize that moves new/ to cur/ skips
    /// the walk over every location when this is 0 (issue 12: a NOOP on a 100,000-
    /// message folder does no per-message work).
    private(set) var inNewCount = 0

    /// The pairs of a loaded table, and their dictionary once built. Nothing in it
    /// changes after the load but that one build, under its lock: copies of a table
    /// (snapshots of the folder state) share it safely.
    final class Saved: Sendable {
        let names: [String]
        let locations: [MessageLocation]
        private let built = Mutex<[String: MessageLocation]?>(nil)

        init(names: [String], locations: [MessageLocation]) {
            self.names = names
            self.locations = locations
        }

        var dictionary: [String: MessageLocation] {
            built.withLock { built in
                if let built { return built }
                let made = make()
                built = made
                return made
            }
        }

        /// The dictionary given away (the table holding the only reference to this
        /// is about to change it: no copy of 100,000 entries on its first change).
        func take() -> [String: MessageLocation] {
            built.withLock { built in
                let made = built ?? make()
                built = nil
                return made
            }
        }

        /// A name saved twice (only a forged index could hold one: the writer's state
        /// has one file per name) keeps its first location.
        private func make() -> [String: MessageLocation] {
            var made: [String: MessageLocation] = [:]
            made.reserveCapacity(names.count)
            for (name, location) in zip(names, locations) {
                if let first = made.updateValue(location, forKey: name) { made[name] = first }
            }
            return made
        }
    }

    init(dictionaryLiteral elements: (String, MessageLocation)...) {
        for (base, location) in elements { self[base] = location }
    }

    /// A loaded table (FolderIndexFormat): the names and their files in message order,
    /// and the digest saved with them (not hashed again: a tenth of the load).
    init(loaded names: [String], _ locations: [MessageLocation], digest: NameDigest) {
        saved = Saved(names: names, locations: locations)
        self.digest = digest
        inNewCount = locations.count(where: \.inNew)
    }

    /// The whole table as a dictionary (built now if it was loaded and never used).
    var byBaseName: [String: MessageLocation] { saved?.dictionary ?? table }

    subscript(base: String) -> MessageLocation? {
        get { byBaseName[base] }
        set {
            takeSaved()
            if let old = table[base] {
                digest.remove(NameDigest.hasher(old))
                if old.inNew { inNewCount -= 1 }
            }
            if let newValue {
                digest.insert(NameDigest.hasher(newValue))
                if newValue.inNew { inNewCount += 1 }
            }
            table[base] = newValue
        }
    }

    /// Before a change: the loaded pairs become the dictionary itself.
    private mutating func takeSaved() {
        guard var box = saved else { return }
        saved = nil
        table = isKnownUniquelyReferenced(&box) ? box.take() : box.dictionary
    }

    var count: Int { saved?.names.count ?? table.count }

    mutating func reserveCapacity(_ capacity: Int) {
        takeSaved()
        table.reserveCapacity(capacity)
    }

    var keys: Dictionary<String, MessageLocation>.Keys { byBaseName.keys }

    func filter(_ isIncluded: ((key: String, value: MessageLocation)) throws -> Bool) rethrows -> [String:
        MessageLocation]
    {
        try byBaseName.filter(isIncluded)
    }

    /// The files in new/ (none to visit when `inNewCount` is 0), without building the
    /// dictionary of a loaded table.
    func forEachInNew(_ body: (String, MessageLocation) -> Void) {
        guard inNewCount > 0 else { return }
        if let saved {
            for (name, location) in zip(saved.names, saved.locations) where location.inNew { body(name, location) }
        } else {
            for (name, location) in table where location.inNew { body(name, location) }
        }
    }
}
