/// RFC 5256 §2.1: the base subject that SORT SUBJECT compares and THREAD groups by,
/// computed as Dovecot computes it (lib-imap imap-base-subject.c) so that both servers
/// sort the same spool the same way. Pure, for unit tests.
///
/// The ABNF of §5 that the steps strip:
/// - `subj-trailer = "(fwd)" / WSP`
/// - `subj-leader = (*subj-blob subj-refwd) / WSP`
/// - `subj-refwd = ("re" / ("fw" ["d"])) *WSP [subj-blob] ":"`
/// - `subj-blob = "[" *BLOBCHAR "]" *WSP`
/// - `subj-fwd = subj-fwd-hdr subject subj-fwd-trl`, `subj-fwd-hdr = "[fwd:"`, `subj-fwd-trl = "]"`
enum BaseSubject {
    /// The base subject of `subject` (already RFC 2047 decoded), case-mapped
    /// (`SortText.casemapped`), as UTF-8; and whether a `Re:`, `Fwd:`, `(fwd)` or
    /// `[fwd: …]` was removed (§2.2 REFERENCES step 5 prefers the message that is not a
    /// reply or forward).
    static func extract(_ subject: String) -> (base: [UInt8], isReplyOrForward: Bool) {
        // (1) RFC 2047 words are decoded by the caller; tabs and line breaks become
        // spaces and runs of spaces one space. Case-mapped first, so that the
        // prefixes below are matched in upper case only.
        var text = packWhitespace(SortText.casemapped(subject))
        var start = 0
        var isReplyOrForward = false
        repeat {
            // (2) Trailers: "(fwd)" and spaces, repeatedly.
            removeTrailers(&text, from: start, &isReplyOrForward)
            var found: Bool
            repeat {
                // (3) A leader: one space, or blobs followed by Re:/Fw:/Fwd:.
                found = removeLeader(text, &start, &isReplyOrForward)
                // (4) A blob, when something is left after it.
                found = removeBlobWhenNonEmpty(text, &start) || found
                // (5) Until neither matches.
            } while found
            // (6) "[fwd: … ]" around the whole rest: strip both ends, again from (2).
        } while removeForwardWrapper(&text, &start, &isReplyOrForward)
        // (7)
        return (Array(text[start...]), isReplyOrForward)
    }

    private static let space = UInt8(ascii: " ")

    static func packWhitespace(_ bytes: [UInt8]) -> [UInt8] {
        // Written in place, never longer than the input (a THREAD derives this for
        // every message of the folder).
        [UInt8](unsafeUninitializedCapacity: bytes.count) { out, count in
            var n = 0
            var lastWasSpace = false
            for b in bytes {
                if b == space || b == UInt8(ascii: "\t") || b == UInt8(ascii: "\r") || b == UInt8(ascii: "\n") {
                    if !lastWasSpace {
                        out[n] = space
                        n += 1
                    }
                    lastWasSpace = true
                } else {
                    out[n] = b
                    n += 1
                    lastWasSpace = false
                }
            }
            count = n
        }
    }

    private static func removeTrailers(_ text: inout [UInt8], from start: Int, _ isReplyOrForward: inout Bool) {
        var end = text.count
        while end > start {
            if text[end - 1] == space {
                end -= 1
            } else if end - start >= 5 && hasPrefix(text, end - 5, "(FWD)") {
                isReplyOrForward = true
                end -= 5
            } else {
                break
            }
        }
        text.removeSubrange(end...)
    }

    /// `subj-blob` at `index`: the index after it (and one space after it: white
    /// space is packed), or nil.
    private static func blobEnd(_ text: [UInt8], _ index: Int) -> Int? {
        guard index < text.count, text[index] == UInt8(ascii: "[") else { return nil }
        var i = index + 1
        while i < text.count && text[i] != UInt8(ascii: "[") && text[i] != UInt8(ascii: "]") { i += 1 }
        guard i < text.count, text[i] == UInt8(ascii: "]") else { return nil }
        i += 1
        if i < text.count && text[i] == space { i += 1 }
        return i
    }

    /// Whether `prefix` (ASCII) is at `index`; compared in place (this runs for every
    /// message of a SORT SUBJECT or THREAD).
    private static func hasPrefix(_ text: [UInt8], _ index: Int, _ prefix: StaticString) -> Bool {
        let count = prefix.utf8CodeUnitCount
        guard index >= 0, text.count - index >= count else { return false }
        let p = prefix.utf8Start
        for offset in 0..<count where text[index + offset] != p[offset] { return false }
        return true
    }

