import Foundation
import LogCapture
import Logging
import XCTest

@testable import IMAPServer

/// Issue 11 item 1: no login name leads outside the spool, whatever `--user-path` says.
/// `%d/%n` with `alice@` used to create `/alice`, `@` made `/` the Maildir, and a passwd
/// user without a domain was served from `/rtproof`.
final class UserPathTests: XCTestCase {
    static let templates = ["%u", "%n", "%d/%n", "%d/%u", "x/%n", "%n%d", "%n/Maildir"]

    /// Names a client may send (as literals where needed). `token` makes every path an
    /// escape could produce unique, so the test can tell what it made.
    static func hostileNames(_ token: String) -> [String] {
        [
            "\(token)@", "@", "@\(token)", "\(token)@..", "\(token)@.", "..", ".", "\(token)/b", "\(token)\u{0}b",
            "\(token)\r\nb", "\(token)@a/b", "\(token)@@", "@..", "\(token)@\u{1}", ".\(token)",
        ]
    }

    static func token() -> String { "imapdtest" + UUID().uuidString.prefix(8).lowercased() }

    /// Every template × every hostile name: refused, or (for the names a template does
    /// not break, `x@..` under `%u`) a path strictly below the root.
    func testEveryExpansionStaysStrictlyInsideTheRoot() {
        let root = "/srv/spool"
        var config = ServerConfiguration(root: root, passwdFile: nil)
        for template in Self.templates {
            config.userPathTemplate = template
            for name in Self.hostileNames("t") {
                guard case .success(let path) = UserDirectory.path(for: name, home: "", config: config) else {
                    continue
                }
                XCTAssertTrue(path.hasPrefix(root + "/"), "\(template) \(name.debugDescription) → \(path)")
                let relative = path.dropFirst(root.count + 1).split(separator: "/", omittingEmptySubsequences: false)
                XCTAssertFalse(relative.isEmpty, "\(template) \(name.debugDescription)")
                for component in relative {
                    XCTAssertFalse(
                        component.isEmpty || component == "." || component == "..",
                        "\(template) \(name.debugDescription) → \(path)")
                }
            }
        }
        // The reported cases, one by one.
        config.userPathTemplate = "%d/%n"
        for name in ["alice@", "@", "rtproof", "alice@..", "alice@.", "@x"] {
            XCTAssertThrowsError(try UserDirectory.path(for: name, home: "", config: config).get(), name)
        }
        config.userPathTemplate = "%n%d"
        XCTAssertThrowsError(try UserDirectory.path(for: ".@.", home: "", config: config).get())
        config.userPathTemplate = "%d/%n"
        XCTAssertEqual(
            try UserDirectory.path(for: "alice@example.org", home: "", config: config).get(),
            "/srv/spool/example.org/alice")
    }

    func testTemplatesThatCannotStayInsideTheRootAreRefused() {
        for bad in ["", "/var/mail/%u", "%u/../x", "./%u", "%u//x", "%x", "%u%", "a\nb/%u"] {
            XCTAssertNotNil(ServerConfiguration.userPathTemplateProblem(bad), bad.debugDescription)
        }
        for good in Self.templates + ["%d/%n/Maildir", "100%%/%u"] {
            XCTAssertNil(ServerConfiguration.userPathTemplateProblem(good), good)
        }
        var config = ServerConfiguration(root: "/srv", passwdFile: nil)
        config.userPathTemplate = "/var/mail/%u"
        XCTAssertThrowsError(try UserDirectory.path(for: "alice", home: "", config: config).get())
    }

