/// Content-Transfer-Encoding decoders (RFC 2045 §6.7, §6.8), tolerant of the broken
/// input real mail contains: they never fail, they skip or keep what they cannot read.
enum TransferEncoding {
    case identity
    case base64
    case quotedPrintable

    init<C: Collection>(_ name: C?) where C.Element == UInt8 {
        guard let name else {
            self = .identity
            return
        }
        if ASCII.equalsIgnoringCase(name, "base64") {
            self = .base64
        } else if ASCII.equalsIgnoringCase(name, "quoted-printable") {
            self = .quotedPrintable
        } else {
            self = .identity
        }
    }

    func decode(_ bytes: UnsafeRawBufferPointer) -> [UInt8] {
        switch self {
        case .identity: return Array(bytes)
        case .base64: return Base64.decode(bytes)
        case .quotedPrintable: return QuotedPrintable.decode(bytes, header: false)
        }
    }
}

enum Base64 {
    private static let values: [UInt8] = {
        var t = [UInt8](repeating: 0xFF, count: 256)
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
        for (i, c) in alphabet.enumerated() { t[Int(c)] = UInt8(i) }
        return t
    }()

    /// Decodes base64, skipping every byte outside the alphabet (line breaks, spaces,
    /// junk) and stopping at the first "=" pad; a trailing partial group yields the
    /// whole bytes it holds.
    static func decode<C: Sequence>(_ input: C) -> [UInt8] where C.Element == UInt8 {
        var out: [UInt8] = []
        out.reserveCapacity(input.underestimatedCount / 4 * 3)
        var accumulator: UInt32 = 0
        var bits = 0
        for c in input {
            if c == ASCII.equals { break }
            let v = values[Int(c)]
            if v == 0xFF { continue }
            accumulator = (accumulator << 6) | UInt32(v)
            bits += 6
            if bits >= 8 {
                bits -= 8
                out.append(UInt8(truncatingIfNeeded: accumulator >> UInt32(bits)))
                accumulator &= (1 << UInt32(bits)) - 1
            }
        }
        return out
    }
}

enum QuotedPrintable {
    /// Decodes quoted-printable (RFC 2045 §6.7): `=XX` escapes (either case), soft
    /// line breaks (`=` at line end) removed, literal white space before a line break
    /// removed (rule 3), line breaks made CRLF. With `header` (RFC 2047 "Q"), "_" is a
    /// space. A "=" not followed by two hex digits or a line break is kept as it is.
    static func decode<C: Collection>(_ input: C, header: Bool) -> [UInt8]
    where C.Element == UInt8, C.Index == Int {
        var out: [UInt8] = []
        out.reserveCapacity(input.count)
        // Literal white space not yet known to be followed by something on its line.
        var pendingSpace: [UInt8] = []
        var i = input.startIndex
        let end = input.endIndex
        func flush() {
            out.append(contentsOf: pendingSpace)
            pendingSpace.removeAll(keepingCapacity: true)
        }
        while i < end {
            let c = input[i]
            switch c {
            case ASCII.equals:
                if i + 2 < end, let hi = ASCII.hexValue(input[i + 1]), let lo = ASCII.hexValue(input[i + 2]) {
                    flush()
                    out.append(hi << 4 | lo)
                    i += 3
                    continue
                }
                // Soft line break: "=" [white space] [CR] LF, or "=" at the very end.
                var j = i + 1
                while j < end && ASCII.isWSP(input[j]) { j += 1 }
                if j < end && input[j] == ASCII.cr { j += 1 }
                if j < end && input[j] == ASCII.lf {
                    flush()
                    i = j + 1
                    continue
                }
                if j >= end && !header {
                    flush()
                    i = j
                    continue
                }
                flush()
                out.append(c)
                i += 1
            case ASCII.space, ASCII.tab:
                pendingSpace.append(c)
                i += 1
            case ASCII.cr where i + 1 < end && input[i + 1] == ASCII.lf:
                i += 1
            case ASCII.lf:
                pendingSpace.removeAll(keepingCapacity: true)
                out.append(ASCII.cr)
                out.append(ASCII.lf)
                i += 1
            case ASCII.underscore where header:
                flush()
                out.append(ASCII.space)
                i += 1
            default:
                flush()
                out.append(c)
                i += 1
            }
        }
        return out
    }
}
