// Base name → current file of every known message, with the digest of their names
// (NameDigest.swift). Loaded from imapd-index, the names are a LazyNameTable: built
// into a dictionary when first used (cold SELECT of 100,000 messages: 100–120 ms
// with it built at the load, 52–64 ms without).

struct LocationTable: Sendable, ExpressibleByDictionaryLiteral {
    private var files: LazyNameTable<MessageLocation> = [:]
    private(set) var digest = NameDigest()
    /// How many of the files are in new/: a synchronize that moves new/ to cur/ skips
    /// the walk over every location when this is 0 (issue 12: a NOOP on a 100,000-
    /// message folder does no per-message work).
    private(set) var inNewCount = 0

    init(dictionaryLiteral elements: (String, MessageLocation)...) {
        for (base, location) in elements { self[base] = location }
    }

    /// A loaded table (FolderIndexFormat): the names and their files in message order,
    /// and the digest saved with them (not hashed again: a tenth of the load).
    init(loaded names: [String], _ locations: [MessageLocation], digest: NameDigest) {
        files = LazyNameTable(loaded: names, locations)
        self.digest = digest
        inNewCount = locations.count(where: \.inNew)
    }

    /// The whole table as a dictionary (built now if it was loaded and never used).
    var byBaseName: [String: MessageLocation] { files.dictionary }

    subscript(base: String) -> MessageLocation? {
        get { files[base] }
        set {
            let old: MessageLocation?
            if let newValue {
                old = files.updateValue(newValue, forKey: base)
            } else {
                old = files.removeValue(forKey: base)
            }
            if let old {
                digest.remove(NameDigest.hasher(old))
                if old.inNew { inNewCount -= 1 }
            }
            if let newValue {
                digest.insert(NameDigest.hasher(newValue))
                if newValue.inNew { inNewCount += 1 }
            }
        }
    }

    /// The file of `messages[index]` (whose base name is `base`): a loaded table holds
    /// its files in message order, and is read there in place while nothing changed.
    func location(of base: String, messageIndex index: Int) -> MessageLocation? {
        files.value(of: base, savedAt: index)
    }

    var count: Int { files.count }

    mutating func reserveCapacity(_ capacity: Int) { files.reserveCapacity(capacity) }

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
        files.forEach(where: \.inNew, body)
    }
}