    /// End to end, with --any-password --create-users (which creates whatever directory
    /// a name maps to): every hostile LOGIN fails and nothing appears anywhere.
    func testHostileLoginsCreateNothingAnywhere() async throws {
        let token = Self.token()
        let names = Self.hostileNames(token)
        let fileSystemRoot = try Set(FileManager.default.contentsOfDirectory(atPath: "/"))
        defer { Self.removeEscapes(since: fileSystemRoot, token: token) }
        var servers: [(RunningServer, String)] = []
        for template in Self.templates {
            servers.append(
                (
                    try await startServer(users: [:]) { config in
                        config.root += "/spool"
                        config.userPathTemplate = template
                        config.anyPassword = true
                        config.createUsers = true
                        config.passwdFile = nil
                    }, template
                ))
        }
        for (server, _) in servers {
            try FileManager.default.createDirectory(
                atPath: server.maildir.root + "/spool", withIntermediateDirectories: true)
        }
        // In rounds, one name per server at a time, each round ending with a good login
        // per server: a success clears the throttle's count for the address, so every
        // refusal waits only the first step of the failed-login delay.
        var accepted: [String: Set<String>] = [:]
        for name in names {
            var pending: [(TestClient, String)] = []
            for (server, template) in servers {
                let client = try server.connect()
                let bytes = Array(name.utf8)
                client.sendRaw(Array("a LOGIN {\(bytes.count)+}\r\n".utf8) + bytes + Array(" secret\r\n".utf8))
                pending.append((client, template))
            }
            for (client, template) in pending {
                let reply = try client.collect(tag: "a")
                let expected = Self.expansion(of: template, for: name)
                XCTAssertEqual(reply.ok, expected != nil, "\(template) \(name.debugDescription): \(reply.tagged)")
                if let expected { accepted[template, default: []].insert(expected) }
            }
            for (server, template) in servers {
                let good = "good@example.org"
                XCTAssertTrue(try server.connect().command("LOGIN \(good) secret").ok, template)
                accepted[template, default: []].insert(Self.expansion(of: template, for: good) ?? "")
            }
        }
        for (server, template) in servers {
            let sandbox = try FileManager.default.contentsOfDirectory(atPath: server.maildir.root).sorted()
            XCTAssertEqual(sandbox, ["passwd", "spool"], template)
            // Only the Maildirs of the accepted names, each where the template says.
            let made = Self.maildirs(under: server.maildir.root + "/spool")
            XCTAssertEqual(made, accepted[template] ?? [], template)
        }
        let after = try Set(FileManager.default.contentsOfDirectory(atPath: "/"))
        XCTAssertEqual(after.subtracting(fileSystemRoot), [], "created at the file system root")
    }

