/// Password schemes of a stored value, as Dovecot reads them (doc: "Password Schemes").
///
/// A stored value is `{SCHEME}data` or, with no braces, bare data in Dovecot's default
/// passwd-file scheme CRYPT. Scheme names are case-insensitive. Every *-CRYPT scheme is
/// verified the same way, by crypt(3) with the data as setting: libcrypt recognises the
/// method from the data's own prefix ($y$, $6$, $5$, $2b$/$2a$/$2y$, $1$, DES), exactly
/// as Dovecot's CRYPT family does.
enum PasswordSchemeName {
    static let openingBrace = UInt8(ascii: "{")
    static let closingBrace = UInt8(ascii: "}")

    /// Verified with crypt(3).
    static let cryptFamily: Set<String> = [
        "CRYPT", "DES-CRYPT", "MD5-CRYPT", "SHA256-CRYPT", "SHA512-CRYPT", "BLF-CRYPT",
    ]
    /// Compared as clear text.
    static let plainFamily: Set<String> = ["PLAIN", "CLEARTEXT"]

    /// Longest scheme name reported in logs; anything longer is more likely a password
    /// that happens to start with "{" than a scheme name.
    static let maximumLoggedLength = 32
}

/// A stored password split into its scheme and data.
enum StoredPassword: Equatable {
    /// Empty data: never matches anything (Dovecot needs an explicit `nopassword` extra
    /// field to accept any password; this server does not support that on purpose).
    case empty
    case crypt(String)
    case plain([UInt8])
    /// `{NAME}` that this module does not implement; `name` is uppercased and safe to log.
    case unsupported(name: String)

    var isCrypt: Bool {
        if case .crypt = self { return true }
        return false
    }

    init(parsing stored: String) {
        let bytes = Array(stored.utf8)
        var scheme = "CRYPT"
        var data = bytes[...]
        // Dovecot's password_get_scheme: "{" … "}" at the very start, else no scheme.
        if bytes.first == PasswordSchemeName.openingBrace,
            let close = bytes.firstIndex(of: PasswordSchemeName.closingBrace)
        {
            scheme = String(decoding: bytes[1..<close], as: UTF8.self).uppercasedASCII()
            data = bytes[(close + 1)...]
        }
        if PasswordSchemeName.cryptFamily.contains(scheme) {
            self = data.isEmpty ? .empty : .crypt(String(decoding: data, as: UTF8.self))
        } else if PasswordSchemeName.plainFamily.contains(scheme) {
            self = data.isEmpty ? .empty : .plain(Array(data))
        } else {
            self = .unsupported(name: Self.loggableSchemeName(scheme))
        }
    }

    /// The scheme name when it looks like one (letters, digits, '-', '.', '_'), else a
    /// placeholder: a mistyped line could put part of a password between the braces.
    private static func loggableSchemeName(_ name: String) -> String {
        let acceptable = name.utf8.allSatisfy { byte in
            (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
                || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
                || byte == UInt8(ascii: "-") || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "_")
        }
        guard acceptable, !name.isEmpty, name.utf8.count <= PasswordSchemeName.maximumLoggedLength else {
            return "(unprintable scheme name)"
        }
        return name
    }
}

/// Result of checking a password, finer than Bool so the database can log why a
/// stored value can never match (without logging the value).
enum PasswordCheck: Equatable {
    case match
    case mismatch
    /// The stored data is not a crypt setting libcrypt accepts.
    case invalidHash
    case unsupportedScheme(String)
    /// The stored password is empty.
    case noPassword
}

func checkPassword(_ password: [UInt8], against storedValue: String) -> PasswordCheck {
    switch StoredPassword(parsing: storedValue) {
    case .empty:
        return .noPassword
    case .unsupported(let name):
        return .unsupportedScheme(name)
    case .plain(let expected):
        return constantTimeEquals(secret: expected, candidate: password) ? .match : .mismatch
    case .crypt(let hash):
        switch cryptCheck(password: password, hash: hash) {
        case .match: return .match
        case .mismatch: return .mismatch
        case .invalidSetting: return .invalidHash
        }
    }
}

/// Verifies `password` against a passwd-file password field: `{CRYPT}`,
/// `{SHA512-CRYPT}`, `{SHA256-CRYPT}`, `{BLF-CRYPT}`, `{MD5-CRYPT}`, `{DES-CRYPT}`
/// (all through crypt(3)), bare crypt strings (`$y$`, `$6$`, `$5$`, `$2b$`/`$2a$`/`$2y$`,
/// `$1$`, DES), and `{PLAIN}` / `{CLEARTEXT}` compared in constant time. Scheme names
/// are case-insensitive. An unknown scheme, an empty stored value, a malformed hash or
/// a password containing NUL gives false. Blocking: crypt can take ~200 ms.
public func verifyPassword(_ password: [UInt8], against storedValue: String) -> Bool {
    checkPassword(password, against: storedValue) == .match
}

extension String {
    /// ASCII-only uppercasing: scheme names are ASCII, and locale rules must not apply.
    func uppercasedASCII() -> String {
        let lowerA = UInt8(ascii: "a")
        let lowerZ = UInt8(ascii: "z")
        let caseBit: UInt8 = 0x20
        return String(decoding: utf8.map { ($0 >= lowerA && $0 <= lowerZ) ? $0 ^ caseBit : $0 }, as: UTF8.self)
    }
}
