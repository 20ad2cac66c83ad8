import CCrypt
import Glibc

/// Schemes `makePasswordHash` can produce, named as `doveadm pw -s` names them.
public enum PasswordScheme: String, Sendable, CaseIterable {
    case yescrypt = "YESCRYPT"
    case sha512Crypt = "SHA512-CRYPT"
    case sha256Crypt = "SHA256-CRYPT"
    case blfCrypt = "BLF-CRYPT"

    /// The crypt(3) method prefix handed to crypt_gensalt_rn.
    var cryptPrefix: String {
        switch self {
        case .yescrypt: return "$y$"
        case .sha512Crypt: return "$6$"
        case .sha256Crypt: return "$5$"
        case .blfCrypt: return "$2b$"
        }
    }

    /// The `{SCHEME}` prefix written into the passwd file. Dovecot has no YESCRYPT
    /// scheme name: yescrypt hashes are stored under the generic {CRYPT}.
    var storedPrefix: String {
        switch self {
        case .yescrypt: return "{CRYPT}"
        case .sha512Crypt: return "{SHA512-CRYPT}"
        case .sha256Crypt: return "{SHA256-CRYPT}"
        case .blfCrypt: return "{BLF-CRYPT}"
        }
    }

    /// The cost used when none is given: libcrypt's default (count 0) except for
    /// bcrypt, whose libcrypt default of 5 is too cheap today.
    var defaultCost: UInt {
        switch self {
        case .blfCrypt: return 10
        case .yescrypt, .sha512Crypt, .sha256Crypt: return 0
        }
    }
}

/// Random bytes given to crypt_gensalt_rn: 16 is what every method here uses at most
/// for its salt (bcrypt takes exactly 16).
private let saltEntropyByteCount = 16

/// Makes a passwd-file hash as `doveadm pw` does:
/// yescrypt → "{CRYPT}$y$...", SHA512-CRYPT → "{SHA512-CRYPT}$6$...",
/// SHA256-CRYPT → "{SHA256-CRYPT}$5$...", BLF-CRYPT → "{BLF-CRYPT}$2b$..." (cost 10),
/// with a salt from crypt_gensalt_rn seeded by getrandom(2). Blocking.
public func makePasswordHash(_ password: [UInt8], scheme: PasswordScheme) throws -> String {
    try makePasswordHash(password, scheme: scheme, cost: scheme.defaultCost)
}

/// As `makePasswordHash(_:scheme:)` with an explicit cost in libcrypt's terms (0 =
/// libcrypt's default): yescrypt 1…11, SHA-crypt rounds 1000…999999999, bcrypt 4…31.
/// Throws `AuthError.hashingFailed` when libcrypt rejects the cost or the password
/// contains a NUL byte.
public func makePasswordHash(_ password: [UInt8], scheme: PasswordScheme, cost: UInt) throws -> String {
    guard !password.contains(cStringTerminator) else {
        throw AuthError.hashingFailed("the password contains a NUL byte")
    }
    var entropy = try randomBytes(count: saltEntropyByteCount)
    defer { secureZero(&entropy) }

    var setting = [CChar](repeating: 0, count: Int(CRYPT_GENSALT_OUTPUT_SIZE))
    let made = entropy.withUnsafeBufferPointer { entropyBytes in
        entropyBytes.withMemoryRebound(to: CChar.self) { entropyChars in
            crypt_gensalt_rn(
                scheme.cryptPrefix, cost, entropyChars.baseAddress, Int32(entropyChars.count),
                &setting, Int32(setting.count))
        }
    }
    guard made != nil else {
        throw AuthError.hashingFailed("libcrypt cannot make a \(scheme.rawValue) salt with cost \(cost)")
    }

    var phrase = password + [cStringTerminator]
    defer { secureZero(&phrase) }
    let hashed: String? = phrase.withUnsafeBufferPointer { phraseBytes in
        phraseBytes.withMemoryRebound(to: CChar.self) { phraseChars in
            withCryptData { data, size in
                crypt_rn(phraseChars.baseAddress, setting, data, size).map { String(cString: $0) }
            }
        }
    }
    guard let hashed else {
        throw AuthError.hashingFailed("libcrypt cannot hash with \(scheme.rawValue)")
    }
    return scheme.storedPrefix + hashed
}

/// Cryptographically secure random bytes from getrandom(2), falling back to
/// /dev/urandom on kernels without the system call.
func randomBytes(count: Int) throws -> [UInt8] {
    var bytes = [UInt8](repeating: 0, count: count)
    var filled = 0
    while filled < count {
        let got = bytes.withUnsafeMutableBytes { raw in
            getrandom(raw.baseAddress.map { $0 + filled }, count - filled, 0)
        }
        if got > 0 {
            filled += got
        } else if got < 0 && errno == EINTR {
            continue
        } else if got < 0 && errno == ENOSYS {
            return try urandomBytes(count: count)
        } else {
            throw AuthError.hashingFailed("getrandom failed: \(systemErrorMessage(errno))")
        }
    }
    return bytes
}

private func urandomBytes(count: Int) throws -> [UInt8] {
    let descriptor = open("/dev/urandom", O_RDONLY | O_CLOEXEC)
    guard descriptor >= 0 else {
        throw AuthError.hashingFailed("cannot open /dev/urandom: \(systemErrorMessage(errno))")
    }
    defer { close(descriptor) }
    var bytes = [UInt8](repeating: 0, count: count)
    var filled = 0
    while filled < count {
        let got = bytes.withUnsafeMutableBytes { raw in
            read(descriptor, raw.baseAddress.map { $0 + filled }, count - filled)
        }
        if got > 0 {
            filled += got
        } else if got < 0 && errno == EINTR {
            continue
        } else {
            throw AuthError.hashingFailed("cannot read /dev/urandom")
        }
    }
    return bytes
}
