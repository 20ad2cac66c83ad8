/// Compares a secret with a candidate in time that depends only on the candidate's
/// length, never on where the first differing byte is, nor (beyond one modulo) on the
/// secret's length: the loop always runs over the whole candidate.
func constantTimeEquals(secret: UnsafeRawBufferPointer, candidate: UnsafeRawBufferPointer) -> Bool {
    var difference = UInt(bitPattern: secret.count ^ candidate.count)
    let secretCount = max(secret.count, 1)
    for index in 0..<candidate.count {
        // With an empty secret there is nothing to read; the length difference already
        // makes the answer false unless the candidate is empty too.
        let secretByte = secret.isEmpty ? 0 : secret[index % secretCount]
        difference |= UInt(secretByte ^ candidate[index])
    }
    return difference == 0
}

func constantTimeEquals(secret: [UInt8], candidate: [UInt8]) -> Bool {
    secret.withUnsafeBytes { secretBytes in
        candidate.withUnsafeBytes { candidateBytes in
            constantTimeEquals(secret: secretBytes, candidate: candidateBytes)
        }
    }
}
