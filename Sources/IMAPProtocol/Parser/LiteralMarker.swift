/// The announcement of a literal at the end of a line (RFC 9051 §4.3, §9):
/// `literal = "{" number64 ["+"] "}" CRLF *CHAR8` (the `+` is LITERAL+/LITERAL-,
/// RFC 7888) and `literal8 = "~{" number64 ["+"] "}" CRLF *OCTET` (BINARY, RFC 3516).
///
/// The framer only needs to know that a line ends in such a marker and how many bytes
/// follow; whether a literal (or literal8) is allowed at that point is the grammar's
/// business, which re-reads the marker from the command bytes.
struct LiteralMarker: Equatable {
    /// The announced size, or nil when the digits are absurd (more than
    /// `maxDigits`, or beyond UInt64): such a command is a BAD, never a huge allocation.
    var size: UInt64?
    /// `{n+}`: the client sends the bytes without waiting for a continuation.
    var isNonSynchronizing: Bool
    /// `~{n}`
    var isBinary: Bool

    /// UInt64.max has 20 digits; more is never a real size.
    static let maxDigits = 20
    /// Enough trailing bytes of a line to recognise any marker with `maxDigits` digits,
    /// plus one byte to tell "more than maxDigits" apart (`~{` + 21 digits + `+}`).
    static let longestMarker = 2 + maxDigits + 1 + 2

    /// Recognises a marker at the very end of `line` (line terminator already removed).
    /// A line that ends in `}` without a well-formed marker is not a literal: the
    /// grammar will reject it. When `line` is only the tail of a longer line (the
    /// framer discarding an over-long one), a run of digits reaching the start of the
    /// tail longer than `maxDigits` still counts as an absurd marker.
    init?<Bytes: BidirectionalCollection>(endOf line: Bytes) where Bytes.Element == UInt8 {
        var index = line.endIndex
        guard index != line.startIndex else { return nil }
        index = line.index(before: index)
        guard line[index] == ASCII.closeBrace, index != line.startIndex else { return nil }
        index = line.index(before: index)
        var nonSync = false
        if line[index] == ASCII.plus {
            nonSync = true
            guard index != line.startIndex else { return nil }
            index = line.index(before: index)
        }
        // Walk back over the digits; `digitsEnd` is one past the last digit.
        let digitsEnd = line.index(after: index)
        var digitCount = 0
        var digitsStart = digitsEnd
        while ASCII.isDigit(line[index]) {
            digitCount += 1
            digitsStart = index
            guard index != line.startIndex else {
                // The tail ran out inside the digits: only an absurd run can do that.
                guard digitCount > LiteralMarker.maxDigits else { return nil }
                self.init(size: nil, isNonSynchronizing: nonSync, isBinary: false)
                return
            }
            index = line.index(before: index)
        }
        guard digitCount > 0, line[index] == ASCII.openBrace else { return nil }
        var binary = false
        if index != line.startIndex, line[line.index(before: index)] == ASCII.tilde {
            binary = true
        }
        var size: UInt64? = nil
        if digitCount <= LiteralMarker.maxDigits {
            var value: UInt64 = 0
            var overflow = false
            for b in line[digitsStart..<digitsEnd] {
                let (times10, o1) = value.multipliedReportingOverflow(by: 10)
                let (sum, o2) = times10.addingReportingOverflow(UInt64(b - ASCII.zero))
                if o1 || o2 {
                    overflow = true
                    break
                }
                value = sum
            }
            size = overflow ? nil : value
        }
        self.init(size: size, isNonSynchronizing: nonSync, isBinary: binary)
    }

    init(size: UInt64?, isNonSynchronizing: Bool, isBinary: Bool) {
        self.size = size
        self.isNonSynchronizing = isNonSynchronizing
        self.isBinary = isBinary
    }
}