    /// A passwd user: without a home the template applies (and a user without a domain
    /// under `%d/%n` is refused, with the reason logged); with a home, that home is the
    /// Maildir wherever the administrator put it, if it is a plain absolute path.
    func testPasswdUsersWithAndWithoutHomes() async throws {
        let token = Self.token()
        let capture = LogCapture()
        let fileSystemRoot = try Set(FileManager.default.contentsOfDirectory(atPath: "/"))
        defer { Self.removeEscapes(since: fileSystemRoot, token: token) }
        let server = try await startServer(users: [:], logger: capture.logger()) { config in
            config.root += "/spool"
            config.userPathTemplate = "%d/%n"
            let sandbox = String(config.root.dropLast("/spool".count))
            let lines = [
                "\(token):{PLAIN}pw::::::",
                "dave@example.org:{PLAIN}pw::::::",
                "out:{PLAIN}pw::::\(sandbox)/elsewhere/out::",
                "in:{PLAIN}pw::::\(sandbox)/spool/homes/in::",
                "rel:{PLAIN}pw::::relative/rel::",
                "top:{PLAIN}pw::::/::",
                "dots:{PLAIN}pw::::\(sandbox)/spool/../elsewhere/out::",
            ]
            _ = FileManager.default.createFile(
                atPath: sandbox + "/passwd", contents: Data((lines.joined(separator: "\n") + "\n").utf8))
        }
        let sandbox = server.maildir.root
        for home in ["elsewhere/out", "spool/homes/in", "spool/example.org/dave"] {
            for sub in ["cur", "new", "tmp"] {
                try FileManager.default.createDirectory(
                    atPath: "\(sandbox)/\(home)/\(sub)", withIntermediateDirectories: true)
            }
        }
        for user in [token, "rel", "top", "dots"] {
            let client = try server.connect()
            let reply = try client.command("LOGIN \(user) pw")
            XCTAssertTrue(reply.tagged.contains("NO [AUTHENTICATIONFAILED]"), "\(user): \(reply.tagged)")
            // A success clears the throttle's count for the address: the next refusal
            // is not delayed further.
            XCTAssertTrue(try server.connect().command("LOGIN in pw").ok)
        }
        for (user, home) in [
            ("dave@example.org", "spool/example.org/dave"), ("out", "elsewhere/out"), ("in", "spool/homes/in"),
        ] {
            let client = try server.connect()
            XCTAssertTrue(try client.command("LOGIN \(user) pw").ok, user)
            let message = "Subject: \(user)\r\n\r\nhi\r\n"
            client.sendRaw("A APPEND INBOX {\(message.utf8.count)+}\r\n\(message)\r\n")
            XCTAssertTrue(try client.collect(tag: "A").ok, user)
            XCTAssertEqual(
                try FileManager.default.contentsOfDirectory(atPath: "\(sandbox)/\(home)/cur").count, 1, user)
        }
        let refusal = capture.records.first {
            $0.message == "no Maildir for this user name" && $0.metadata["user"] == token
        }
        XCTAssertEqual(refusal?.metadata["reason"], "%d is empty")
        for user in ["rel", "top", "dots"] {
            XCTAssertTrue(
                capture.records.contains {
                    $0.metadata["user"] == user && ($0.metadata["reason"] ?? "").hasPrefix("passwd home")
                }, user)
        }
        let after = try Set(FileManager.default.contentsOfDirectory(atPath: "/"))
        XCTAssertEqual(after.subtracting(fileSystemRoot), [], "created at the file system root")
    }

    /// The test's own oracle for `template` and a login name: the Maildir path relative
    /// to the root, or nil when the name must be refused (unusable as a whole, or a
    /// field the template uses is empty, `.`, `..`, or holds `/` or a control character).
    static func expansion(of template: String, for name: String) -> String? {
        func unusable(_ text: String) -> Bool {
            text.isEmpty || text == "." || text == ".." || text.contains("/")
                || text.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7f }
        }
        guard !unusable(name), !name.hasPrefix(".") else { return nil }
        let at = name.lastIndex(of: "@")
        let fields: [String: String] = [
            "%u": name, "%n": at.map { String(name[..<$0]) } ?? name,
            "%d": at.map { String(name[name.index(after: $0)...]) } ?? "",
        ]
        var path = template
        for (variable, value) in fields where template.contains(variable) {
            guard !unusable(value) else { return nil }
            path = path.replacingOccurrences(of: variable, with: value)
        }
        return path
    }

    /// Directories below `root` holding a `cur/`, relative to `root`.
    static func maildirs(under root: String) -> Set<String> {
        var found = Set<String>()
        guard let walker = FileManager.default.enumerator(atPath: root) else { return found }
        while let item = walker.nextObject() as? String {
            if (item as NSString).lastPathComponent == "cur" {
                found.insert((item as NSString).deletingLastPathComponent)
            }
        }
        return found
    }

    /// What the old code made at `/` (Maildirs named after the token or after the
    /// templates' literal parts, or `/` itself turned into a Maildir): removed, so a
    /// failing run leaves nothing behind. Only names new since the test started.
    static let escapeNames: Set<String> = ["@", "@..", "x", "Maildir", "cur", "new", "tmp", "dovecot-uidlist"]

    static func removeEscapes(since before: Set<String>, token: String) {
        let after = (try? FileManager.default.contentsOfDirectory(atPath: "/")) ?? []
        for name in after where !before.contains(name) && (name.contains(token) || escapeNames.contains(name)) {
            try? FileManager.default.removeItem(atPath: "/" + name)
        }
    }
}
