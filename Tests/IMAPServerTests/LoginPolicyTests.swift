import Foundation
import IMAPServer
import XCTest

/// Login rules end to end: the per-user connection limit, --any-password with and
/// without --create-users, and a passwd file edited while the server runs.
final class LoginPolicyTests: XCTestCase {
    func testPerUserConnectionLimitRefusesTheExtraLoginAndFreesTheSlotOnLogout() async throws {
        let server = try await startServer { $0.maxConnectionsPerUser = 2 }
        let first = try server.connect()
        let second = try server.connect()
        try first.login()
        try second.login()
        let third = try server.connect()
        let refused = try third.command("LOGIN alice secret")
        XCTAssertTrue(refused.tagged.contains("NO [LIMIT]"), refused.tagged)
        // Another user is not affected.
        XCTAssertTrue(try third.command("LOGIN bob hunter2").ok)
        XCTAssertTrue(try first.command("LOGOUT").ok)
        let fourth = try server.connect()
        // The slot comes back once the server has seen the logout; the LOGOUT reply is
        // written after the slot is released, so this login cannot race it.
        XCTAssertTrue(try fourth.command("LOGIN alice secret").ok)
    }

    func testAnyPasswordAcceptsExistingMaildirsOnly() async throws {
        let server = try await startServer {
            $0.anyPassword = true; $0.passwdFile = nil
        }
        let client = try server.connect()
        XCTAssertTrue(try client.command("LOGIN alice whatever").ok)
        let other = try server.connect()
        let nobody = try other.command("LOGIN carol whatever")
        XCTAssertTrue(nobody.tagged.contains("NO [AUTHENTICATIONFAILED]"), nobody.tagged)
        XCTAssertFalse(FileManager.default.fileExists(atPath: server.maildir.root + "/carol"))
        let traversal = try other.command("LOGIN ../alice whatever")
        XCTAssertEqual(traversal.status, "NO")
    }

    func testCreateUsersMakesTheMaildir() async throws {
        let server = try await startServer {
            $0.anyPassword = true
            $0.createUsers = true
            $0.passwdFile = nil
        }
        let client = try server.connect()
        XCTAssertTrue(try client.command("LOGIN carol anything").ok)
        for dir in ["cur", "new", "tmp"] {
            var isDirectory: ObjCBool = false
            XCTAssertTrue(
                FileManager.default.fileExists(atPath: server.maildir.root + "/carol/" + dir, isDirectory: &isDirectory)
            )
            XCTAssertTrue(isDirectory.boolValue)
        }
        XCTAssertTrue(try client.command("SELECT INBOX").ok)
    }

    func testPasswdFileChangesApplyWithoutRestart() async throws {
        let server = try await startServer()
        let client = try server.connect()
        XCTAssertTrue(try client.command("LOGIN alice secret").ok)
        // Replace the file the way editors do (write aside, rename over).
        let aside = server.passwdPath + ".new"
        _ = FileManager.default.createFile(atPath: aside, contents: Data("alice:{PLAIN}changed::::::\n".utf8))
        XCTAssertEqual(rename(aside, server.passwdPath), 0)
        // The database checks the file at most once a second; a login attempt with the
        // new password eventually succeeds. Bounded: the old password must stop working
        // within a few attempts, each waiting for the server's own answer.
        var accepted = false
        for _ in 0..<30 where !accepted {
            let attempt = try server.connect()
            accepted = try attempt.command("LOGIN alice changed").ok
            if !accepted { try await Task.sleep(for: .milliseconds(200)) }
        }
        XCTAssertTrue(accepted)
        let old = try server.connect()
        XCTAssertTrue(try old.command("LOGIN alice secret").tagged.contains("NO [AUTHENTICATIONFAILED]"))
    }
}