    private static func removeLeader(_ text: [UInt8], _ start: inout Int, _ isReplyOrForward: inout Bool) -> Bool {
        var removed = false
        if start < text.count && text[start] == space {
            // Always removed, whether or not a refwd follows.
            start += 1
            removed = true
        }
        var i = start
        while i < text.count && text[i] == UInt8(ascii: "[") {
            guard let end = blobEnd(text, i) else { return removed }
            i = end
        }
        if hasPrefix(text, i, "RE") {
            i += 2
        } else if hasPrefix(text, i, "FWD") {
            i += 3
        } else if hasPrefix(text, i, "FW") {
            i += 2
        } else {
            return removed
        }
        if i < text.count && text[i] == space { i += 1 }
        if i < text.count && text[i] == UInt8(ascii: "[") {
            guard let end = blobEnd(text, i) else { return removed }
            i = end
        }
        guard i < text.count, text[i] == UInt8(ascii: ":") else { return removed }
        start = i + 1
        isReplyOrForward = true
        return true
    }

    private static func removeBlobWhenNonEmpty(_ text: [UInt8], _ start: inout Int) -> Bool {
        guard let end = blobEnd(text, start), end < text.count else { return false }
        start = end
        return true
    }

    private static func removeForwardWrapper(_ text: inout [UInt8], _ start: inout Int, _ isReplyOrForward: inout Bool)
        -> Bool
    {
        // The "]" cannot be the ":" of the header, so at least "[FWD:]" is there.
        guard hasPrefix(text, start, "[FWD:"), text.last == UInt8(ascii: "]") else { return false }
        isReplyOrForward = true
        text.removeLast()
        start += 5
        return true
    }
}

/// Text comparison for SORT (RFC 5256 §3 says i;unicode-casemap, RFC 5051), as Dovecot
/// 2.3 compares (`uni_utf8_to_decomposed_titlecase`, checked against its answers): each
/// character mapped to its titlecase form when that is one character, then decomposed
/// one level (SortDecomposition: "é" becomes "E" + U+0301 and sorts between "D" and
/// "F"; "ß" stays), then compared as UTF-8 bytes.
enum SortText {
    static func casemapped(_ text: String) -> [UInt8] {
        // All ASCII (most subjects): upper case byte for byte, as the loop below
        // would, without taking the text apart into scalars.
        var text = text
        let ascii = text.withUTF8 { bytes -> [UInt8]? in
            guard !bytes.contains(where: { $0 >= 0x80 }) else { return nil }
            return [UInt8](unsafeUninitializedCapacity: bytes.count) { out, count in
                for (i, b) in bytes.enumerated() {
                    out[i] = b >= UInt8(ascii: "a") && b <= UInt8(ascii: "z") ? b - 32 : b
                }
                count = bytes.count
            }
        }
        if let ascii { return ascii }
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            if scalar.isASCII {
                let b = UInt8(scalar.value)
                out.append(b >= UInt8(ascii: "a") && b <= UInt8(ascii: "z") ? b - 32 : b)
                continue
            }
            let title = scalar.properties.titlecaseMapping.unicodeScalars
            let mapped = title.count == 1 ? title.first! : scalar
            for part in decomposed(mapped) { UTF8.encode(part) { out.append($0) } }
        }
        return out
    }

    /// The decomposition of one scalar (itself when it has none).
    static func decomposed(_ scalar: Unicode.Scalar) -> [Unicode.Scalar] {
        let value = scalar.value
        // Hangul syllables by the formula of Unicode §3.12.
        if (0xAC00...0xD7A3).contains(value) {
            let index = value - 0xAC00
            var parts = [0x1100 + index / 588, 0x1161 + (index % 588) / 28]
            if index % 28 != 0 { parts.append(0x11A7 + index % 28) }
            return parts.compactMap(Unicode.Scalar.init)
        }
        return decompositions[value] ?? [scalar]
    }

    /// SortDecomposition's table, parsed once.
    private static let decompositions: [UInt32: [Unicode.Scalar]] = {
        var table: [UInt32: [Unicode.Scalar]] = [:]
        for entry in SortDecomposition.table.split(whereSeparator: { $0 == ";" || $0.isWhitespace }) {
            let halves = entry.split(separator: "=")
            guard halves.count == 2, let code = UInt32(halves[0], radix: 16) else { continue }
            table[code] = halves[1].split(separator: ".").compactMap { UInt32($0, radix: 16) }.compactMap(
                Unicode.Scalar.init)
        }
        return table
    }()

    /// Byte-wise order of two case-mapped texts (a prefix sorts first).
    static func less(_ a: [UInt8], _ b: [UInt8]) -> Bool { a.lexicographicallyPrecedes(b) }
}
