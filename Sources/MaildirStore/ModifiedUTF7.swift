// Modified UTF-7 of RFC 3501 §5.1.3 / RFC 9051 §5.1.3 (used for folder names on disk,
// and on the wire for clients that did not enable UTF-8).
//
// Printable US-ASCII except '&' stands for itself; '&' is "&-"; any other run of
// characters is '&' + modified BASE64 (',' instead of '/', no padding) of its UTF-16BE
// form + '-'.

public enum ModifiedUTF7 {
    private static let shift = UInt8(ascii: "&")
    private static let unshift = UInt8(ascii: "-")
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,".utf8)

    private static func isDirect(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value >= 0x20 && scalar.value <= 0x7E && scalar != "&"
    }

    public static func encode(_ s: String) -> String {
        var out: [UInt8] = []
        var pending: [UInt16] = []
        func flush() {
            guard !pending.isEmpty else { return }
            out.append(shift)
            var bytes: [UInt8] = []
            for unit in pending { bytes += [UInt8(unit >> 8), UInt8(unit & 0xFF)] }
            var i = 0
            while i < bytes.count {
                let b0 = bytes[i]
                let b1 = i + 1 < bytes.count ? bytes[i + 1] : 0
                let b2 = i + 2 < bytes.count ? bytes[i + 2] : 0
                let remaining = bytes.count - i
                out.append(alphabet[Int(b0 >> 2)])
                out.append(alphabet[Int((b0 & 0x03) << 4 | b1 >> 4)])
                if remaining > 1 { out.append(alphabet[Int((b1 & 0x0F) << 2 | b2 >> 6)]) }
                if remaining > 2 { out.append(alphabet[Int(b2 & 0x3F)]) }
                i += 3
            }
            out.append(unshift)
            pending.removeAll()
        }
        for scalar in s.unicodeScalars {
            if isDirect(scalar) {
                flush()
                out.append(UInt8(scalar.value))
            } else if scalar == "&" {
                flush()
                out += [shift, unshift]
            } else {
                pending += Array(String(scalar).utf16)
            }
        }
        flush()
        return String(decoding: out, as: UTF8.self)
    }

    /// nil when malformed: bytes outside printable ASCII, bad BASE64, a missing '-',
    /// leftover bits, broken surrogate pairs, or encoded characters that must be direct.
    public static func decode(_ s: String) -> String? {
        let bytes = Array(s.utf8)
        var result = String.UnicodeScalarView()
        var i = 0
        while i < bytes.count {
            let byte = bytes[i]
            guard byte >= 0x20 && byte <= 0x7E else { return nil }
            guard byte == shift else {
                result.append(Unicode.Scalar(byte))
                i += 1
                continue
            }
            i += 1
            guard let end = bytes[i...].firstIndex(of: unshift) else { return nil }
            if end == i {
                result.append("&")
                i = end + 1
                continue
            }
            guard let units = decodeBase64(bytes[i..<end]) else { return nil }
            var scalars = String.UnicodeScalarView()
            var decoder = UTF16()
            var iterator = units.makeIterator()
            decoding: while true {
                switch decoder.decode(&iterator) {
                case .scalarValue(let scalar):
                    // A character that has a direct form must not be encoded.
                    if isDirect(scalar) || scalar == "&" { return nil }
                    scalars.append(scalar)
                case .emptyInput: break decoding
                case .error: return nil
                }
            }
            result.append(contentsOf: scalars)
            i = end + 1
        }
        return String(result)
    }

    private static func decodeBase64(_ chars: ArraySlice<UInt8>) -> [UInt16]? {
        var bits: UInt32 = 0
        var bitCount = 0
        var bytes: [UInt8] = []
        for char in chars {
            guard let value = alphabet.firstIndex(of: char) else { return nil }
            bits = (bits << 6) | UInt32(value)
            bitCount += 6
            if bitCount >= 8 {
                bitCount -= 8
                bytes.append(UInt8((bits >> UInt32(bitCount)) & 0xFF))
            }
        }
        // Leftover bits must be fewer than 6 and zero (RFC 3501: no padding, minimal form).
        guard bitCount < 6, bits & ((1 << UInt32(bitCount)) - 1) == 0, bytes.count % 2 == 0, !bytes.isEmpty else {
            return nil
        }
        return stride(from: 0, to: bytes.count, by: 2).map { UInt16(bytes[$0]) << 8 | UInt16(bytes[$0 + 1]) }
    }
}
