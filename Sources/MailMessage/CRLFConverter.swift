/// LF → CRLF conversion. Maildir files usually hold bare LF line ends; IMAP sends
/// CRLF (RFC 9051 §2.2), and every size and partial offset the client sees is
/// counted on that CRLF form. A LF already preceded by CR is left alone; a lone CR
/// is sent as it is (Dovecot does the same, so sizes agree with Dovecot's `,W=`).

/// Length of `raw` once every bare LF is CRLF.
public func crlfLength(_ raw: UnsafeRawBufferPointer) -> Int {
    let view = ByteView(raw)
    var bare = 0
    var i = 0
    while let lf = view.firstIndex(of: ASCII.lf, from: i, to: raw.count) {
        if lf == 0 || view.at(lf - 1) != ASCII.cr { bare += 1 }
        i = lf + 1
    }
    return raw.count + bare
}

/// Streaming LF → CRLF conversion with partial-fetch support, independent of chunking.
/// Feed raw chunks in order; it emits wire bytes; `skip`/`limit` select the window
/// [offset, offset+count) of the CRLF form (for BODY[]<offset.count>).
public struct CRLFConverter: Sendable {
    /// Wire bytes still to drop before the window starts.
    private var toSkip: Int
    /// Wire bytes still to emit before the window ends.
    private var remaining: Int
    /// The last byte of the previous chunk was CR: a LF opening this chunk is not bare.
    private var previousWasCR = false

    public init(skip: Int = 0, limit: Int = Int.max) {
        self.toSkip = max(0, skip)
        self.remaining = max(0, limit)
    }

    /// Wire bytes the window still accepts.
    public var remainingLimit: Int { remaining }

    /// Converts `chunk`, appending wire bytes to `out`. A CR at the end of one chunk
    /// followed by LF at the start of the next is handled. Returns false once `limit`
    /// bytes were emitted (stop feeding).
    public mutating func convert(_ chunk: UnsafeRawBufferPointer, into out: inout [UInt8]) -> Bool {
        guard remaining > 0 else { return false }
        let view = ByteView(chunk)
        let n = chunk.count
        var i = 0
        while i < n && remaining > 0 {
            // Copy the run up to the next LF in one piece (memchr + bulk append).
            let lf = view.firstIndex(of: ASCII.lf, from: i, to: n) ?? n
            emitRun(chunk, from: i, to: lf, into: &out)
            if lf == n { break }
            let precededByCR = lf > 0 ? view.at(lf - 1) == ASCII.cr : previousWasCR
            if !precededByCR { emitByte(ASCII.cr, into: &out) }
            emitByte(ASCII.lf, into: &out)
            i = lf + 1
        }
        if n > 0 { previousWasCR = view.at(n - 1) == ASCII.cr }
        return remaining > 0
    }

    private mutating func emitRun(
        _ chunk: UnsafeRawBufferPointer, from lo: Int, to hi: Int, into out: inout [UInt8]
    ) {
        let length = hi - lo
        guard length > 0 else { return }
        if toSkip >= length {
            toSkip -= length
            return
        }
        let start = lo + toSkip
        toSkip = 0
        let take = min(hi - start, remaining)
        guard take > 0 else { return }
        out.append(contentsOf: UnsafeRawBufferPointer(rebasing: chunk[start..<(start + take)]))
        remaining -= take
    }

    @inline(__always) private mutating func emitByte(_ b: UInt8, into out: inout [UInt8]) {
        if toSkip > 0 {
            toSkip -= 1
        } else if remaining > 0 {
            out.append(b)
            remaining -= 1
        }
    }
}
