import XCTest

@testable import Auth

final class PasswdFileParserTests: XCTestCase {
    /// Resolves only the names the tests use, so results do not depend on the machine.
    private let resolver = PasswdFileParser.NameResolver(
        userID: { $0 == "vmail" ? 5000 : nil },
        groupID: { $0 == "mail" ? 8 : nil })

    private func parse(_ text: String) throws -> PasswdFileParser.Parsed {
        try parse(text.bytes)
    }

    private func parse(_ bytes: [UInt8]) throws -> PasswdFileParser.Parsed {
        switch PasswdFileParser.parse(bytes, resolver: resolver) {
        case .success(let parsed): return parsed
        case .failure(let failure): throw failure
        }
    }

    private func failure(_ bytes: [UInt8]) -> PasswdFileParser.Failure? {
        if case .failure(let failure) = PasswdFileParser.parse(bytes, resolver: resolver) { return failure }
        return nil
    }

    func testFullLine() throws {
        let parsed = try parse(
            "tim:{SHA512-CRYPT}$6$abc$x:1000:100:Tim Example,,,:/home/tim:/bin/false:userdb_quota_rule=*:storage=1G nopassword\n"
        )
        let entry = try XCTUnwrap(parsed.entries["tim"])
        XCTAssertEqual(entry.user, "tim")
        XCTAssertEqual(entry.password, "{SHA512-CRYPT}$6$abc$x")
        XCTAssertEqual(entry.uid, 1000)
        XCTAssertEqual(entry.gid, 100)
        XCTAssertEqual(entry.gecos, "Tim Example,,,")
        XCTAssertEqual(entry.home, "/home/tim")
        XCTAssertEqual(entry.shell, "/bin/false")
        // The extra fields run to the end of the line, ':' included.
        XCTAssertEqual(entry.extraFields, ["userdb_quota_rule": "*:storage=1G", "nopassword": ""])
        XCTAssertEqual(parsed.warnings, [])
    }

    func testOnlyUserAndPasswordRequired() throws {
        let parsed = try parse("a:{PLAIN}x\nb:{PLAIN}y:\nc:{PLAIN}z::::::\n")
        XCTAssertEqual(parsed.entries.count, 3)
        let a = try XCTUnwrap(parsed.entries["a"])
        XCTAssertEqual(a, PasswdEntry(user: "a", password: "{PLAIN}x"))
        XCTAssertNil(a.uid)
        XCTAssertNil(a.gid)
        XCTAssertEqual(a.home, "")
        XCTAssertEqual(parsed.entries["b"]?.uid, nil)
        XCTAssertEqual(parsed.entries["c"]?.extraFields, [:])
        XCTAssertEqual(parsed.entries["c"]?.password, "{PLAIN}z")
    }

    func testEmptyPasswordFieldIsKept() throws {
        let parsed = try parse("nopw:\n")
        XCTAssertEqual(parsed.entries["nopw"]?.password, "")
    }

    func testCommentsBlankLinesAndCRLF() throws {
        let parsed = try parse("# users\n\n   \n\t\n  # indented: comment\r\nu:{PLAIN}p:1:2\r\n#u2:{PLAIN}q\n")
        XCTAssertEqual(Array(parsed.entries.keys), ["u"])
        XCTAssertEqual(parsed.entries["u"]?.password, "{PLAIN}p")
        XCTAssertEqual(parsed.entries["u"]?.gid, 2)
        XCTAssertEqual(parsed.warnings, [])
    }

    func testNoTrailingNewline() throws {
        let parsed = try parse("u:{PLAIN}p")
        XCTAssertEqual(parsed.entries["u"]?.password, "{PLAIN}p")
    }

    func testLineWithoutColonIsSkippedWithLineNumber() throws {
        let parsed = try parse("u:{PLAIN}p\nthis line has the password hunter2\nv:{PLAIN}q\n")
        XCTAssertEqual(Set(parsed.entries.keys), ["u", "v"])
        XCTAssertEqual(parsed.warnings, [PasswdFileParser.Warning(line: 2, kind: .missingSeparator)])
        let message = parsed.warnings[0].message
        XCTAssertTrue(message.contains("line 2"))
        XCTAssertFalse(message.contains("hunter2"))
    }

    func testDuplicateUserKeepsTheFirst() throws {
        let parsed = try parse("u:{PLAIN}first\nv:{PLAIN}x\nu:{PLAIN}second\n")
        XCTAssertEqual(parsed.entries["u"]?.password, "{PLAIN}first")
        XCTAssertEqual(parsed.warnings, [PasswdFileParser.Warning(line: 3, kind: .duplicateUser(firstLine: 1))])
    }

    func testUsernamesAreCaseSensitive() throws {
        let parsed = try parse("Tim:{PLAIN}a\ntim:{PLAIN}b\n")
        XCTAssertEqual(parsed.entries["Tim"]?.password, "{PLAIN}a")
        XCTAssertEqual(parsed.entries["tim"]?.password, "{PLAIN}b")
        XCTAssertNil(parsed.entries["TIM"])
    }

