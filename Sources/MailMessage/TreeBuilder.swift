/// Builds the MIME part tree (RFC 2045, RFC 2046 §5) in one forward pass over the
/// lines of the message. Nesting is tracked with an explicit stack of open boundaries
/// and parent indexes, never by recursion, so hostile nesting costs no stack.
///
/// Boundary rules follow RFC 2046 §5.1.1 as Dovecot applies them:
/// - a delimiter line is `--boundary` at the start of a line; only the prefix has to
///   match (trailing white space or junk is ignored); when several open boundaries
///   match, the longest wins, the innermost among equals;
/// - the [CR]LF before a delimiter line belongs to the delimiter, not to the part
///   before it (except at the very start of a body, where there is none to take);
/// - `--boundary--` closes the multipart; what follows is its epilogue, which is
///   scanned for outer boundaries; a boundary of an outer multipart also closes every
///   part opened inside it; a boundary that is never closed ends at the end of data;
/// - a delimiter line inside a part's header ends that header (the part has no body).
struct TreeBuilder {
    private enum Mode {
        /// Reading the header of `current`.
        case header(HeaderScan)
        /// Reading the body of `current`; `regionStart` is where the body (or the
        /// preamble / epilogue) began, where no line break precedes a delimiter.
        case body(regionStart: Int)
    }

    /// What the header scan of one part remembers.
    private struct HeaderScan {
        var contentType: HeaderField?
        var inContentType = false
        var mimeVersion = false
        var sawField = false
        var fieldCount = 0
    }

    private static let boundaryMaxLength = 80  // RFC 2046 allows 70; Dovecot keeps 80.

    private let view: ByteView
    private let limits: MessageLimits
    private var parts: [PartNode] = []
    /// Open multipart boundaries, innermost last.
    private var boundaries: [(delimiter: [UInt8], owner: Int)] = []
    private var current = 0
    private var pos = 0
    private var lines = 0
    private var bareLF = 0

    init(_ view: ByteView, limits: MessageLimits) {
        self.view = view
        self.limits = limits
    }

    private var mark: Mark { Mark(offset: pos, lines: lines, bareLF: bareLF) }

    static func build(_ view: ByteView, limits: MessageLimits) -> [PartNode] {
        var builder = TreeBuilder(view, limits: limits)
        builder.run()
        return builder.parts
    }

    private mutating func run() {
        parts.append(PartNode(kind: .text, parent: -1, depth: 0, start: .zero, bodyStart: .zero, end: .zero))
        var mode = Mode.header(HeaderScan())
        while true {
            switch mode {
            case .header(var scan):
                guard pos < view.count else {
                    // The header runs to the end of the data: no empty line, no body.
                    finishHeader(scan, bodyStart: mark, sawEmptyLine: false)
                    finishAll()
                    return
                }
                let line = view.line(at: pos, limit: view.count)
                if let (index, closes) = matchBoundary(line) {
                    let headerEnd = pos == parts[current].start.offset ? mark : markBeforeLineBreak()
                    finishHeader(scan, bodyStart: headerEnd, sawEmptyLine: false)
                    guard let next = handleBoundary(index, closes: closes, contentEnd: headerEnd, line: line) else {
                        finishAll()
                        return
                    }
                    mode = next
                } else if line.contentEnd == line.start && line.hasNewline {
                    consume(line)
                    if let next = finishHeader(scan, bodyStart: mark, sawEmptyLine: true) {
                        mode = next
                    } else {
                        finishAll()
                        return
                    }
                } else {
                    scanHeaderLine(line, &scan)
                    consume(line)
                    mode = .header(scan)
                }
            case .body(let regionStart):
                if boundaries.isEmpty {
                    consumeToEnd()
                    finishAll()
                    return
                }
                var next: Mode?
                var found = false
                while pos < view.count {
                    let line = view.line(at: pos, limit: view.count)
                    if let (index, closes) = matchBoundary(line) {
                        let contentEnd = pos == regionStart ? mark : markBeforeLineBreak()
                        next = handleBoundary(index, closes: closes, contentEnd: contentEnd, line: line)
                        found = true
                        break
                    }
                    consume(line)
                }
                guard found, let next else {
                    finishAll()
                    return
                }
                mode = next
            }
        }
    }

