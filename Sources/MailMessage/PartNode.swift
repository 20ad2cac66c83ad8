/// A position in the raw bytes together with the line counts before it, so that
/// CRLF sizes and line counts of any range between two marks are a subtraction.
struct Mark: Sendable, Equatable {
    var offset: Int
    /// LF bytes before `offset`.
    var lines: Int
    /// LF bytes before `offset` not preceded by CR (each becomes two bytes on the wire).
    var bareLF: Int

    static let zero = Mark(offset: 0, lines: 0, bareLF: 0)

    /// Octets of `[self, end)` with CRLF line ends.
    func crlfLength(to end: Mark) -> Int { (end.offset - offset) + (end.bareLF - bareLF) }
    /// Lines of `[self, end)`, counted as Dovecot does: the number of LFs.
    func lineCount(to end: Mark) -> Int { end.lines - lines }
}

/// One MIME entity of the tree: a header `[start, bodyStart)` and a body
/// `[bodyStart, end)`. The root is the whole message. A multipart's children are its
/// body parts; a message/rfc822 part has exactly one child, the encapsulated message.
struct PartNode: Sendable {
    enum Kind: Sendable, Equatable {
        /// `text/*` (or no Content-Type): BODYSTRUCTURE carries a line count.
        case text
        /// Any other leaf type.
        case basic
        /// `multipart/*` (children may be empty: no boundary, or no boundary line).
        case multipart
        /// `message/rfc822` or `message/global`: one child, the nested message.
        case message
    }

    var kind: Kind
    /// A multipart or message part not opened because of `MessageLimits`: its
    /// content is an opaque body (BODYSTRUCTURE shows application/octet-stream).
    var overflow = false
    /// Content-* fields apply (RFC 2045 §4: a MIME-Version or Content-Type field was
    /// seen, or the part is inside a multipart). Dovecot forgets them otherwise.
    var isMIME = false
    /// The parent is multipart/digest: the default type is message/rfc822 (RFC 2046 §5.1.5).
    var inDigest = false
    /// This part is multipart/digest (its children default to message/rfc822).
    var isDigest = false
    var parent: Int
    var depth: Int
    var children: [Int] = []
    var start: Mark
    var bodyStart: Mark
    var end: Mark
}