    func testUIDAndGIDByNameAndNumber() throws {
        let parsed = try parse("u:{PLAIN}p:vmail:mail\nv:{PLAIN}p:4294967295:0\n")
        XCTAssertEqual(parsed.entries["u"]?.uid, 5000)
        XCTAssertEqual(parsed.entries["u"]?.gid, 8)
        XCTAssertEqual(parsed.entries["v"]?.uid, UInt32.max)
        XCTAssertEqual(parsed.entries["v"]?.gid, 0)
    }

    func testSystemResolverKnowsRoot() {
        // uid/gid 0 is "root" on every Linux system.
        XCTAssertEqual(systemUserID(named: "root"), 0)
        XCTAssertEqual(systemGroupID(named: "root"), 0)
        XCTAssertNil(systemUserID(named: "no-such-user-\(UInt32.random(in: 0...UInt32.max))"))
    }

    func testInvalidUIDOrGIDFailsTheFile() {
        XCTAssertEqual(failure("a:{PLAIN}x\nu:{PLAIN}p:nobody-here\n".bytes)?.line, 2)
        XCTAssertEqual(failure("u:{PLAIN}p:4294967296\n".bytes)?.line, 1)
        XCTAssertEqual(failure("u:{PLAIN}p:-1\n".bytes)?.line, 1)
        XCTAssertEqual(
            failure("u:{PLAIN}p:1:wheelz\n".bytes)?.reason, "has an invalid gid (neither a number nor a known name)")
    }

    func testOtherFatalLines() {
        XCTAssertEqual(failure(":{PLAIN}p\n".bytes)?.reason, "has an empty user name")
        XCTAssertEqual(failure("a:{PLAIN}p\nu:{PLAIN}\0p\n".bytes)?.line, 2)
        XCTAssertEqual(failure("u:{PLAIN}\u{FF}".bytes + [0xFF] + "\n".bytes)?.reason, "is not valid UTF-8")
        XCTAssertEqual(failure("u:p:1:1:g:/h:/s:=x\n".bytes)?.reason, "has an extra field without a name")
    }

    func testFailureNeverEchoesTheLine() throws {
        let failure = try XCTUnwrap(failure("u:{PLAIN}hunter2:notanumber\n".bytes))
        let error = PasswdFileSyntaxError(path: "/etc/x", line: failure.line, reason: failure.reason)
        XCTAssertEqual(
            error.description, "passwd file /etc/x line 1: has an invalid uid (neither a number nor a known name)")
        XCTAssertFalse(error.description.contains("hunter2"))
    }

    func testLegacyMailField() throws {
        // Dovecot's old form: empty 8th field, then the mail location (which may hold ':').
        let parsed = try parse("u:{PLAIN}p:1:1::/home/u:/bin/sh::maildir:~/Maildir:LAYOUT=fs\n")
        XCTAssertEqual(parsed.entries["u"]?.extraFields, ["userdb_mail": "maildir:~/Maildir:LAYOUT=fs"])
    }

    func testExtraFieldSpacing() throws {
        let parsed = try parse("u:p::::::  a=1   b= c=x=y  a=2 \n")
        XCTAssertEqual(parsed.entries["u"]?.extraFields, ["a": "2", "b": "", "c": "x=y"])
    }

    func testNonASCIIUserName() throws {
        let parsed = try parse("jörg@example.org:{PLAIN}p\n")
        XCTAssertNotNil(parsed.entries["jörg@example.org"])
    }

    func testColonFollowedByCombiningMarkStillSeparates() throws {
        // ":" + U+0301 is one Character; splitting must happen on bytes.
        let parsed = try parse("u:\u{301}p\n")
        XCTAssertEqual(parsed.entries["u"]?.password, "\u{301}p")
    }
}

final class RedactionTests: XCTestCase {
    func testPrintingAnEntryLeavesThePasswordOut() {
        let entry = PasswdEntry(user: "tim", password: "{PLAIN}hunter2", uid: 7, home: "/h", extraFields: ["k": "v"])
        var dumped = ""
        dump(entry, to: &dumped)
        for text in ["\(entry)", String(reflecting: entry), dumped] {
            XCTAssertFalse(text.contains("hunter2"), text)
            XCTAssertTrue(text.contains("tim"), text)
        }
    }

    func testPrintingCredentialsLeavesThePasswordOut() {
        let credentials = SASLPlainCredentials(authorizationID: "tim", username: "tim", password: "hunter2".bytes)
        var dumped = ""
        dump(credentials, to: &dumped)
        // The password bytes as decimal numbers would also be a leak.
        let numbers = "hunter2".bytes.map(String.init).joined(separator: ", ")
        for text in ["\(credentials)", String(reflecting: credentials), dumped] {
            XCTAssertFalse(text.contains("hunter2"), text)
            XCTAssertFalse(text.contains(numbers), text)
            XCTAssertTrue(text.contains("tim"), text)
        }
    }
}
