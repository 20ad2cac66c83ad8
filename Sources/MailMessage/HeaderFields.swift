/// Header fields (RFC 5322 §2.2, §3.6) located in the raw bytes.
///
/// Rules, following Dovecot's message-header-parser so both servers see the same
/// fields: a field is `name ":" value` with continuation lines starting with SP or
/// HTAB (§2.2.3 folding); LF and CRLF line ends are both accepted; the header ends at
/// the first empty line, or at the end of the data when no empty line comes; a line
/// without a colon is not a field (it is skipped, though HEADER.FIELDS.NOT keeps it);
/// white space before the colon is not part of the name; all white space after the
/// colon is skipped (only one when the rest of the line is blank).

/// One field, or one line without a colon, of a header block.
struct HeaderField {
    /// First byte of the field.
    var start: Int
    /// End of the name (white space before the colon trimmed). `start` for a line
    /// without colon.
    var nameEnd: Int
    /// First byte of the value.
    var valueStart: Int
    /// Just past the field's last line break (or the end of the header data).
    var end: Int
    /// False for a line without a colon, which is not a field.
    var isField: Bool
}

/// One physical line: `[start, contentEnd)` without its line break, next line at `next`.
struct LineSpan {
    var start: Int
    var contentEnd: Int
    var next: Int
    /// The line ended with a LF (not with the end of the data).
    var hasNewline: Bool { next > contentEnd }
}

extension ByteView {
    /// The line starting at `start`, within `[start, limit)`.
    @inline(__always) func line(at start: Int, limit: Int) -> LineSpan {
        if let lf = firstIndex(of: ASCII.lf, from: start, to: limit) {
            let contentEnd = lf > start && at(lf - 1) == ASCII.cr ? lf - 1 : lf
            return LineSpan(start: start, contentEnd: contentEnd, next: lf + 1)
        }
        return LineSpan(start: start, contentEnd: limit, next: limit)
    }

    /// Classifies the first line of a field: name end and value start, or nil when the
    /// line has no colon.
    func fieldStart(_ line: LineSpan) -> (nameEnd: Int, valueStart: Int)? {
        guard let colon = firstIndex(of: ASCII.colon, from: line.start, to: line.contentEnd) else {
            return nil
        }
        var nameEnd = colon
        while nameEnd > line.start && ASCII.isWSP(at(nameEnd - 1)) { nameEnd -= 1 }
        var v = colon + 1
        while v < line.contentEnd && ASCII.isWSP(at(v)) { v += 1 }
        if v == line.contentEnd && v > colon + 1 {
            // Only white space: skip just the first one (Dovecot).
            v = colon + 2
        }
        return (nameEnd, v)
    }

    /// Calls `body` for each field (and each line without a colon) of the header block
    /// `[start, end)`, in order, until the empty line ending the header. Fields past
    /// `limits.maxHeaderFields` or starting `limits.maxHeaderBytes` after `start` are
    /// not reported. `body` returns false to stop.
    func forEachHeaderField(
        from start: Int, to end: Int, limits: MessageLimits, _ body: (HeaderField) -> Bool
    ) {
        var pos = start
        var pending: HeaderField?
        var reported = 0
        while pos < end {
            let line = self.line(at: pos, limit: end)
            let isBlank = line.contentEnd == line.start && line.hasNewline
            let isContinuation = !isBlank && ASCII.isWSP(at(pos)) && pending != nil
            if isContinuation {
                pending?.end = line.next
                pos = line.next
                continue
            }
            if let field = pending {
                pending = nil
                if !body(field) { return }
                reported += 1
            }
            if isBlank { return }
            if reported >= limits.maxHeaderFields || pos - start >= limits.maxHeaderBytes { return }
            if let (nameEnd, valueStart) = fieldStart(line) {
                pending = HeaderField(
                    start: pos, nameEnd: nameEnd, valueStart: valueStart, end: line.next, isField: true)
            } else {
                pending = HeaderField(start: pos, nameEnd: pos, valueStart: pos, end: line.next, isField: false)
            }
            pos = line.next
        }
        if let field = pending { _ = body(field) }
    }

    /// The field's name bytes.
    func name(of field: HeaderField) -> UnsafeRawBufferPointer { slice(field.start, field.nameEnd) }

    /// The field's value as on disk, folding kept, each line break reduced to LF
    /// (Dovecot's `full_value`), final line break removed.
    func foldedValue(of field: HeaderField) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(max(0, field.end - field.valueStart))
        var pos = field.valueStart
        while pos < field.end {
            let line = self.line(at: pos, limit: field.end)
            if line.start < line.contentEnd {
                out.append(contentsOf: slice(line.start, line.contentEnd))
            }
            if line.next < field.end { out.append(ASCII.lf) }
            if line.next <= pos { break }
            pos = line.next
        }
        return out
    }

    /// The value unfolded: every CR and LF removed, so CRLF+WSP becomes the WSP
    /// (RFC 5322 §2.2.3).
    func unfoldedValue(of field: HeaderField) -> [UInt8] {
        foldedValue(of: field).filter { $0 != ASCII.lf && $0 != ASCII.cr }
    }

    /// The field's bytes as on disk with every line end made CRLF (HEADER.FIELDS).
    func appendCRLFField(_ field: HeaderField, to out: inout [UInt8]) {
        var pos = field.start
        while pos < field.end {
            let line = self.line(at: pos, limit: field.end)
            out.append(contentsOf: slice(line.start, line.contentEnd))
            // A bare CR before the LF was stripped by `line(at:)`: CRLF restores it.
            out.append(ASCII.cr)
            out.append(ASCII.lf)
            if line.next <= pos { break }
            pos = line.next
        }
    }
}
