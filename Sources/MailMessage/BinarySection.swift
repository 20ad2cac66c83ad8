/// BINARY[section-part] (RFC 3516): a part's content with its Content-Transfer-Encoding
/// removed. Only leaves can be encoded (RFC 2045 §6.4 forbids encoding multiparts
/// and messages), so containers and unencoded leaves come back as raw ranges.
public enum BinaryContent: Sendable {
    /// No transfer encoding to undo: the raw bytes `range`, to be sent like BODY[]
    /// (bare LF as CRLF), `crlfLength` long.
    case raw(range: Range<Int>, crlfLength: Int)
    /// The decoded content (quoted-printable line breaks are CRLF); for a
    /// `Content-Transfer-Encoding: binary` leaf, its bytes exactly as stored.
    case decoded([UInt8])
    /// An encoding this server cannot undo: answer NO [UNKNOWN-CTE] (RFC 3516 §4.3).
    case unknownEncoding

    /// BINARY.SIZE: length on the wire; nil for `unknownEncoding`.
    public var size: Int? {
        switch self {
        case .raw(_, let length): return length
        case .decoded(let bytes): return bytes.count
        case .unknownEncoding: return nil
        }
    }
}

extension MessageTree {
    /// Line-oriented encodings that leave the content as it is (RFC 2045 §6.2): lines
    /// end in CRLF on the wire, so a stored bare LF is sent as CRLF, as for BODY[].
    private static let identityEncodings = ["7bit", "8bit"]
    /// RFC 2045 §6.2 `binary`: arbitrary octets, not lines. LF → CRLF would change
    /// the content (and make BINARY.SIZE differ from it): sent byte for byte.
    private static let verbatimEncoding = "binary"
    static let contentTransferEncoding = "Content-Transfer-Encoding"
    /// The field that replaces a decoded part's own (as Dovecot writes it).
    static let binaryEncodingField = Array("Content-Transfer-Encoding: binary\r\n".utf8)

    /// The content of BINARY[`part`]; nil when the part does not exist. An empty path is
    /// the whole message. A leaf is its body with the transfer encoding undone. A
    /// container (multipart, message/rfc822, or the whole message) is converted as
    /// Dovecot converts it (RFC 3516 leaves this open): every base64 or
    /// quoted-printable leaf inside is decoded and its Content-Transfer-Encoding field
    /// moved to the end of its header as `binary`; a `binary` leaf's body is copied
    /// byte for byte; everything else is sent as in BODY[part] (bare LF as CRLF). A
    /// container with nothing to decode or copy stays `.raw`.
    /// Any leaf inside with an unknown encoding makes the whole `.unknownEncoding`.
    public func binaryContent(_ part: [Int], _ raw: UnsafeRawBufferPointer) -> BinaryContent? {
        let view = ByteView(raw)
        let index: Int
        if part.isEmpty {
            index = 0
        } else {
            guard let found = resolve(part) else { return nil }
            index = found
        }
        let node = parts[index]
        if part.isEmpty || node.kind == .multipart || node.kind == .message {
            // The whole message includes its header; a message/rfc822 part's content
            // is the encapsulated message; a multipart's is its body.
            let withHeader = part.isEmpty
            var decoding = false
            for i in subtree(of: index) {
                switch leafEncoding(parts[i], view) {
                case .unknown: return .unknownEncoding
                case .decode, .verbatim: decoding = true
                case .none: continue
                }
            }
            guard decoding else {
                let start = withHeader ? node.start : node.bodyStart
                return .raw(range: start.offset..<node.end.offset, crlfLength: start.crlfLength(to: node.end))
            }
            var out: [UInt8] = []
            if withHeader { writeEntity(index, view, into: &out) } else { writeBody(index, view, into: &out) }
            return .decoded(out)
        }
        switch leafEncoding(node, view) {
        case .unknown: return .unknownEncoding
        case .none:
            return .raw(
                range: node.bodyStart.offset..<node.end.offset, crlfLength: node.bodyStart.crlfLength(to: node.end))
        case .decode(let decoder):
            return .decoded(decoder.decode(view.slice(node.bodyStart.offset, node.end.offset)))
        case .verbatim:
            return .decoded(Array(view.slice(node.bodyStart.offset, node.end.offset)))
        }
    }

