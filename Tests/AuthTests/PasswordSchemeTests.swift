import XCTest

@testable import Auth

final class PasswordSchemeTests: XCTestCase {
    private let password = CryptVerificationTests.password

    func testEveryPrefixForm() {
        let accepted = [
            "{CRYPT}" + CryptVerificationTests.yescrypt,
            "{CRYPT}" + CryptVerificationTests.sha512,
            "{SHA512-CRYPT}" + CryptVerificationTests.sha512,
            "{SHA256-CRYPT}" + CryptVerificationTests.sha256,
            "{BLF-CRYPT}" + CryptVerificationTests.bcrypt2b,
            "{BLF-CRYPT}" + CryptVerificationTests.bcrypt2a,
            "{BLF-CRYPT}" + CryptVerificationTests.bcrypt2y,
            "{MD5-CRYPT}" + CryptVerificationTests.md5,
            "{DES-CRYPT}" + CryptVerificationTests.des,
            // Scheme names are case-insensitive, as in Dovecot.
            "{sha512-crypt}" + CryptVerificationTests.sha512,
            "{Crypt}" + CryptVerificationTests.sha256,
            // Bare strings are Dovecot's default scheme, CRYPT.
            CryptVerificationTests.yescrypt,
            CryptVerificationTests.sha512,
            CryptVerificationTests.sha256,
            CryptVerificationTests.bcrypt2b,
            CryptVerificationTests.bcrypt2a,
            CryptVerificationTests.bcrypt2y,
            CryptVerificationTests.md5,
            CryptVerificationTests.des,
            "{PLAIN}secret",
            "{CLEARTEXT}secret",
            "{plain}secret",
        ]
        for stored in accepted {
            XCTAssertTrue(verifyPassword(password, against: stored), stored)
            XCTAssertFalse(verifyPassword("wrong".bytes, against: stored), stored)
        }
    }

    func testPlainComparesExactBytes() {
        XCTAssertTrue(verifyPassword("pässwörd".bytes, against: "{PLAIN}pässwörd"))
        XCTAssertFalse(verifyPassword("pässwörd ".bytes, against: "{PLAIN}pässwörd"))
        XCTAssertFalse(verifyPassword("p".bytes, against: "{PLAIN}pässwörd"))
        XCTAssertFalse(verifyPassword([], against: "{PLAIN}pässwörd"))
        // Braces and colons inside a clear-text password are data.
        XCTAssertTrue(verifyPassword("{a}b}".bytes, against: "{PLAIN}{a}b}"))
    }

    func testEmptyStoredPasswordNeverMatches() {
        for stored in ["", "{PLAIN}", "{CRYPT}", "{SHA512-CRYPT}"] {
            XCTAssertFalse(verifyPassword([], against: stored), stored)
            XCTAssertFalse(verifyPassword("x".bytes, against: stored), stored)
            XCTAssertEqual(checkPassword([], against: stored), .noPassword, stored)
        }
    }

    func testUnknownSchemeIsRejectedAndNamed() {
        XCTAssertFalse(verifyPassword(password, against: "{SSHA}secret"))
        XCTAssertEqual(checkPassword(password, against: "{ssha}xyz"), .unsupportedScheme("SSHA"))
        XCTAssertEqual(checkPassword(password, against: "{PLAIN.B64}c2VjcmV0"), .unsupportedScheme("PLAIN.B64"))
        // Something that is not a plausible scheme name is not echoed into logs.
        XCTAssertEqual(
            checkPassword(password, against: "{my secret}x"), .unsupportedScheme("(unprintable scheme name)"))
        XCTAssertEqual(checkPassword(password, against: "{}x"), .unsupportedScheme("(unprintable scheme name)"))
    }

    func testUnterminatedBraceIsBareCrypt() {
        // Dovecot: no closing brace means no scheme, so the whole value goes to crypt.
        XCTAssertEqual(StoredPassword(parsing: "{PLAINsecret"), .crypt("{PLAINsecret"))
        XCTAssertFalse(verifyPassword(password, against: "{PLAINsecret"))
    }

    func testMalformedCryptHashReportsInvalidHash() {
        XCTAssertEqual(checkPassword(password, against: "{SHA512-CRYPT}$6"), .invalidHash)
        XCTAssertEqual(checkPassword(password, against: "$y$$$"), .invalidHash)
    }

    func testPlaintextDetection() {
        XCTAssertTrue(PasswdEntry(user: "a", password: "{PLAIN}x").hasPlaintextPassword)
        XCTAssertTrue(PasswdEntry(user: "a", password: "{cleartext}x").hasPlaintextPassword)
        XCTAssertFalse(PasswdEntry(user: "a", password: CryptVerificationTests.sha512).hasPlaintextPassword)
        XCTAssertFalse(PasswdEntry(user: "a", password: "{SHA512-CRYPT}x").hasPlaintextPassword)
    }

    func testConstantTimeEquals() {
        XCTAssertTrue(constantTimeEquals(secret: [], candidate: []))
        XCTAssertFalse(constantTimeEquals(secret: [], candidate: [0]))
        XCTAssertFalse(constantTimeEquals(secret: [0], candidate: []))
        XCTAssertTrue(constantTimeEquals(secret: [1, 2, 3], candidate: [1, 2, 3]))
        XCTAssertFalse(constantTimeEquals(secret: [1, 2, 3], candidate: [1, 2, 4]))
        // A candidate repeating the secret must not match through the modulo.
        XCTAssertFalse(constantTimeEquals(secret: [1, 2], candidate: [1, 2, 1, 2]))
        XCTAssertFalse(constantTimeEquals(secret: [1, 2, 1, 2], candidate: [1, 2]))
    }
}
