import NIOCore

/// FETCH responses (RFC 9051 §7.5.2 `msg-att`), whole or streamed.
///
/// `message-data = nz-number SP "FETCH" SP msg-att`,
/// `msg-att = "(" (msg-att-dynamic / msg-att-static) *(SP (msg-att-dynamic / msg-att-static)) ")"`.
///
/// The server streams large bodies: `writeFetchStart`, then `writeFetchItem` /
/// `writeStreamedLiteralHeader` (+ the body bytes it writes itself), then
/// `writeFetchEnd`. `encode(.untagged(.fetch(…)))` goes through the same functions, so
/// both forms are byte-identical. UID, FLAGS, RFC822.SIZE and INTERNALDATE are on the
/// hot path and allocate nothing.
extension ResponseEncoder {

    /// Streaming FETCH: "* 12 FETCH ("
    public func writeFetchStart(_ number: SequenceNumber, into buffer: inout ByteBuffer) {
        buffer.writeStaticString("* ")
        writeNumber(number.rawValue, into: &buffer)
        buffer.writeStaticString(" FETCH (")
    }

    /// One item; a leading space unless isFirst.
    public func writeFetchItem(_ item: FetchResponseItem, isFirst: Bool, into buffer: inout ByteBuffer) {
        if !isFirst { writeSpace(into: &buffer) }
        switch item {
        case .uid(let uid):
            buffer.writeStaticString("UID ")
            writeNumber(uid.rawValue, into: &buffer)
        case .flags(let flags):
            buffer.writeStaticString("FLAGS ")
            writeFlagList(flags, into: &buffer)
        case .internalDate(let date):
            buffer.writeStaticString("INTERNALDATE ")
            writeDateTime(date, into: &buffer)
        case .rfc822Size(let size):
            buffer.writeStaticString("RFC822.SIZE ")
            writeNumber(size, into: &buffer)
        case .envelope(let envelope):
            buffer.writeStaticString("ENVELOPE ")
            writeEnvelope(envelope, into: &buffer)
        case .bodyStructure(let structure, let extensible):
            buffer.writeStaticString(extensible ? "BODYSTRUCTURE " : "BODY ")
            writeBody(structure, extensible: extensible, into: &buffer)
        case .bodySection(let section, let origin, let data):
            writeLabel(.bodySection(section, origin: origin), into: &buffer)
            writeSpace(into: &buffer)
            writeMessageData(data, binary: false, into: &buffer)
        case .binary(let part, let origin, let data):
            writeLabel(.binary(part: part, origin: origin), into: &buffer)
            writeSpace(into: &buffer)
            writeMessageData(data, binary: true, into: &buffer)
        case .binarySize(let part, let size):
            // RFC 3516 / RFC 9051 `"BINARY.SIZE" section-binary SP number`
            buffer.writeStaticString("BINARY.SIZE[")
            writePartPath(part, into: &buffer)
            buffer.writeStaticString("] ")
            writeNumber(size, into: &buffer)
        case .rfc822(let data):
            buffer.writeStaticString("RFC822 ")
            writeMessageData(data, binary: false, into: &buffer)
        case .rfc822Header(let data):
            buffer.writeStaticString("RFC822.HEADER ")
            writeMessageData(data, binary: false, into: &buffer)
        case .rfc822Text(let data):
            buffer.writeStaticString("RFC822.TEXT ")
            writeMessageData(data, binary: false, into: &buffer)
        case .modSeq(let modSeq):
            // RFC 7162 `fetch-mod-resp = "MODSEQ" SP "(" permsg-modsequence ")"`
            buffer.writeStaticString("MODSEQ (")
            writeNumber(modSeq, into: &buffer)
            buffer.writeInteger(EncoderByte.closeParen)
        }
    }

