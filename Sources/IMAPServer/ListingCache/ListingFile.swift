// Reading, appending and compacting one folder's listing file (ListingFormat), and
// saving its offsets. Always called inside the folder owner's `FileOwner.perform`, so
// files created here belong to the user. The rules of HeaderCacheFile hold here too:
// - opens never follow a symlink or block on a FIFO, only regular files are used;
// - appends and compactions hold flock(2) on the file, and an appender checks after
//   getting it that the path still names the file it opened;
// - a file not as this process last saw it is read again under the lock, and a torn
//   tail is cut off before anything is appended: no frame follows damage;
// - reads by offset need no lock: a frame is used only when its CRC, UID and name hash
//   are right, so an offset into a file replaced or cut meanwhile reads as a miss.
import Glibc
import MaildirStore

struct ListingFile: Sendable {
    let path: String
    let offsetsPath: String
    /// Beyond this the file is not grown.
    let maxBytes: Int

    init(directory: String, maxBytes: Int) {
        path = directory + "/" + HeaderCacheNames.listing
        offsetsPath = directory + "/" + HeaderCacheNames.listingOffsets
        self.maxBytes = maxBytes
    }

    /// What the file holds, as far as it is intact.
    struct Contents: Sendable {
        /// nil: no usable file (missing, foreign, or of another UIDVALIDITY).
        var header: ListingFormat.Header?
        /// Each UID's last frame of each kind.
        var offsets = ListingOffsets()
        /// Frames in the intact part, stale ones included.
        var frames = 0
        /// Where the intact part ends.
        var end = 0
        /// The file as read; `known` only when read to its end without damage.
        var mark: HeaderCacheFile.Mark?
        var known: HeaderCacheFile.Mark?
        /// Bytes the offsets file on disk covers (frames after it are found by
        /// reading the tail), and the frames it counted.
        var saved = 0
        var savedFrames = 0
    }

    func currentMark() -> HeaderCacheFile.Mark? {
        var st = stat()
        guard lstat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { return nil }
        return HeaderCacheFile.Mark(st)
    }

    /// Reads what the file holds: its offsets file when it matches, then the frames
    /// after what that covers.
    func load(uidValidity: UInt32) -> Contents {
        let fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { return Contents() }
        defer { close(fd) }
        return load(fd, uidValidity: uidValidity)
    }

    private func load(_ fd: Int32, uidValidity: UInt32) -> Contents {
        var contents = Contents()
        var st = stat()
        guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { return contents }
        let size = Int(st.st_size)
        contents.mark = HeaderCacheFile.Mark(st)
        let head = Self.read(fd, offset: 0, count: ListingFormat.headerSize)
        guard size <= maxBytes,
            let header = head.withUnsafeBytes({ ListingFormat.decodeHeader($0) }), header.uidValidity == uidValidity
        else { return contents }
        contents.header = header
        var start = ListingFormat.headerSize
        if let saved = readOffsets(), saved.header == header, saved.covered <= size, saved.covered >= start {
            contents.offsets = ListingOffsets(saved)
            contents.frames = saved.frames
            contents.saved = saved.covered
            contents.savedFrames = saved.frames
            start = saved.covered
        }
        contents.end = scan(fd, from: start, size: size, into: &contents)
        contents.offsets.normalize()
        if contents.end == size { contents.known = contents.mark }
        return contents
    }

    private func readOffsets() -> ListingFormat.Offsets? {
        guard let (bytes, _) = CacheFileIO.read(offsetsPath, maxBytes: Self.maxOffsetsBytes) else { return nil }
        return bytes.withUnsafeBytes { ListingFormat.decodeOffsets($0) }
    }

    /// Puts the frames from `start` into `contents`; answers where the intact ones end.
    private func scan(_ fd: Int32, from start: Int, size: Int, into contents: inout Contents) -> Int {
        let chunk = 1024 * 1024
        var position = start
        var wanted = chunk
        while position < size {
            let bytes = Self.read(fd, offset: position, count: min(size - position, wanted))
            var consumed = 0
            var needed = 0
            bytes.withUnsafeBytes { raw in
                while consumed < raw.count {
                    let rest = UnsafeRawBufferPointer(rebasing: raw[consumed...])
                    guard let (entry, length) = ListingFormat.frame(at: rest), let key = ListingCodec.key(entry) else {
                        // A frame longer than what was read is read whole next time.
                        if let length = ListingFormat.frameLength(rest), length > rest.count { needed = length }
                        return
                    }
                    contents.offsets.put(key.uid, UInt32(position + consumed), key.kind)
                    contents.frames += 1
                    consumed += length
                }
            }
            if consumed == 0 {
                // Damage, or a frame cut short by the file's end: the intact part ends here.
                guard needed > bytes.count, bytes.count == wanted, position + needed <= size else { break }
                wanted = needed
                continue
            }
            wanted = chunk
            position += consumed
        }
        return position
    }

