import IMAPProtocol

/// BODY and BODYSTRUCTURE (RFC 9051 §7.5.2) built from the part tree, matching
/// Dovecot's output: type and subtype in their original case; text parts without a
/// charset parameter get `charset=us-ascii` appended; encoding defaults to "7bit";
/// RFC 2231 parameters merged but left encoded; a multipart without any part shows
/// one empty text/plain part; a container not opened because of the limits shows as
/// application/octet-stream. Recursion depth is bounded by `MessageLimits.maxDepth`.
extension MessageTree {
    /// BODY (extensible: false) / BODYSTRUCTURE (extensible: true).
    public func bodyStructure(_ raw: UnsafeRawBufferPointer, extensible: Bool) -> BodyStructure {
        structure(of: 0, ByteView(raw), extensible: extensible)
    }

    static let defaultCharset: (String, [UInt8]) = ("charset", Array("us-ascii".utf8))
    static let defaultEncoding = "7bit"

    func structure(of index: Int, _ view: ByteView, extensible: Bool) -> BodyStructure {
        let part = parts[index]
        let info = PartHeaderInfo(part, fields: fields(of: part, view), view)
        let ext =
            extensible
            ? BodyStructure.Extension(
                disposition: info.disposition.map {
                    BodyStructure.Disposition(type: $0.type, parameters: Self.wireParameters($0.parameters))
                },
                language: info.languages, location: info.location)
            : BodyStructure.Extension()

        if part.kind == .multipart {
            var children = part.children.map { structure(of: $0, view, extensible: extensible) }
            if children.isEmpty { children = [Self.emptyTextPart()] }
            let subtype = info.contentType?.subtype ?? Array("x-unknown".utf8)
            let parameters = extensible ? Self.wireParameters(info.contentType?.parameters ?? []) : []
            return .multipart(
                BodyStructure.MultiPart(parts: children, subtype: subtype, parameters: parameters, ext: ext))
        }

        var parameters = Self.wireParameters(info.contentType?.parameters ?? [])
        let kind: BodyStructure.SinglePart.Kind
        switch part.kind {
        case .message:
            let child = part.children.first ?? index
            let subtype =
                info.contentType.map { ASCII.lowercasedBytes($0.subtype ?? []) } ?? Array("rfc822".utf8)
            kind =
                child == index
                ? .basic(type: Array("application".utf8), subtype: Array("octet-stream".utf8))
                : .message(
                    subtype: subtype, envelope: envelope(of: parts[child], view),
                    body: structure(of: child, view, extensible: extensible),
                    lines: part.bodyStart.lineCount(to: part.end))
        case .text:
            if !parameters.contains(where: { ASCII.equalsIgnoringCase(Array($0.0.utf8), "charset") }) {
                parameters.append(Self.defaultCharset)
            }
            kind = .text(
                subtype: info.contentType?.subtype ?? Array("plain".utf8),
                lines: part.bodyStart.lineCount(to: part.end))
        case .basic, .multipart:
            if part.overflow, let type = info.contentType?.type,
                ASCII.equalsIgnoringCase(type, "multipart") || ASCII.equalsIgnoringCase(type, "message")
            {
                kind = .basic(type: Array("application".utf8), subtype: Array("octet-stream".utf8))
                parameters = []
            } else {
                kind = .basic(
                    type: info.contentType?.type ?? Array("application".utf8),
                    subtype: info.contentType?.subtype ?? Array("unknown".utf8))
            }
        }
        let fields = BodyStructure.Fields(
            parameters: parameters, id: info.id, description: info.description,
            encoding: info.encoding.map { String(decoding: $0, as: UTF8.self) } ?? Self.defaultEncoding,
            octets: part.bodyStart.crlfLength(to: part.end))
        // Dovecot echoes the header's spelling of "text" ("TEXT", "Text"); nil is the
        // default spelling, so only a different one is carried.
        var mediaType: [UInt8]?
        if case .text = kind, let type = info.contentType?.type, type != Array("text".utf8) { mediaType = type }
        return .singlepart(
            BodyStructure.SinglePart(
                kind: kind, fields: fields, md5: extensible ? info.md5 : nil, ext: ext, mediaType: mediaType))
    }

    /// Parameters as the wire types hold them; a NUL ends a value (Dovecot's C strings).
    static func wireParameters(_ parameters: [MIMEParameter]) -> [(String, [UInt8])] {
        parameters.map { (String(decoding: $0.name, as: UTF8.self), EnvelopeText.plain($0.value)) }
    }

    /// What Dovecot shows for a multipart with no body part (RFC 2046 requires one).
    static func emptyTextPart() -> BodyStructure {
        .singlepart(
            BodyStructure.SinglePart(
                kind: .text(subtype: Array("plain".utf8), lines: 0),
                fields: BodyStructure.Fields(
                    parameters: [defaultCharset], id: nil, description: nil, encoding: defaultEncoding, octets: 0)))
    }
}
