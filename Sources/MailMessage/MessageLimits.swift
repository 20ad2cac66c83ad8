/// Caps that keep the cost of parsing a hostile message linear in its size. Beyond
/// them the parser does not fail: extra content is treated as opaque.
public struct MessageLimits: Sendable {
    /// Nesting of multipart / message/rfc822 (Dovecot's default). A container at this
    /// depth is not opened: its content becomes the body of a leaf part.
    public var maxDepth = 100
    /// Total MIME parts. The part that reaches the cap swallows the rest of the
    /// message, boundaries included (Dovecot's `max_total_mime_parts`).
    public var maxParts = 10_000
    /// Header fields interpreted per header block; further fields are ignored (they
    /// still belong to the header's bytes).
    public var maxHeaderFields = 10_000
    /// Header bytes interpreted per header block; fields starting past it are ignored.
    public var maxHeaderBytes = 1 << 20
    public init() {}
}
