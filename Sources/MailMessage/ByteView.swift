#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Bounds-checked read access to the raw message bytes. `UnsafeRawBufferPointer`
/// checks its subscript only in debug builds; every read the parsers make goes
/// through `at(_:)`, which answers NUL outside the buffer instead of trapping, so a
/// mistake in offset arithmetic can garble a result but never crash the server.
struct ByteView {
    let base: UnsafeRawBufferPointer
    var count: Int { base.count }

    init(_ base: UnsafeRawBufferPointer) { self.base = base }

    @inline(__always) func at(_ i: Int) -> UInt8 {
        i >= 0 && i < base.count ? base[i] : ASCII.nul
    }

    /// Index of the first `byte` in `[from, to)`, found with memchr (the hot path of
    /// every scan: headers, boundaries, line counts).
    @inline(__always) func firstIndex(of byte: UInt8, from: Int, to: Int) -> Int? {
        let lo = max(from, 0)
        let hi = min(to, base.count)
        guard lo < hi, let start = base.baseAddress else { return nil }
        guard let hit = memchr(start + lo, Int32(byte), hi - lo) else { return nil }
        return start.distance(to: UnsafeRawPointer(hit))
    }

    /// Copy of the bytes `[from, to)`, clamped to the buffer.
    func bytes(_ from: Int, _ to: Int) -> [UInt8] {
        let lo = max(from, 0)
        let hi = min(to, base.count)
        guard lo < hi else { return [] }
        return Array(UnsafeRawBufferPointer(rebasing: base[lo..<hi]))
    }

    /// The buffer slice `[from, to)`, clamped.
    func slice(_ from: Int, _ to: Int) -> UnsafeRawBufferPointer {
        let lo = max(from, 0)
        let hi = max(lo, min(to, base.count))
        return UnsafeRawBufferPointer(rebasing: base[lo..<hi])
    }
}