    // MARK: Lines and counts

    private mutating func consume(_ line: LineSpan) {
        pos = line.next
        if line.hasNewline {
            lines += 1
            let lf = line.next - 1
            if lf == 0 || view.at(lf - 1) != ASCII.cr { bareLF += 1 }
        }
    }

    private mutating func consumeToEnd() {
        while let lf = view.firstIndex(of: ASCII.lf, from: pos, to: view.count) {
            lines += 1
            if lf == 0 || view.at(lf - 1) != ASCII.cr { bareLF += 1 }
            pos = lf + 1
        }
        pos = view.count
    }

    /// The mark before the line break that ends just before `pos` (a line start).
    private func markBeforeLineBreak() -> Mark {
        let lf = pos - 1
        let crlf = lf > 0 && view.at(lf - 1) == ASCII.cr
        return Mark(offset: crlf ? lf - 1 : lf, lines: lines - 1, bareLF: bareLF - (crlf ? 0 : 1))
    }

    // MARK: Headers

    private func scanHeaderLine(_ line: LineSpan, _ scan: inout HeaderScan) {
        if scan.sawField && ASCII.isWSP(view.at(line.start)) {
            if scan.inContentType { scan.contentType?.end = line.next }
            return
        }
        scan.sawField = true
        scan.inContentType = false
        let partStart = parts[current].start.offset
        guard scan.fieldCount < limits.maxHeaderFields, line.start - partStart < limits.maxHeaderBytes else {
            return
        }
        scan.fieldCount += 1
        guard let (nameEnd, valueStart) = view.fieldStart(line) else { return }
        let name = view.slice(line.start, nameEnd)
        if scan.contentType == nil && ASCII.equalsIgnoringCase(name, "Content-Type") {
            scan.contentType = HeaderField(
                start: line.start, nameEnd: nameEnd, valueStart: valueStart, end: line.next, isField: true)
            scan.inContentType = true
        } else if ASCII.equalsIgnoringCase(name, "MIME-Version") {
            scan.mimeVersion = true
        }
    }

    /// Decides the part's type from its header and what comes next: the nested
    /// message's header, the body, or (without an empty line) nothing.
    @discardableResult
    private mutating func finishHeader(_ scan: HeaderScan, bodyStart: Mark, sawEmptyLine: Bool) -> Mode? {
        var part = parts[current]
        part.bodyStart = bodyStart
        part.end = bodyStart
        let parentIsMultipart = part.parent >= 0 && parts[part.parent].kind == .multipart
        part.isMIME = scan.mimeVersion || scan.contentType != nil || parentIsMultipart
        var contentType: ContentTypeValue?
        if part.isMIME, let field = scan.contentType {
            let value = MIMEParameters.parseContentType(view.foldedValue(of: field))
            if !value.type.isEmpty { contentType = value }
        }
        var kind = PartNode.Kind.text
        var boundary: [UInt8]?
        if let contentType {
            let type = ASCII.lowercasedBytes(contentType.type)
            let subtype = ASCII.lowercasedBytes(contentType.subtype ?? [])
            if type == Array("message".utf8) && (subtype == Array("rfc822".utf8) || subtype == Array("global".utf8)) {
                kind = .message
            } else if type == Array("text".utf8) {
                kind = .text
            } else if type == Array("multipart".utf8) && contentType.subtype != nil {
                kind = .multipart
                part.isDigest = subtype == Array("digest".utf8)
                if let b = contentType.parameters.first(where: { $0.isNamed("boundary") }) {
                    boundary = Array(b.value.prefix(Self.boundaryMaxLength))
                }
            } else {
                kind = .basic
            }
        } else if part.inDigest {
            kind = .message
        }
        if (kind == .multipart || kind == .message) && (part.overflow || part.depth + 1 >= limits.maxDepth) {
            part.overflow = true
            kind = .basic
        }
        if kind == .message && !sawEmptyLine && parts.count + 1 >= limits.maxParts {
            part.overflow = true
            kind = .basic
        }
        part.kind = kind
        parts[current] = part

        switch kind {
        case .message:
            // The nested message starts right after this header, even when empty.
            let child = appendPart(parent: current, at: bodyStart)
            current = child
            return sawEmptyLine ? .header(HeaderScan()) : nil
        case .multipart:
            guard sawEmptyLine else { return nil }
            if let boundary { boundaries.append((boundary, current)) }
            return .body(regionStart: pos)
        case .text, .basic:
            return sawEmptyLine ? .body(regionStart: pos) : nil
        }
    }

