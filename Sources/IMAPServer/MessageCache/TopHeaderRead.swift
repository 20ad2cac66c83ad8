import MailMessage
import MaildirStore

// What SEARCH on header fields, SORT and THREAD read of a message file: its top-level
// header only. Dovecot stops reading a mail at the end of its header for these; reading
// and parsing whole files instead made the first SEARCH FROM of a 100,000-message
// folder slower than Dovecot's (docs/benchmarks.md, runs 10–11).
extension MessageFile {
    /// Bytes read to find a message's top-level header; a longer header is read with
    /// the whole file.
    static let headerPrefixBytes = 16 * 1024

    /// No container opened: the body is not scanned for parts, which nothing reading
    /// the top-level header needs.
    static let topHeaderLimits: MessageLimits = {
        var limits = MessageLimits()
        limits.maxDepth = 1
        return limits
    }()

    /// `body` with the message's top-level header parsed from the first
    /// `headerPrefixBytes` of the file, or from the whole file when the header does not
    /// end within them (the header ends strictly before the bytes read do, so every
    /// field is whole). Only the top-level header fields of that tree are right: it
    /// must never be cached as the message's tree.
    func withTopHeader<R>(_ body: (MessageTree, UnsafeRawBufferPointer, ShrinkProbe) throws -> R) throws -> R {
        if size > Self.headerPrefixBytes {
            let bytes = try read(offset: 0, count: Self.headerPrefixBytes)
            let done = try bytes.withUnsafeBytes { raw -> R? in
                let tree = MessageTree.parse(raw, limits: Self.topHeaderLimits)
                guard tree.headerRange.upperBound < raw.count else { return nil }
                return try body(tree, raw, ShrinkProbe(shortRead: bytes.count < Self.headerPrefixBytes))
            }
            if let done { return done }
        }
        return try withContents { raw, probe in
            try body(MessageTree.parse(raw, limits: Self.topHeaderLimits), raw, probe)
        }
    }
}