    /// The label and literal header of a streamed body, e.g. `BODY[1.2]<0> {123}\r\n`,
    /// `RFC822 {5}\r\n`, `BINARY[1] ~{10}\r\n` (literal8 when `binary` and the content
    /// may contain NUL; the caller decides); a leading space unless isFirst. The caller
    /// then writes exactly `size` bytes.
    ///
    /// A `size` of 0 is written `{0}` + CRLF, exactly as the in-memory form writes empty
    /// data and as Dovecot does (golden tests), and the caller writes its 0 bytes. A
    /// negative size is treated as 0.
    public func writeStreamedLiteralHeader(
        _ label: StreamedLabel, size: Int, binary: Bool, isFirst: Bool, into buffer: inout ByteBuffer
    ) {
        if !isFirst { writeSpace(into: &buffer) }
        writeLabel(label, into: &buffer)
        writeSpace(into: &buffer)
        // Empty content is the literal `{0}` (never literal8), as Dovecot sends it.
        writeLiteralHeader(max(0, size), binary: binary && size > 0, into: &buffer)
    }

    /// ")\r\n"
    public func writeFetchEnd(into buffer: inout ByteBuffer) {
        buffer.writeInteger(EncoderByte.closeParen)
        writeCRLF(into: &buffer)
    }

    // MARK: pieces

    /// Message content as an nstring: NIL, else always a literal (`{0}` when empty), as
    /// Dovecot sends it (the bytes are sent unchanged, never quoted or escaped). BINARY
    /// content holding a NUL becomes a literal8 `~{n}` (RFC 3516 §4.2; RFC 9051 §9
    /// `msg-att-static =/ "BINARY" section-binary [...] SP (nstring / literal8)`).
    private func writeMessageData(_ data: [UInt8]?, binary: Bool, into buffer: inout ByteBuffer) {
        guard let data else {
            buffer.writeStaticString("NIL")
            return
        }
        let literal8 = binary && data.contains(EncoderByte.nul)
        writeLiteralHeader(data.count, binary: literal8, into: &buffer)
        buffer.writeBytes(data)
    }

    /// `BODY[section]<origin>`, `BINARY[part]<origin>`, `RFC822`, `RFC822.HEADER`,
    /// `RFC822.TEXT`. RFC 9051 §7.5.2: the origin is given when a partial range was
    /// requested (`<0>` included).
    func writeLabel(_ label: StreamedLabel, into buffer: inout ByteBuffer) {
        switch label {
        case .bodySection(let section, let origin):
            buffer.writeStaticString("BODY[")
            writeSection(section, into: &buffer)
            buffer.writeInteger(EncoderByte.closeBracket)
            writeOrigin(origin, into: &buffer)
        case .binary(let part, let origin):
            buffer.writeStaticString("BINARY[")
            writePartPath(part, into: &buffer)
            buffer.writeInteger(EncoderByte.closeBracket)
            writeOrigin(origin, into: &buffer)
        case .rfc822: buffer.writeStaticString("RFC822")
        case .rfc822Header: buffer.writeStaticString("RFC822.HEADER")
        case .rfc822Text: buffer.writeStaticString("RFC822.TEXT")
        }
    }

    private func writeOrigin(_ origin: Int?, into buffer: inout ByteBuffer) {
        guard let origin else { return }
        buffer.writeInteger(EncoderByte.lessThan)
        writeNumber(origin, into: &buffer)
        buffer.writeInteger(EncoderByte.greaterThan)
    }

    /// `section-part = nz-number *("." nz-number)`
    private func writePartPath(_ part: [Int], into buffer: inout ByteBuffer) {
        for (index, number) in part.enumerated() {
            if index > 0 { buffer.writeInteger(EncoderByte.dot) }
            writeNumber(number, into: &buffer)
        }
    }

