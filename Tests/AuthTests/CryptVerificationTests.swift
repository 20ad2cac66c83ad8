import XCTest

@testable import Auth

/// Known vectors made outside this code: `openssl passwd -6/-5/-1 -salt abc secret`,
/// `mkpasswd -m yescrypt|bcrypt|bcrypt-a|descrypt`, Python's `crypt` module.
final class CryptVerificationTests: XCTestCase {
    static let password = "secret".bytes
    static let sha512 = "$6$abc$IdWKNKTJEb8LxY7CGg8YBXlvtfZzFw7Mp/r6niK9YB2mdvgY..TKjv1T..8RadRt2qvUHYRLr/TsVArtr91iR1"
    static let sha512Rounds =
        "$6$rounds=1000$saltsaltsalt$eX3bxJXT3.ujpABOqZ7ph4r9D9Fn0.qoDqJgZU6cTq8xPfk2.Fmq2bf1GgjAlb6X1QXE7sMOtwZRTxjI1OZvT1"
    static let sha256 = "$5$abc$qsg6EHbUzHQzF1POlD7zUwBINSELQxypPaeDcZe6vH0"
    static let md5 = "$1$abc$iCQ2D3nhptRYi27fDYv2s1"
    static let yescrypt = "$y$j9T$eqkznj3JFa2ehXlZYkiFN0$ejtBfhEuXxKvleFFzBefbt1dmL1YEDZqZ0JZaRY62VD"
    static let bcrypt2b = "$2b$05$PlY2uzcTDdHDCvCphWWQp.XsQHqdoD8G8gk2xgb8/HIEv0ymsdEia"
    static let bcrypt2a = "$2a$05$jDGvsOAbuZgDZbQwz8Wg4.QHfRfKoFAqoDclFnNWrRDjeqZFSK.wS"
    static let bcrypt2y = "$2y$05$PlY2uzcTDdHDCvCphWWQp.XsQHqdoD8G8gk2xgb8/HIEv0ymsdEia"
    static let des = "abNANd1rDfiNc"
    /// Python: crypt.crypt('pässwörd', '$6$umlaut') — the password is UTF-8 bytes.
    static let sha512NonASCII =
        "$6$umlaut$Rh7I7EMlrRkmesoQlCgMseTSAD8w4yQq.vBrBpvtUS01f9N40GykErPWi4YxRDClap7jMRrE90Sat.lNsHEdS0"

    func testKnownVectorsVerify() {
        for hash in [
            Self.sha512, Self.sha512Rounds, Self.sha256, Self.md5, Self.yescrypt, Self.bcrypt2b, Self.bcrypt2a,
            Self.bcrypt2y, Self.des,
        ] {
            XCTAssertTrue(verifyCrypt(password: Self.password, hash: hash), hash)
            XCTAssertFalse(verifyCrypt(password: "Secret".bytes, hash: hash), hash)
        }
    }

    func testNonASCIIPasswordIsHashedAsUTF8Bytes() {
        XCTAssertTrue(verifyCrypt(password: "pässwörd".bytes, hash: Self.sha512NonASCII))
        XCTAssertFalse(verifyCrypt(password: "passwort".bytes, hash: Self.sha512NonASCII))
    }

    func testWrongPasswordsAreRejected() {
        for wrong in ["", "secre", "secret ", "secretsecret", "SECRET"] {
            XCTAssertFalse(verifyCrypt(password: wrong.bytes, hash: Self.sha512), wrong)
        }
    }

    func testPasswordWithNULNeverMatches() {
        // crypt would only see "secret" and match; the NUL must not truncate silently.
        XCTAssertFalse(verifyCrypt(password: "secret\0junk".bytes, hash: Self.sha512))
        XCTAssertEqual(cryptCheck(password: "secret\0".bytes, hash: Self.sha512), .mismatch)
    }

    func testMalformedHashesAreRejectedWithoutCrashing() {
        let malformed = [
            "", "$", "$6$", "$6", "$y$", "$y$j9T$", "$2b$99$abc", "$2b$05$short", "$7$", "*", "*0", "!",
            "!$6$abc$IdWKNKTJEb8LxY7CGg8YBXlvtfZzFw7Mp", "$6$abc\0$x", "\u{1F600}", "$1$abc$x:y",
            String(repeating: "$6$", count: 500),
        ]
        for hash in malformed {
            XCTAssertFalse(verifyCrypt(password: Self.password, hash: hash), hash)
        }
        XCTAssertEqual(cryptCheck(password: Self.password, hash: ""), .invalidSetting)
        XCTAssertEqual(cryptCheck(password: Self.password, hash: "$7$"), .invalidSetting)
    }

    func testTruncatedHashDoesNotMatch() {
        // A hash cut short still makes a valid setting (the salt); the output differs.
        let truncated = String(Self.sha512.dropLast(10))
        XCTAssertFalse(verifyCrypt(password: Self.password, hash: truncated))
    }
}
