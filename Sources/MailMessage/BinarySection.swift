/// BINARY[section-part] (RFC 3516): a part's content with its Content-Transfer-Encoding
/// removed. Only leaves can be encoded (RFC 2045 §6.4 forbids encoding multiparts
/// and messages), so containers and unencoded leaves come back as raw ranges.
public enum BinaryContent: Sendable {
    /// No transfer encoding to undo: the raw bytes `range`, to be sent like BODY[]
    /// (bare LF as CRLF), `crlfLength` long.
    case raw(range: Range<Int>, crlfLength: Int)
    /// The decoded content (quoted-printable line breaks are CRLF).
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
    /// Encodings that leave the content as it is (RFC 2045 §6.2).
    private static let identityEncodings = ["7bit", "8bit", "binary"]

    /// The content of BINARY[`part`]; nil when the part does not exist. An empty path
    /// is the whole message: its header, then its body decoded when it is an encoded leaf.
    public func binaryContent(_ part: [Int], _ raw: UnsafeRawBufferPointer) -> BinaryContent? {
        let view = ByteView(raw)
        if part.isEmpty {
            guard let body = decodedLeaf(root, view) else { return .unknownEncoding }
            guard case .decoded(let bytes) = body else {
                return .raw(range: root.start.offset..<root.end.offset, crlfLength: crlfSize)
            }
            var out: [UInt8] = []
            var converter = CRLFConverter()
            _ = converter.convert(view.slice(root.start.offset, root.bodyStart.offset), into: &out)
            return .decoded(out + bytes)
        }
        guard let index = resolve(part) else { return nil }
        return decodedLeaf(parts[index], view) ?? .unknownEncoding
    }

    /// `.raw` for containers and unencoded leaves, `.decoded` for base64 and
    /// quoted-printable, nil for an unknown encoding.
    private func decodedLeaf(_ part: PartNode, _ view: ByteView) -> BinaryContent? {
        let range = part.bodyStart.offset..<part.end.offset
        let rawContent = BinaryContent.raw(range: range, crlfLength: part.bodyStart.crlfLength(to: part.end))
        guard part.kind == .text || part.kind == .basic else { return rawContent }
        let info = PartHeaderInfo(part, fields: fields(of: part, view), view)
        guard let encoding = info.encoding else { return rawContent }
        if Self.identityEncodings.contains(where: { ASCII.equalsIgnoringCase(encoding, $0) }) { return rawContent }
        switch TransferEncoding(encoding) {
        case .identity: return nil
        case let decoder: return .decoded(decoder.decode(view.slice(range.lowerBound, range.upperBound)))
        }
    }
}