    /// A frame to read: `nameHash` nil takes whatever name the frame has (compaction).
    typealias Wanted = (uid: UInt32, nameHash: UInt32?, offset: UInt32)

    /// The entries at `offsets` (nil where the frame is not the one of that UID and
    /// name hash, or cannot be read), decoded as far as `decoding` says
    /// (ListingCodec.decode). Neighbouring frames are read with one pread.
    func read(_ wanted: [Wanted], decoding: ListingCodec.Decoding = ListingCodec.Decoding()) -> [ListingEntry?] {
        var found = [ListingEntry?](repeating: nil, count: wanted.count)
        let fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { return found }
        defer { close(fd) }
        forEachFrame(fd, wanted) { index, frame in
            found[index] = ListingCodec.decode(
                UnsafeRawBufferPointer(rebasing: frame[ListingFormat.frameHeaderSize...]), wanted: decoding.parts,
                needs: decoding.needs, sectionKeys: decoding.sectionKeys)
        }
        return found
    }

    /// Millions of messages' offsets (a few bytes each); a larger file is not read.
    static let maxOffsetsBytes = 64 * 1024 * 1024
    /// Offsets closer than this are read together.
    static let runBytes = 256 * 1024
    /// What is read past the last offset of a run (a larger frame is read again alone).
    static let typicalFrame = 8 * 1024

    /// Calls `body` with each wanted frame that is intact and that of its UID and name
    /// hash (its index in `wanted`, the whole frame), in file order. Frames close
    /// together are read with one pread.
    private func forEachFrame(_ fd: Int32, _ wanted: [Wanted], _ body: (Int, UnsafeRawBufferPointer) -> Void) {
        var st = stat()
        guard !wanted.isEmpty, fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { return }
        let size = Int(st.st_size)
        let order = wanted.indices.sorted { wanted[$0].offset < wanted[$1].offset }
        var next = 0
        while next < order.count {
            // A run of frames close together: one read from the first to the last + a
            // typical frame.
            let first = Int(wanted[order[next]].offset)
            var last = next
            while last + 1 < order.count, Int(wanted[order[last + 1]].offset) - first < Self.runBytes { last += 1 }
            let end = min(size, Int(wanted[order[last]].offset) + Self.typicalFrame)
            guard end > first else { break }
            let bytes = Self.read(fd, offset: first, count: end - first)
            for position in next...last {
                let index = order[position]
                let relative = Int(wanted[index].offset) - first
                let done = bytes.withUnsafeBytes { raw -> Bool in
                    guard relative < raw.count else { return false }
                    return visit(UnsafeRawBufferPointer(rebasing: raw[relative...]), wanted[index]) { body(index, $0) }
                }
                if !done { readAlone(fd, wanted[index], size: size) { body(index, $0) } }
            }
            next = last + 1
        }
    }

    /// Calls `body` with the frame at `raw`'s start when it is intact and that of
    /// `wanted`; false when it is not whole in `raw` (or not the one).
    private func visit(_ raw: UnsafeRawBufferPointer, _ wanted: Wanted, _ body: (UnsafeRawBufferPointer) -> Void)
        -> Bool
    {
        guard let (bytes, length) = ListingFormat.frame(at: raw), let key = ListingCodec.key(bytes),
            key.uid == wanted.uid, wanted.nameHash.map({ $0 == key.nameHash }) ?? true
        else { return false }
        body(UnsafeRawBufferPointer(rebasing: raw[0..<length]))
        return true
    }

    /// A frame longer than what its run read.
    private func readAlone(_ fd: Int32, _ wanted: Wanted, size: Int, _ body: (UnsafeRawBufferPointer) -> Void) {
        let head = Self.read(fd, offset: Int(wanted.offset), count: 4)
        guard let length = head.withUnsafeBytes({ ListingFormat.frameLength($0) }),
            length > Self.typicalFrame, Int(wanted.offset) + length <= size
        else { return }
        _ = Self.read(fd, offset: Int(wanted.offset), count: length).withUnsafeBytes { visit($0, wanted, body) }
    }

    // MARK: Writing

    /// Where a frame went.
    typealias Written = (uid: UInt32, offset: UInt32, kind: ListingKind)

    /// What an append left: the file's contents as now known, and where each entry
    /// written went (nil when nothing could be written).
    struct Appended {
        /// The file read again under the lock, or started again: what replaces the
        /// caller's view before `written` is added.
        var contents: Contents?
        var written: [Written] = []
        /// Where the intact part ends now, and the file's mark (nil: nothing written).
        var end = 0
        var mark: HeaderCacheFile.Mark?
    }

