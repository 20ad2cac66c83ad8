import IMAPProtocol

/// The parsed MIME tree of one message, all positions as byte offsets into the raw
/// file. Cheap to keep (no body bytes held). Sendable, immutable.
///
/// The raw bytes are not kept: every accessor takes them again. They must be the
/// same bytes `parse` saw (the caller maps or reads the file once per use).
public struct MessageTree: Sendable {
    /// Part 0 is the message itself; see `PartNode`.
    let parts: [PartNode]
    let limits: MessageLimits

    public static func parse(_ raw: UnsafeRawBufferPointer, limits: MessageLimits = MessageLimits()) -> MessageTree {
        MessageTree(parts: TreeBuilder.build(ByteView(raw), limits: limits), limits: limits)
    }

    public var rawSize: Int { parts[0].end.offset }

    /// RFC822.SIZE: size of the whole message with CRLF line ends.
    public var crlfSize: Int { parts[0].start.crlfLength(to: parts[0].end) }

    /// Number of MIME parts found (the message itself included).
    public var partCount: Int { parts.count }

    /// The raw bytes of the message's header, empty line included.
    public var headerRange: Range<Int> { parts[0].start.offset..<parts[0].bodyStart.offset }

    /// The raw bytes of the message's body.
    public var bodyRange: Range<Int> { parts[0].bodyStart.offset..<parts[0].end.offset }

    var root: PartNode { parts[0] }

    /// The header fields of `part`, in order (lines without a colon excluded).
    func fields(of part: PartNode, _ view: ByteView) -> [HeaderField] {
        var result: [HeaderField] = []
        view.forEachHeaderField(from: part.start.offset, to: part.bodyStart.offset, limits: limits) { field in
            if field.isField { result.append(field) }
            return true
        }
        return result
    }
}

extension MessageTree {
    /// Estimated bytes this tree holds in memory (the part array and each part's child
    /// list), for caches that keep trees under a byte budget.
    public var estimatedMemory: Int {
        let arrayOverhead = 48
        var total = MemoryLayout<MessageTree>.stride + arrayOverhead + parts.count * MemoryLayout<PartNode>.stride
        for part in parts where !part.children.isEmpty {
            total += arrayOverhead + part.children.count * MemoryLayout<Int>.stride
        }
        return total
    }
}
