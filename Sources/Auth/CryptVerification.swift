import CCrypt
import Glibc

/// Outcome of one crypt(3) verification.
enum CryptOutcome: Equatable {
    case match
    case mismatch
    /// libcrypt does not accept the hash as a setting (unknown method, bad salt, …).
    case invalidSetting
}

/// The byte that ends a C string; a password containing it cannot be passed to crypt(3)
/// without being silently cut short, so such a password never matches.
let cStringTerminator: UInt8 = 0

/// crypt(3) verification with `crypt_rn`: a zeroed `crypt_data` per call (so calls on
/// different threads never share state; the struct is ~32 KiB, so it lives on the heap),
/// a constant-time comparison of the computed hash with the stored one, and every
/// buffer that held the password or the hash zeroed before it is freed.
func cryptCheck(password: [UInt8], hash: String) -> CryptOutcome {
    let setting = Array(hash.utf8)
    guard !setting.isEmpty, !setting.contains(cStringTerminator) else { return .invalidSetting }
    guard !password.contains(cStringTerminator) else { return .mismatch }

    var phrase = password + [cStringTerminator]
    var settingCString = setting + [cStringTerminator]
    defer {
        secureZero(&phrase)
        secureZero(&settingCString)
    }

    let computed: String? = phrase.withUnsafeBufferPointer { phraseBytes in
        settingCString.withUnsafeBufferPointer { settingBytes in
            phraseBytes.withMemoryRebound(to: CChar.self) { phraseChars in
                settingBytes.withMemoryRebound(to: CChar.self) { settingChars in
                    withCryptData { data, size in
                        crypt_rn(phraseChars.baseAddress, settingChars.baseAddress, data, size)
                            .map { String(cString: $0) }
                    }
                }
            }
        }
    }
    guard let computed else { return .invalidSetting }
    var computedBytes = Array(computed.utf8)
    defer { secureZero(&computedBytes) }
    return constantTimeEquals(secret: setting, candidate: computedBytes) ? .match : .mismatch
}

/// crypt(3) verification: crypt_rn with a zeroed crypt_data per call, constant-time
/// comparison, the buffer zeroed afterwards. false for an invalid setting, and for a
/// password containing a NUL byte (crypt would see only the part before it).
/// Blocking: up to ~200 ms for bcrypt cost 12; call it off the event loop.
public func verifyCrypt(password: [UInt8], hash: String) -> Bool {
    cryptCheck(password: password, hash: hash) == .match
}

/// Runs `body` with a zeroed, heap-allocated `crypt_data` (~32 KiB: too large for a
/// thread's stack to be comfortable) and zeroes it again afterwards, since libcrypt
/// leaves the password's derived state and the result in it.
func withCryptData<Result>(_ body: (UnsafeMutableRawPointer, Int32) -> Result) -> Result {
    let dataSize = MemoryLayout<crypt_data>.size
    let data = UnsafeMutableRawPointer.allocate(
        byteCount: dataSize, alignment: MemoryLayout<crypt_data>.alignment)
    // crypt_rn requires the whole struct zeroed before the first call (crypt.h).
    data.initializeMemory(as: UInt8.self, repeating: 0, count: dataSize)
    defer {
        explicit_bzero(data, dataSize)
        data.deallocate()
    }
    return body(data, Int32(dataSize))
}

/// Overwrites a buffer in a way the optimiser may not drop (explicit_bzero), for copies
/// of passwords and hashes that are about to be freed.
func secureZero(_ bytes: inout [UInt8]) {
    bytes.withUnsafeMutableBytes { raw in
        if let base = raw.baseAddress { explicit_bzero(base, raw.count) }
    }
}
