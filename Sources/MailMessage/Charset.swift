/// Charset conversion to Unicode for SEARCH (RFC 9051 §6.4.4 compares decoded text).
/// Single-byte charsets come from `CharsetTables`; UTF-8 is validated by the
/// standard library. A charset we do not know is read as UTF-8 when the bytes are
/// valid UTF-8, else as ISO-8859-1, which never fails.
enum Charset: Equatable {
    case utf8
    case usASCII
    case latin1
    case singleByte([UInt16])

    /// Charset names as used in MIME (RFC 2046 §4.1.2, IANA aliases), compared after
    /// lowercasing and dropping everything but letters and digits.
    private static let aliases: [String: Charset] = {
        var map: [String: Charset] = [:]
        func add(_ names: [String], _ charset: Charset) { for n in names { map[n] = charset } }
        add(["utf8", "unicode11utf8", "xunicode20utf8"], .utf8)
        add(["usascii", "ascii", "ansix341968", "iso646us", "us", "ibm367", "cp367"], .usASCII)
        add(["iso88591", "latin1", "l1", "iso885911987", "cp819", "ibm819", "isoir100"], .latin1)
        add(["iso88592", "latin2", "l2", "iso885921987", "isoir101"], .singleByte(CharsetTables.iso88592))
        add(["iso88595", "cyrillic", "iso885951988", "isoir144"], .singleByte(CharsetTables.iso88595))
        add(
            ["iso88597", "greek", "greek8", "iso885971987", "isoir126", "elot928"], .singleByte(CharsetTables.iso88597))
        add(["iso88599", "latin5", "l5", "iso885991989", "isoir148"], .singleByte(CharsetTables.iso88599))
        add(["iso885915", "latin9", "l9", "latin0"], .singleByte(CharsetTables.iso885915))
        add(["windows1250", "cp1250", "xcp1250"], .singleByte(CharsetTables.windows1250))
        add(["windows1251", "cp1251", "xcp1251"], .singleByte(CharsetTables.windows1251))
        add(["windows1252", "cp1252", "xcp1252"], .singleByte(CharsetTables.windows1252))
        add(["koi8r", "koi8", "cskoi8r"], .singleByte(CharsetTables.koi8r))
        return map
    }()

    /// The charset called `name`, nil when unknown. An RFC 2231 language suffix
    /// (`utf-8*en`) is ignored.
    static func named<C: Collection>(_ name: C) -> Charset? where C.Element == UInt8 {
        var key = ""
        for b in name {
            if b == ASCII.asterisk { break }
            let c = ASCII.lowercased(b)
            if ASCII.isAlpha(c) || ASCII.isDigit(c) { key.unicodeScalars.append(Unicode.Scalar(c)) }
        }
        return aliases[key]
    }

    /// `bytes` as text in this charset.
    func decode(_ bytes: [UInt8]) -> String {
        switch self {
        case .utf8:
            return String(decoding: bytes, as: UTF8.self)
        case .usASCII:
            // 8-bit bytes in "us-ascii" text are common: take them as UTF-8 or Latin-1.
            return Charset.decodeUnknown(bytes)
        case .latin1:
            return Charset.latin1(bytes)
        case .singleByte(let table):
            var s = String.UnicodeScalarView()
            s.reserveCapacity(bytes.count)
            for b in bytes {
                if b < 0x80 {
                    s.append(Unicode.Scalar(b))
                } else {
                    let index = Int(b) - 0x80
                    let code = index < table.count ? table[index] : 0xFFFD
                    s.append(Unicode.Scalar(code) ?? "\u{FFFD}")
                }
            }
            return String(s)
        }
    }

    /// Text in an unknown or undeclared charset: UTF-8 if valid, else ISO-8859-1.
    static func decodeUnknown(_ bytes: [UInt8]) -> String {
        if let s = String(validating: bytes, as: UTF8.self) { return s }
        return latin1(bytes)
    }

    static func latin1(_ bytes: [UInt8]) -> String {
        var s = String.UnicodeScalarView()
        s.reserveCapacity(bytes.count)
        for b in bytes { s.append(Unicode.Scalar(b)) }
        return String(s)
    }

    /// Decodes `bytes` declared as `charset` (nil: undeclared).
    static func decode<C: Collection>(_ bytes: [UInt8], charset: C?) -> String where C.Element == UInt8 {
        guard let charset, let known = named(charset) else { return decodeUnknown(bytes) }
        return known.decode(bytes)
    }
}

/// SEARCH CHARSET (RFC 9051 §6.4.4): the charsets a client may name, and the
/// conversion of its search strings to UTF-8.
public enum SearchCharset {
    /// Names for `NO [BADCHARSET (…)]`, one per charset this server converts.
    public static let supported = [
        "UTF-8", "US-ASCII", "ISO-8859-1", "ISO-8859-2", "ISO-8859-5", "ISO-8859-7", "ISO-8859-9", "ISO-8859-15",
        "WINDOWS-1250", "WINDOWS-1251", "WINDOWS-1252", "KOI8-R",
    ]

    /// Whether `name` (any MIME alias) is a charset this server converts.
    public static func isKnown(_ name: String) -> Bool { Charset.named(Array(name.utf8)) != nil }

    /// `carried` holds one scalar U+0000–U+00FF per byte of the client's string (as the
    /// command decoder carries strings in a charset other than UTF-8); returns the text
    /// those bytes mean in `charset`, nil for an unknown charset.
    public static func convert(_ carried: String, from charset: String) -> String? {
        guard let known = Charset.named(Array(charset.utf8)) else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(carried.unicodeScalars.count)
        for scalar in carried.unicodeScalars {
            // Scalars above U+00FF cannot come from the decoder; kept as "?" if they do.
            bytes.append(scalar.value <= 0xFF ? UInt8(scalar.value) : ASCII.questionMark)
        }
        return known.decode(bytes)
    }
}