    // MARK: Boundaries

    /// The open boundary this line is a delimiter of, and whether it is the close
    /// delimiter (`--boundary--`).
    private func matchBoundary(_ line: LineSpan) -> (Int, Bool)? {
        guard !boundaries.isEmpty, line.contentEnd - line.start >= 2, view.at(line.start) == ASCII.hyphen,
            view.at(line.start + 1) == ASCII.hyphen
        else { return nil }
        let dataStart = line.start + 2
        var findEnd = line.contentEnd
        if findEnd - dataStart > 2 && view.at(findEnd - 1) == ASCII.hyphen && view.at(findEnd - 2) == ASCII.hyphen {
            findEnd -= 2
        }
        let findLength = findEnd - dataStart
        var best: Int?
        for i in boundaries.indices.reversed() {
            let b = boundaries[i].delimiter
            guard b.count <= findLength, best.map({ boundaries[$0].delimiter.count < b.count }) ?? true else {
                continue
            }
            var matches = true
            for (k, byte) in b.enumerated() where view.at(dataStart + k) != byte {
                matches = false
                break
            }
            if matches {
                best = i
                if b.count == findLength { break }
            }
        }
        guard let best else { return nil }
        let after = dataStart + boundaries[best].delimiter.count
        let closes = view.at(after) == ASCII.hyphen && view.at(after + 1) == ASCII.hyphen && after + 1 < line.contentEnd
        return (best, closes)
    }

    /// Closes every part inside the boundary's multipart at `contentEnd`, skips the
    /// delimiter line and starts the next body part (or the epilogue).
    private mutating func handleBoundary(_ index: Int, closes: Bool, contentEnd: Mark, line: LineSpan) -> Mode? {
        guard index < boundaries.count else { return nil }
        let owner = boundaries[index].owner
        var p = current
        while p != owner && p > 0 {
            parts[p].end = contentEnd
            p = parts[p].parent
        }
        current = owner
        if closes {
            boundaries.removeSubrange(index...)
        } else {
            // Boundaries opened inside the part just closed are forgotten.
            boundaries.removeSubrange((index + 1)...)
        }
        consume(line)
        if closes { return .body(regionStart: pos) }
        // "--boundary" at the very end with no line break opens no part (Dovecot).
        guard line.hasNewline else { return nil }
        current = appendPart(parent: owner, at: mark)
        return .header(HeaderScan())
    }

    /// Adds a child part. The part that reaches `maxParts` is opaque and runs to the
    /// end of the data (every boundary is dropped), as in Dovecot.
    private mutating func appendPart(parent: Int, at start: Mark) -> Int {
        let index = parts.count
        var node = PartNode(
            kind: .text, parent: parent, depth: parts[parent].depth + 1, start: start, bodyStart: start, end: start)
        node.inDigest = parts[parent].isDigest
        parts.append(node)
        parts[parent].children.append(index)
        if parts.count >= limits.maxParts {
            parts[index].overflow = true
            boundaries.removeAll()
        }
        return index
    }

    /// End of data: every open part ends here.
    private mutating func finishAll() {
        let end = mark
        var p = current
        while p >= 0 {
            if parts[p].bodyStart.offset > end.offset { parts[p].bodyStart = end }
            parts[p].end = end
            p = parts[p].parent
        }
    }
}
