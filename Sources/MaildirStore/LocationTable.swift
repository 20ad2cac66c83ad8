// Base name → current file of every known message, with the digest of their names
// (NameDigest.swift). Loaded from imapd-index, the names are a LazyNameTable: built
// into a dictionary when first used (cold SELECT of 100,000 messages: 100–120 ms
// with it built at the load, 52–64 ms without), and the files are coded against a
// palette (LoadedLocations, below: 54 → 38 ms more).

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
    init(loaded locations: LoadedLocations, digest: NameDigest) {
        files = LazyNameTable(loaded: locations)
        self.digest = digest
        inNewCount = locations.inNewCount
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

/// The files of a loaded table, coded: each a number into a palette of the distinct
/// files with their base name left out. Neighbours mostly share their flags (":2,S"),
/// so 100,000 messages need a handful of entries and four bytes each, where a
/// MessageLocation each took 72 bytes and four reference counts to build at every
/// load. A file is made whole (its base name put in) when it is read.
struct LoadedLocations: SavedPairs, Sendable {
    /// A code's bit saying the file is in new/; the rest is its palette index.
    private static let inNewBit: UInt32 = 1 << 31
    private var names: [String] = []
    private var codes: [UInt32] = []
    private var palette: [MaildirFileName] = []

    init() {}

    /// These files coded under these names (tests; the index reader builds its palette
    /// as it reads).
    init(names: [String], _ locations: [MessageLocation]) {
        var known: [MaildirFileName: Int] = [:]
        for (name, location) in zip(names, locations) {
            var file = location.name
            file.baseName = ""
            let index: Int
            if let found = known[file] {
                index = found
            } else {
                index = addToPalette(file)
                known[file] = index
            }
            append(name: name, paletteIndex: index, inNew: location.inNew)
        }
    }

    var count: Int { codes.count }
    var inNewCount: Int { codes.count(where: { $0 & Self.inNewBit != 0 }) }

    func name(at index: Int) -> String { names[index] }

    func value(at index: Int) -> MessageLocation {
        let code = codes[index]
        var file = palette[Int(code & ~Self.inNewBit)]
        file.baseName = names[index]
        return MessageLocation(inNew: code & Self.inNewBit != 0, name: file)
    }

    mutating func reserveCapacity(_ capacity: Int) {
        names.reserveCapacity(capacity)
        codes.reserveCapacity(capacity)
    }

    /// A new palette entry (its base name is ignored); returns its index.
    mutating func addToPalette(_ file: MaildirFileName) -> Int {
        var entry = file
        entry.baseName = ""
        palette.append(entry)
        return palette.count - 1
    }

    mutating func append(name: String, paletteIndex: Int, inNew: Bool) {
        precondition(paletteIndex < palette.count)
        names.append(name)
        codes.append(UInt32(paletteIndex) | (inNew ? Self.inNewBit : 0))
    }
}
