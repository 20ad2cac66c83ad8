/// RFC 4648 §4 base64, as SASL uses it (RFC 9051 §6.2.2 AUTHENTICATE, RFC 4959 SASL-IR).
///
/// Decoding is strict about characters (anything outside the alphabet, whitespace
/// included, rejects the input: the IMAP line has already been framed, so whitespace can
/// only be an error) and tolerant about padding as Dovecot is: a final group may carry
/// its `=` padding or omit it, but `=` anywhere except at the end, more `=` than the
/// group needs, or a final group of one character is invalid. Non-zero bits left over
/// in the last character are ignored (RFC 4648 §3.5 allows either).
enum Base64 {
    static let padding = UInt8(ascii: "=")
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
    /// Marks bytes outside the alphabet in `decodingTable`.
    private static let invalid: UInt8 = 0xFF
    private static let decodingTable: [UInt8] = {
        var table = [UInt8](repeating: invalid, count: 256)
        for (value, character) in alphabet.enumerated() { table[Int(character)] = UInt8(value) }
        return table
    }()

    /// The decoded bytes, or nil when the input is not valid base64. Empty input
    /// decodes to no bytes.
    static func decode(_ input: some Collection<UInt8>) -> [UInt8]? {
        let characters = Array(input)
        // Split off trailing padding; no other "=" may appear.
        var dataCount = characters.count
        while dataCount > 0 && characters[dataCount - 1] == padding { dataCount -= 1 }
        let paddingCount = characters.count - dataCount
        let remainder = dataCount % 4
        // A final group of 1 character cannot encode a byte.
        guard remainder != 1 else { return nil }
        if paddingCount > 0 {
            // Padding, when present, completes exactly the last group.
            guard remainder != 0, paddingCount == 4 - remainder else { return nil }
        }

        var output: [UInt8] = []
        output.reserveCapacity(dataCount / 4 * 3 + 2)
        var accumulator: UInt32 = 0
        var bitCount = 0
        for index in 0..<dataCount {
            let value = decodingTable[Int(characters[index])]
            guard value != invalid else { return nil }
            accumulator = (accumulator << 6) | UInt32(value)
            bitCount += 6
            if bitCount >= 8 {
                bitCount -= 8
                output.append(UInt8(truncatingIfNeeded: accumulator >> UInt32(bitCount)))
                accumulator &= (1 << UInt32(bitCount)) - 1
            }
        }
        return output
    }

    /// Padded base64 of `bytes`.
    static func encode(_ bytes: some Collection<UInt8>) -> [UInt8] {
        let input = Array(bytes)
        var output: [UInt8] = []
        output.reserveCapacity((input.count + 2) / 3 * 4)
        var index = 0
        while index < input.count {
            let available = min(3, input.count - index)
            var group: UInt32 = 0
            for offset in 0..<3 {
                group <<= 8
                if offset < available { group |= UInt32(input[index + offset]) }
            }
            // `available` bytes fill available + 1 characters; the rest is padding.
            for position in 0..<4 {
                if position <= available {
                    let shift = UInt32(18 - 6 * position)
                    output.append(alphabet[Int((group >> shift) & 0x3F)])
                } else {
                    output.append(padding)
                }
            }
            index += available
        }
        return output
    }
}