    /// `section-spec = section-msgtext / (section-part ["." section-text])`.
    /// Header field names are echoed uppercased, as Dovecot does (its section strings are
    /// "always uppercased"); field names are case-insensitive (RFC 5322 §1.2.2), and
    /// clients match the echo that way.
    private func writeSection(_ section: SectionSpec, into buffer: inout ByteBuffer) {
        writePartPath(section.part, into: &buffer)
        guard let text = section.text else { return }
        if !section.part.isEmpty { buffer.writeInteger(EncoderByte.dot) }
        switch text {
        case .header: buffer.writeStaticString("HEADER")
        case .text: buffer.writeStaticString("TEXT")
        case .mime: buffer.writeStaticString("MIME")
        case .headerFields(let names):
            buffer.writeStaticString("HEADER.FIELDS (")
            writeHeaderList(names, into: &buffer)
            buffer.writeInteger(EncoderByte.closeParen)
        case .headerFieldsNot(let names):
            buffer.writeStaticString("HEADER.FIELDS.NOT (")
            writeHeaderList(names, into: &buffer)
            buffer.writeInteger(EncoderByte.closeParen)
        }
    }

    /// `header-list = "(" header-fld-name *(SP header-fld-name) ")"`, `header-fld-name = astring`.
    private func writeHeaderList(_ names: [String], into buffer: inout ByteBuffer) {
        for (index, name) in names.enumerated() {
            if index > 0 { writeSpace(into: &buffer) }
            encoderWithUTF8(name) { bytes in
                guard isAStringAtom(bytes) else {
                    writeString(bytes, into: &buffer)
                    return
                }
                for b in bytes {
                    let upper = b >= EncoderByte.lowercaseA && b <= EncoderByte.lowercaseZ
                    buffer.writeInteger(upper ? b - EncoderByte.asciiCaseBit : b)
                }
            }
        }
    }

    /// `date-time = DQUOTE date-day-fixed "-" date-month "-" date-year SP time SP zone DQUOTE`,
    /// e.g. `"17-Jul-1996 02:44:25 -0700"` (day space-padded), the same text as
    /// `IMAPDateTime.description`, written without building a String. Out-of-range
    /// fields are clamped so that the output always matches the grammar.
    func writeDateTime(_ dateTime: IMAPDateTime, into buffer: inout ByteBuffer) {
        buffer.writeInteger(EncoderByte.dquote)
        let day = min(max(dateTime.date.day, 0), 99)
        if day < 10 {
            writeSpace(into: &buffer)
            writeNumber(day, into: &buffer)
        } else {
            writeNumber(day, into: &buffer)
        }
        buffer.writeInteger(EncoderByte.minus)
        buffer.writeStaticString(Self.monthName(dateTime.date.month))
        buffer.writeInteger(EncoderByte.minus)
        writePaddedNumber(dateTime.date.year, width: 4, into: &buffer)
        writeSpace(into: &buffer)
        writePaddedNumber(dateTime.hour, width: 2, into: &buffer)
        buffer.writeInteger(EncoderByte.colon)
        writePaddedNumber(dateTime.minute, width: 2, into: &buffer)
        buffer.writeInteger(EncoderByte.colon)
        writePaddedNumber(dateTime.second, width: 2, into: &buffer)
        writeSpace(into: &buffer)
        buffer.writeInteger(dateTime.zoneMinutes < 0 ? EncoderByte.minus : EncoderByte.plus)
        let zone = dateTime.zoneMinutes.magnitude
        writePaddedNumber(Int(clamping: zone / 60), width: 2, into: &buffer)
        writePaddedNumber(Int(clamping: zone % 60), width: 2, into: &buffer)
        buffer.writeInteger(EncoderByte.dquote)
    }

    /// `date-month`; a month outside 1…12 (never produced by our own code) is clamped.
    private static func monthName(_ month: Int) -> StaticString {
        switch month {
        case ...1: return "Jan"
        case 2: return "Feb"
        case 3: return "Mar"
        case 4: return "Apr"
        case 5: return "May"
        case 6: return "Jun"
        case 7: return "Jul"
        case 8: return "Aug"
        case 9: return "Sep"
        case 10: return "Oct"
        case 11: return "Nov"
        default: return "Dec"
        }
    }
}
