import NIOCore

/// BODY and BODYSTRUCTURE (RFC 9051 §7.5.2, §9 `body`), byte for byte as Dovecot
/// prints them (lib-imap imap-bodystructure.c):
///
///     ("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 1152 23 NIL NIL NIL NIL)
///     (("text" "plain" …)("image" "png" …) "mixed" ("boundary" "x") NIL NIL NIL)
///
/// - parts of a multipart follow each other with no space;
/// - an empty parameter list is NIL; the language is always a parenthesised list;
/// - BODY (not extensible) stops after the lines / subtype; BODYSTRUCTURE adds md5,
///   disposition, language and location for a single part, parameters, disposition,
///   language and location for a multipart — each NIL when absent;
/// - a multipart without parts (not allowed by `1*body`) is written as Dovecot does:
///   one empty text/plain part;
/// - header-derived strings are unfolded (CR and LF dropped).
extension ResponseEncoder {

    /// Deeper nesting than this (Dovecot's own MIME parser stops at 100 levels) is cut
    /// off with the empty text/plain part, so that a hostile structure cannot exhaust
    /// the stack through this recursion.
    static let maxBodyDepth = 100

    /// `body = "(" (body-type-1part / body-type-mpart) ")"`
    func writeBody(_ body: BodyStructure, extensible: Bool, into buffer: inout ByteBuffer) {
        writeBody(body, extensible: extensible, depth: 0, into: &buffer)
    }

    private func writeBody(_ body: BodyStructure, extensible: Bool, depth: Int, into buffer: inout ByteBuffer) {
        guard depth < Self.maxBodyDepth else {
            writeEmptyBody(extensible: extensible, into: &buffer)
            return
        }
        buffer.writeInteger(EncoderByte.openParen)
        switch body {
        case .singlepart(let part):
            writeSinglePart(part, extensible: extensible, depth: depth, into: &buffer)
        case .multipart(let multipart):
            writeMultipart(multipart, extensible: extensible, depth: depth, into: &buffer)
        }
        buffer.writeInteger(EncoderByte.closeParen)
    }

    /// `body-type-1part = (body-type-basic / body-type-msg / body-type-text) [SP body-ext-1part]`
    private func writeSinglePart(
        _ part: BodyStructure.SinglePart, extensible: Bool, depth: Int, into buffer: inout ByteBuffer
    ) {
        switch part.kind {
        case .basic(let type, let subtype):
            // `media-basic = ((DQUOTE ("APPLICATION" / …) DQUOTE) / string) SP media-subtype`
            writeString(type, stripLineBreaks: true, into: &buffer)
            writeSpace(into: &buffer)
            writeString(subtype, stripLineBreaks: true, into: &buffer)
            writeSpace(into: &buffer)
            writeBodyFields(part.fields, into: &buffer)
        case .text(let subtype, let lines):
            // `body-type-text = media-text SP body-fields SP body-fld-lines`
            writeMediaType(part.mediaType, default: "\"text\"", into: &buffer)
            writeString(subtype, stripLineBreaks: true, into: &buffer)
            writeSpace(into: &buffer)
            writeBodyFields(part.fields, into: &buffer)
            writeSpace(into: &buffer)
            writeNumber(lines, into: &buffer)
        case .message(let subtype, let envelope, let body, let lines):
            // `body-type-msg = media-message SP body-fields SP envelope SP body SP body-fld-lines`
            writeMediaType(part.mediaType, default: "\"message\"", into: &buffer)
            writeString(subtype, stripLineBreaks: true, into: &buffer)
            writeSpace(into: &buffer)
            writeBodyFields(part.fields, into: &buffer)
            writeSpace(into: &buffer)
            writeEnvelope(envelope, into: &buffer)
            writeSpace(into: &buffer)
            writeBody(body, extensible: extensible, depth: depth + 1, into: &buffer)
            writeSpace(into: &buffer)
            writeNumber(lines, into: &buffer)
        }
        guard extensible else { return }
        // `body-ext-1part = body-fld-md5 [SP body-fld-dsp [SP body-fld-lang [SP body-fld-loc …]]]`
        writeSpace(into: &buffer)
        writeNString(part.md5, stripLineBreaks: true, into: &buffer)
        writeSpace(into: &buffer)
        writeExtensionTail(part.ext, into: &buffer)
    }