    private enum LeafEncoding {
        /// Line-oriented and unencoded: bare LF as CRLF.
        case none
        case decode(TransferEncoding)
        /// `binary`: the stored bytes as they are.
        case verbatim
        case unknown
    }

    /// What BINARY does with the body of `part`: containers and identity encodings are
    /// left alone (RFC 2045 §6.4 forbids encoding containers).
    private func leafEncoding(_ part: PartNode, _ view: ByteView) -> LeafEncoding {
        guard part.kind == .text || part.kind == .basic else { return .none }
        let info = PartHeaderInfo(part, fields: fields(of: part, view), view)
        guard let encoding = info.encoding else { return .none }
        if ASCII.equalsIgnoringCase(encoding, Self.verbatimEncoding) { return .verbatim }
        if Self.identityEncodings.contains(where: { ASCII.equalsIgnoringCase(encoding, $0) }) { return .none }
        switch TransferEncoding(encoding) {
        case .identity: return .unknown
        case let decoder: return .decode(decoder)
        }
    }

    /// `index` and every part below it (parts are stored in document order, so a
    /// subtree is a contiguous run of indices).
    private func subtree(of index: Int) -> Range<Int> {
        var last = index
        while let child = parts[last].children.last { last = child }
        return index..<(last + 1)
    }

    /// Header and converted body of part `index`.
    private func writeEntity(_ index: Int, _ view: ByteView, into out: inout [UInt8]) {
        let part = parts[index]
        guard case .decode = leafEncoding(part, view) else {
            appendCRLF(view.slice(part.start.offset, part.bodyStart.offset), to: &out)
            writeBody(index, view, into: &out)
            return
        }
        // Header without its Content-Transfer-Encoding fields, `binary` added last.
        var removed: [Range<Int>] = []
        view.forEachHeaderField(from: part.start.offset, to: part.bodyStart.offset, limits: limits) { field in
            if field.isField && ASCII.equalsIgnoringCase(view.name(of: field), Self.contentTransferEncoding) {
                removed.append(field.start..<field.end)
            }
            return true
        }
        let blank = blankLineStart(part, view)
        var position = part.start.offset
        for range in removed {
            appendCRLF(view.slice(position, range.lowerBound), to: &out)
            position = range.upperBound
        }
        appendCRLF(view.slice(position, blank), to: &out)
        out += Self.binaryEncodingField
        appendCRLF(view.slice(blank, part.bodyStart.offset), to: &out)
        writeBody(index, view, into: &out)
    }

    /// Converted body of part `index`: a leaf decoded or as is; a container's children
    /// converted, the bytes between them (boundaries, preamble, epilogue) as they are.
    /// Recursion is bounded by the tree's depth (`MessageLimits.maxDepth`).
    private func writeBody(_ index: Int, _ view: ByteView, into out: inout [UInt8]) {
        let part = parts[index]
        if part.children.isEmpty {
            switch leafEncoding(part, view) {
            case .decode(let decoder): out += decoder.decode(view.slice(part.bodyStart.offset, part.end.offset))
            case .verbatim: out += view.slice(part.bodyStart.offset, part.end.offset)
            case .none, .unknown: appendCRLF(view.slice(part.bodyStart.offset, part.end.offset), to: &out)
            }
            return
        }
        var position = part.bodyStart.offset
        for child in part.children {
            appendCRLF(view.slice(position, max(position, parts[child].start.offset)), to: &out)
            writeEntity(child, view, into: &out)
            position = max(position, parts[child].end.offset)
        }
        appendCRLF(view.slice(position, max(position, part.end.offset)), to: &out)
    }

    /// Where the empty line ending the header of `part` starts (`bodyStart` when the
    /// header has none).
    private func blankLineStart(_ part: PartNode, _ view: ByteView) -> Int {
        let start = part.start.offset
        let end = part.bodyStart.offset
        guard end > start, view.at(end - 1) == ASCII.lf else { return end }
        if end - 1 == start || view.at(end - 2) == ASCII.lf { return end - 1 }
        if view.at(end - 2) == ASCII.cr && (end - 2 == start || view.at(end - 3) == ASCII.lf) { return end - 2 }
        return end
    }

    private func appendCRLF(_ bytes: UnsafeRawBufferPointer, to out: inout [UInt8]) {
        var converter = CRLFConverter()
        _ = converter.convert(bytes, into: &out)
    }
}
