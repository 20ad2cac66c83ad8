import XCTest

@testable import Auth

final class PasswordHashingTests: XCTestCase {
    /// Low costs keep the test fast; the default-cost path is exercised once below.
    private static let lowCost: [PasswordScheme: UInt] = [
        .yescrypt: 3, .sha512Crypt: 1000, .sha256Crypt: 1000, .blfCrypt: 4,
    ]

    func testEverySchemeRoundTripsAndLooksLikeDoveadm() throws {
        let expectedPrefix: [PasswordScheme: String] = [
            .yescrypt: "{CRYPT}$y$", .sha512Crypt: "{SHA512-CRYPT}$6$", .sha256Crypt: "{SHA256-CRYPT}$5$",
            .blfCrypt: "{BLF-CRYPT}$2b$",
        ]
        for scheme in PasswordScheme.allCases {
            let password = "correct horse ✓".bytes
            let cost = try XCTUnwrap(Self.lowCost[scheme])
            let stored = try makePasswordHash(password, scheme: scheme, cost: cost)
            XCTAssertTrue(stored.hasPrefix(try XCTUnwrap(expectedPrefix[scheme])), stored)
            XCTAssertTrue(verifyPassword(password, against: stored), stored)
            XCTAssertFalse(verifyPassword("correct horse".bytes, against: stored), stored)
            XCTAssertFalse(stored.contains(":"), "a passwd-file field cannot hold ':'")
        }
    }

    func testDefaultCostBlowfishIsTen() throws {
        let stored = try makePasswordHash("pw".bytes, scheme: .blfCrypt)
        XCTAssertTrue(stored.hasPrefix("{BLF-CRYPT}$2b$10$"), stored)
        XCTAssertTrue(verifyPassword("pw".bytes, against: stored))
    }

    func testDefaultCostSHA512UsesLibcryptDefaultRounds() throws {
        let stored = try makePasswordHash("pw".bytes, scheme: .sha512Crypt)
        // libcrypt's default (5000 rounds) is written without a rounds= parameter.
        XCTAssertTrue(stored.hasPrefix("{SHA512-CRYPT}$6$"), stored)
        XCTAssertFalse(stored.contains("rounds="), stored)
        XCTAssertTrue(verifyPassword("pw".bytes, against: stored))
    }

    func testSaltsDiffer() throws {
        let first = try makePasswordHash("pw".bytes, scheme: .sha256Crypt, cost: 1000)
        let second = try makePasswordHash("pw".bytes, scheme: .sha256Crypt, cost: 1000)
        XCTAssertNotEqual(first, second)
    }

    func testRejectedInputs() {
        XCTAssertThrowsError(try makePasswordHash("a\0b".bytes, scheme: .sha512Crypt)) { error in
            guard case AuthError.hashingFailed = error else { return XCTFail("\(error)") }
        }
        // bcrypt cost must be 4…31.
        XCTAssertThrowsError(try makePasswordHash("pw".bytes, scheme: .blfCrypt, cost: 99)) { error in
            guard case AuthError.hashingFailed = error else { return XCTFail("\(error)") }
        }
    }

    func testRandomBytes() throws {
        let first = try randomBytes(count: 32)
        let second = try randomBytes(count: 32)
        XCTAssertEqual(first.count, 32)
        XCTAssertNotEqual(first, second)
    }
}