    /// Appends one frame per entry. When the file is not as `known` (this process's
    /// last view) says, it is read again under the lock and comes back in `contents`.
    func append(_ entries: [ListingEntry], uidValidity: UInt32, known: HeaderCacheFile.Mark?) -> Appended {
        CacheFileIO.withAppendLock(path) { fd, st in
            appendLocked(fd, HeaderCacheFile.Mark(st), entries, uidValidity: uidValidity, known: known)
        } ?? Appended()
    }

    private func appendLocked(
        _ fd: Int32, _ mark: HeaderCacheFile.Mark, _ entries: [ListingEntry], uidValidity: UInt32,
        known: HeaderCacheFile.Mark?
    ) -> Appended {
        var result = Appended()
        var contents: Contents?
        if mark != known {
            // Not what we last saw (another process, a torn tail, a new file): read it
            // under the lock and keep its intact part.
            contents = load(fd, uidValidity: uidValidity)
            result.contents = contents
        }
        let keep = contents.map { $0.header == nil ? 0 : $0.end } ?? mark.size
        var bytes: [UInt8] = []
        if keep == 0 {
            let header = ListingFormat.Header(uidValidity: uidValidity, generation: UInt64.random(in: 1...UInt64.max))
            bytes = ListingFormat.header(header)
            var fresh = Contents()
            fresh.header = header
            contents = fresh
            result.contents = fresh
        }
        var written: [Written] = []
        for entry in entries {
            for part in entry.split() {
                let offset = keep + bytes.count
                guard ListingFormat.frame(part, into: &bytes) else { continue }
                written.append((part.uid, UInt32(offset), part.kinds[0]))
            }
        }
        guard keep + bytes.count <= maxBytes else { return result }
        if keep < mark.size { guard ftruncate(fd, off_t(keep)) == 0 else { return result } }
        guard CacheFileIO.writeAll(fd, bytes) else {
            // A short write (disk full): cut it off again so no torn frame stays.
            _ = ftruncate(fd, off_t(keep))
            return result
        }
        var st = stat()
        guard fstat(fd, &st) == 0 else { return result }
        result.end = keep + bytes.count
        result.mark = HeaderCacheFile.Mark(st)
        result.written = written
        return result
    }

    /// Replaces the file with one holding only the frames `keep` names (a compaction),
    /// copied as they are: a new generation, written to `<path>.tmp` a piece at a time
    /// and renamed over the file while holding the old file's lock; then its offsets
    /// are saved. nil when nothing was replaced.
    func compact(keeping keep: [Wanted], uidValidity: UInt32) -> Contents? {
        let old = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
        guard old >= 0 else { return nil }
        defer { close(old) }
        _ = flock(old, LOCK_EX)
        guard let (fd, temporary) = CacheFileIO.openTemporary(for: path) else { return nil }
        defer { close(fd) }
        var st = stat()
        var contents = Contents()
        let header = ListingFormat.Header(uidValidity: uidValidity, generation: UInt64.random(in: 1...UInt64.max))
        var pending = ListingFormat.header(header)
        var written = 0
        var failed = false
        forEachFrame(old, keep) { _, frame in
            guard let key = ListingCodec.key(UnsafeRawBufferPointer(rebasing: frame[ListingFormat.frameHeaderSize...]))
            else { return }
            contents.offsets.put(key.uid, UInt32(written + pending.count), key.kind)
            contents.frames += 1
            pending += frame
            if pending.count >= Self.runBytes {
                failed = failed || !CacheFileIO.writeAll(fd, pending)
                written += pending.count
                pending.removeAll(keepingCapacity: true)
            }
        }
        failed = failed || !CacheFileIO.writeAll(fd, pending)
        written += pending.count
        guard !failed, written <= maxBytes, fstat(fd, &st) == 0, rename(temporary, path) == 0 else {
            unlink(temporary)
            return nil
        }
        contents.offsets.normalize()
        contents.header = header
        contents.end = written
        contents.mark = HeaderCacheFile.Mark(st)
        contents.known = contents.mark
        saveOffsets(&contents)
        return contents
    }

    /// Writes the offsets file for `contents` (tmp + rename) and notes what it covers.
    func saveOffsets(_ contents: inout Contents) {
        guard let header = contents.header else { return }
        let bytes = ListingFormat.encode(
            ListingFormat.Offsets(
                header: header, covered: contents.end, frames: contents.frames, tables: contents.offsets.columns))
        guard CacheFileIO.replace(offsetsPath, with: bytes) != nil else { return }
        contents.saved = contents.end
        contents.savedFrames = contents.frames
    }

    /// `count` bytes at `offset` (fewer when the file ends first).
    private static func read(_ fd: Int32, offset: Int, count: Int) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        var done = 0
        while done < count {
            let n = bytes.withUnsafeMutableBytes {
                pread(fd, $0.baseAddress! + done, count - done, off_t(offset + done))
            }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            done += n
        }
        if done < count { bytes.removeSubrange(done...) }
        return bytes
    }
}