    /// `body-type-mpart = 1*body SP media-subtype [SP body-ext-mpart]`,
    /// `body-ext-mpart = body-fld-param [SP body-fld-dsp [SP body-fld-lang [SP body-fld-loc …]]]`
    private func writeMultipart(
        _ multipart: BodyStructure.MultiPart, extensible: Bool, depth: Int, into buffer: inout ByteBuffer
    ) {
        if multipart.parts.isEmpty {
            writeEmptyBody(extensible: extensible, into: &buffer)
        }
        for part in multipart.parts {
            writeBody(part, extensible: extensible, depth: depth + 1, into: &buffer)
        }
        writeSpace(into: &buffer)
        writeString(multipart.subtype, stripLineBreaks: true, into: &buffer)
        guard extensible else { return }
        writeSpace(into: &buffer)
        writeParameters(multipart.parameters, into: &buffer)
        writeSpace(into: &buffer)
        writeExtensionTail(multipart.ext, into: &buffer)
    }

    /// `"text" ` / `"message" ` or the header's own spelling, then a space.
    private func writeMediaType(_ mediaType: [UInt8]?, default spelling: StaticString, into buffer: inout ByteBuffer) {
        if let mediaType {
            writeString(mediaType, stripLineBreaks: true, into: &buffer)
        } else {
            buffer.writeStaticString(spelling)
        }
        writeSpace(into: &buffer)
    }

    /// `body-fields = body-fld-param SP body-fld-id SP body-fld-desc SP body-fld-enc SP body-fld-octets`
    private func writeBodyFields(_ fields: BodyStructure.Fields, into buffer: inout ByteBuffer) {
        writeParameters(fields.parameters, into: &buffer)
        writeSpace(into: &buffer)
        writeNString(fields.id, stripLineBreaks: true, into: &buffer)
        writeSpace(into: &buffer)
        writeNString(fields.description, stripLineBreaks: true, into: &buffer)
        writeSpace(into: &buffer)
        writeString(fields.encoding, into: &buffer)
        writeSpace(into: &buffer)
        writeNumber(fields.octets, into: &buffer)
    }

    /// `body-fld-param = "(" string SP string *(SP string SP string) ")" / nil`
    private func writeParameters(_ parameters: [(String, [UInt8])], into buffer: inout ByteBuffer) {
        guard !parameters.isEmpty else {
            buffer.writeStaticString("NIL")
            return
        }
        buffer.writeInteger(EncoderByte.openParen)
        for (index, (name, value)) in parameters.enumerated() {
            if index > 0 { writeSpace(into: &buffer) }
            writeString(name, into: &buffer)
            writeSpace(into: &buffer)
            writeString(value, stripLineBreaks: true, into: &buffer)
        }
        buffer.writeInteger(EncoderByte.closeParen)
    }

    /// `body-fld-dsp SP body-fld-lang SP body-fld-loc`, shared by both part kinds.
    private func writeExtensionTail(_ ext: BodyStructure.Extension, into buffer: inout ByteBuffer) {
        // `body-fld-dsp = "(" string SP body-fld-param ")" / nil`
        if let disposition = ext.disposition {
            buffer.writeInteger(EncoderByte.openParen)
            writeString(disposition.type, stripLineBreaks: true, into: &buffer)
            writeSpace(into: &buffer)
            writeParameters(disposition.parameters, into: &buffer)
            buffer.writeInteger(EncoderByte.closeParen)
        } else {
            buffer.writeStaticString("NIL")
        }
        writeSpace(into: &buffer)
        // `body-fld-lang = nstring / "(" string *(SP string) ")"`: Dovecot always uses
        // the list form, even for one language.
        if let languages = ext.language, !languages.isEmpty {
            buffer.writeInteger(EncoderByte.openParen)
            for (index, language) in languages.enumerated() {
                if index > 0 { writeSpace(into: &buffer) }
                writeString(language, stripLineBreaks: true, into: &buffer)
            }
            buffer.writeInteger(EncoderByte.closeParen)
        } else {
            buffer.writeStaticString("NIL")
        }
        writeSpace(into: &buffer)
        // `body-fld-loc = nstring`
        writeNString(ext.location, stripLineBreaks: true, into: &buffer)
    }

    /// Dovecot's stand-in for a part that cannot be described (a multipart with no
    /// parts): an empty text/plain.
    private func writeEmptyBody(extensible: Bool, into buffer: inout ByteBuffer) {
        buffer.writeStaticString("(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0")
        if extensible { buffer.writeStaticString(" NIL NIL NIL NIL") }
        buffer.writeInteger(EncoderByte.closeParen)
    }
}
