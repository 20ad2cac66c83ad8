/// The Content-* fields of one part (RFC 2045 §5–§8, RFC 2183, RFC 3282, RFC 2557),
/// read as Dovecot reads them: only when the part is MIME (see `PartNode.isMIME`),
/// the first occurrence of each field wins, values are unfolded raw bytes.
struct PartHeaderInfo {
    var contentType: ContentTypeValue?
    var encoding: [UInt8]?
    var id: [UInt8]?
    var description: [UInt8]?
    var md5: [UInt8]?
    var disposition: (type: [UInt8], parameters: [MIMEParameter])?
    var languages: [[UInt8]]?
    var location: [UInt8]?

    init(_ part: PartNode, fields: [HeaderField], _ view: ByteView) {
        guard part.isMIME else { return }
        var seenDisposition = false
        for field in fields {
            let name = view.name(of: field)
            guard name.count > 8, ASCII.hasPrefixIgnoringCase(name, "Content-") else { continue }
            let rest = UnsafeRawBufferPointer(rebasing: name[8...])
            if ASCII.equalsIgnoringCase(rest, "Type") {
                if contentType == nil {
                    let value = MIMEParameters.parseContentType(view.foldedValue(of: field))
                    if !value.type.isEmpty { contentType = value }
                }
            } else if ASCII.equalsIgnoringCase(rest, "Transfer-Encoding") {
                if encoding == nil { encoding = MIMEParameters.parseEncoding(view.foldedValue(of: field)) }
            } else if ASCII.equalsIgnoringCase(rest, "ID") {
                if id == nil { id = EnvelopeText.plain(view.unfoldedValue(of: field)) }
            } else if ASCII.equalsIgnoringCase(rest, "Description") {
                if description == nil { description = EnvelopeText.plain(view.unfoldedValue(of: field)) }
            } else if ASCII.equalsIgnoringCase(rest, "MD5") {
                if md5 == nil { md5 = EnvelopeText.plain(view.unfoldedValue(of: field)) }
            } else if ASCII.equalsIgnoringCase(rest, "Disposition") {
                if !seenDisposition {
                    seenDisposition = true
                    disposition = MIMEParameters.parseDisposition(view.foldedValue(of: field))
                }
            } else if ASCII.equalsIgnoringCase(rest, "Language") {
                if languages == nil {
                    let list = MIMEParameters.parseLanguages(view.foldedValue(of: field))
                    if !list.isEmpty { languages = list }
                }
            } else if ASCII.equalsIgnoringCase(rest, "Location") {
                if location == nil { location = EnvelopeText.plain(view.unfoldedValue(of: field)) }
            }
        }
    }

    /// The charset parameter, if any (for SEARCH decoding).
    var charset: [UInt8]? {
        contentType?.parameters.first(where: { $0.isNamed("charset") })?.value
    }
}
