// An order-independent digest of the file names in new/ and cur/, kept up to date for
// the files the folder state knows (LocationTable) and computed from readdir without
// building a String per entry. When a directory's mtime says "changed" but the digest
// of what is on disk equals the digest of what we know, the change was our own (a flag
// rename, new/ → cur/, an expunge, a save already taken in) and the full rescan (a
// parse and two lookups per file) is skipped: this is what runs after every command
// that renamed a file, and in the watcher after our own renames.
//
// Two independent 64-bit sums of per-name hashes plus the count: two different name
// sets give the same digest with probability about 2^-128. Races are those of a scan:
// a rename by someone else during the readdir shows both names or neither (digest
// differs: full rescan) or the old name only (digest matches what we know, but the
// mtime recorded is the one from before the readdir, so the next synchronize sees the
// change).
import Glibc

struct NameDigest: Equatable, Sendable {
    var count = 0
    private var first: UInt64 = 0
    private var second: UInt64 = 0

    /// FNV-1a 64, and a second hash with another basis and a final mix.
    private static let fnvPrime: UInt64 = 0x0000_0100_0000_01B3
    private static let firstBasis: UInt64 = 0xCBF2_9CE4_8422_2325
    private static let secondBasis: UInt64 = 0x9E37_79B9_7F4A_7C15
    /// Hashed before a name in new/, so the same name in new/ and cur/ differ.
    static let newMarker: UInt8 = 0x01
    static let curMarker: UInt8 = 0x02

    struct Hasher {
        var first = NameDigest.firstBasis
        var second = NameDigest.secondBasis

        @inline(__always) mutating func add(_ byte: UInt8) {
            first = (first ^ UInt64(byte)) &* NameDigest.fnvPrime
            second = (second ^ UInt64(byte)) &* 0xFF51_AFD7_ED55_8CCD
            second ^= second >> 29
        }

        mutating func add<S: Sequence>(_ bytes: S) where S.Element == UInt8 {
            for byte in bytes { add(byte) }
        }
    }

    /// The three sums, for the folder index (FolderIndexFormat), which saves them
    /// instead of hashing every name again when it is loaded.
    var sums: (count: Int, first: UInt64, second: UInt64) { (count, first, second) }

    init(count: Int, first: UInt64, second: UInt64) {
        self.count = count
        self.first = first
        self.second = second
    }

    init() {}

    mutating func insert(_ hasher: Hasher) {
        count += 1
        first &+= hasher.first
        second &+= hasher.second
    }

    mutating func remove(_ hasher: Hasher) {
        count -= 1
        first &-= hasher.first
        second &-= hasher.second
    }

    /// The hash of a message file as readdir would show it.
    static func hasher(_ location: MessageLocation) -> Hasher {
        var hasher = Hasher()
        hasher.add(location.inNew ? newMarker : curMarker)
        let name = location.name
        hasher.add(name.baseName.utf8)
        guard name.hasInfo else { return hasher }
        hasher.add(FileNameSyntax.infoSeparator)
        if let foreign = name.foreignInfo {
            hasher.add(foreign.utf8)
        } else {
            hasher.add(FileNameSyntax.infoVersion2)
            hasher.add(name.letters)
            hasher.add(name.infoSuffix.utf8)
        }
        return hasher
    }
}

extension POSIX {
    /// The digest of a directory's visible entries, as `directoryEntries` lists them
    /// (`.` names skipped, names that are not UTF-8 skipped), without making Strings.
    static func directoryDigest(_ path: String, marker: UInt8, into digest: inout NameDigest) throws {
        guard let dir = opendir(path) else { throw error(path) }
        defer { closedir(dir) }
        while true {
            errno = 0
            guard let entry = readdir(dir) else {
                if errno != 0 { throw error(path) }
                return
            }
            let visible: NameDigest.Hasher? = withUnsafePointer(to: &entry.pointee.d_name) { tuple in
                tuple.withMemoryRebound(to: UInt8.self, capacity: MemoryLayout.size(ofValue: tuple.pointee)) {
                    bytes -> NameDigest.Hasher? in
                    let length = strlen(UnsafeRawPointer(bytes).assumingMemoryBound(to: CChar.self))
                    let name = UnsafeBufferPointer(start: bytes, count: length)
                    guard let head = name.first, head != FileNameSyntax.hiddenPrefix else { return nil }
                    if name.contains(where: { $0 >= 0x80 }) && String(validating: name, as: UTF8.self) == nil {
                        return nil
                    }
                    var hasher = NameDigest.Hasher()
                    hasher.add(marker)
                    hasher.add(name)
                    return hasher
                }
            }
            if let visible { digest.insert(visible) }
        }
    }
}

extension FolderContext {
    /// new/ and cur/ hold exactly the files `state` knows (by digest).
    func listingMatches(_ state: FolderState) throws -> Bool {
        var digest = NameDigest()
        do {
            try POSIX.directoryDigest(newPath, marker: NameDigest.newMarker, into: &digest)
        } catch StoreError.io(_, let code) where POSIX.isMissing(code) {
            // No new/: nothing in it.
        }
        try POSIX.directoryDigest(curPath, marker: NameDigest.curMarker, into: &digest)
        return digest == state.locations.digest
    }
}
