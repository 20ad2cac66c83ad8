import IMAPProtocol

/// The bytes of a section, for streaming.
public enum SectionContent: Sendable {
    /// Raw file bytes `range`, to be sent with bare LF turned into CRLF; `crlfLength` is
    /// their length after that conversion (the literal's size).
    case raw(range: Range<Int>, crlfLength: Int)
    /// Already in wire form (HEADER.FIELDS results, MIME headers rebuilt…), CRLF ends.
    case bytes([UInt8])

    /// Length on the wire.
    public var wireLength: Int {
        switch self {
        case .raw(_, let crlfLength): return crlfLength
        case .bytes(let bytes): return bytes.count
        }
    }
}

/// BODY[section] (RFC 9051 §6.4.5), part numbers resolved as Dovecot does:
/// - in a multipart, `n` is its n-th body part;
/// - in anything else only `1` exists and means the entity itself (so `[1]` of a
///   non-multipart message is its body), and the path may only go on if the entity is
///   message/rfc822;
/// - going on from a message/rfc822 part enters the encapsulated message;
/// - `[n]` is the part's body, `[n.MIME]` its own header, `[n.HEADER]`, `[n.TEXT]`,
///   `[n.HEADER.FIELDS …]` the header / body of the message a message/rfc822 part holds.
extension MessageTree {
    /// Where a BODY[section] comes from. nil: the section does not exist (the server
    /// answers an empty string, as Dovecot does).
    public func section(_ spec: SectionSpec, _ raw: UnsafeRawBufferPointer) -> SectionContent? {
        let view = ByteView(raw)
        if spec.part.isEmpty {
            guard let text = spec.text else { return rawContent(root.start, root.end) }
            return messageText(text, of: root, view)
        }
        guard let index = resolve(spec.part) else { return nil }
        let part = parts[index]
        guard let text = spec.text else { return rawContent(part.bodyStart, part.end) }
        if text == .mime { return rawContent(part.start, part.bodyStart) }
        guard part.kind == .message, let child = part.children.first else { return nil }
        return messageText(text, of: parts[child], view)
    }

    /// The part a section path names, or nil.
    func resolve(_ path: [Int]) -> Int? {
        var index = 0
        for (step, number) in path.enumerated() {
            let more = step + 1 < path.count
            let part = parts[index]
            if part.kind == .multipart {
                guard number >= 1, number <= part.children.count else { return nil }
                index = part.children[number - 1]
            } else {
                guard number == 1 else { return nil }
                if more && part.kind != .message { return nil }
            }
            if more && parts[index].kind == .message {
                guard let child = parts[index].children.first else { return nil }
                index = child
            }
        }
        return index
    }

    private func rawContent(_ from: Mark, _ to: Mark) -> SectionContent {
        .raw(range: from.offset..<max(from.offset, to.offset), crlfLength: max(0, from.crlfLength(to: to)))
    }

    /// HEADER, HEADER.FIELDS, HEADER.FIELDS.NOT or TEXT of a message.
    private func messageText(_ text: SectionText, of message: PartNode, _ view: ByteView) -> SectionContent? {
        switch text {
        case .header: return rawContent(message.start, message.bodyStart)
        case .text: return rawContent(message.bodyStart, message.end)
        case .headerFields(let names): return .bytes(headerFields(of: message, names, matching: true, view))
        case .headerFieldsNot(let names): return .bytes(headerFields(of: message, names, matching: false, view))
        case .mime: return nil
        }
    }

    /// The fields named (or, with `matching` false, all others, lines without a colon
    /// included), as on disk with CRLF line ends, then the empty line (RFC 9051
    /// §6.4.5: "the subset of the header … including the delimiting blank line").
    func headerFields(of message: PartNode, _ names: [String], matching: Bool, _ view: ByteView) -> [UInt8] {
        var out: [UInt8] = []
        view.forEachHeaderField(from: message.start.offset, to: message.bodyStart.offset, limits: limits) { field in
            let name = view.name(of: field)
            let named = field.isField && names.contains(where: { ASCII.equalsIgnoringCase(name, $0) })
            if named == matching { view.appendCRLFField(field, to: &out) }
            return true
        }
        out.append(ASCII.cr)
        out.append(ASCII.lf)
        return out
    }
}
