import Foundation
import IMAPServer
import XCTest

/// No mailbox name reaches outside the user's Maildir (issue 4 §7): hostile names
/// through CREATE, RENAME, SELECT, APPEND, COPY, MOVE, DELETE and SUBSCRIBE are all
/// refused, and the filesystem outside the Maildir (including a directory a planted
/// symlink points to) is byte for byte unchanged afterwards.
final class MailboxNameSafetyTests: XCTestCase {
    static let message = "From: a@example.org\r\nSubject: s\r\n\r\nbody\r\n"

    /// Every path under `root` with its size (files) or "dir"/"link", excluding `skip`.
    private func snapshot(_ root: String, skipping skip: String? = nil) -> [String: String] {
        var result: [String: String] = [:]
        let manager = FileManager.default
        guard let walker = manager.enumerator(atPath: root) else { return result }
        while let relative = walker.nextObject() as? String {
            let path = root + "/" + relative
            if let skip, path == skip || path.hasPrefix(skip + "/") {
                walker.skipDescendants()
                continue
            }
            let attributes = (try? manager.attributesOfItem(atPath: path)) ?? [:]
            let type = attributes[.type] as? FileAttributeType
            if type == .typeSymbolicLink {
                result[relative] = "link:" + ((try? manager.destinationOfSymbolicLink(atPath: path)) ?? "")
            } else if type == .typeDirectory {
                result[relative] = "dir"
            } else {
                result[relative] = "\(attributes[.size] as? Int ?? -1)"
            }
        }
        return result
    }

    /// A wire form of `name`: quoted when possible, else a non-synchronizing literal.
    private func wire(_ name: String) -> String {
        let bytes = Array(name.utf8)
        let quotable = bytes.allSatisfy { $0 >= 0x20 && $0 < 0x7f && $0 != 0x22 && $0 != 0x5c }
        return quotable ? "\"\(name)\"" : "{\(bytes.count)+}\r\n\(name)"
    }

    func testHostileNamesAreRefusedAndNothingOutsideChanges() async throws {
        let server = try await startServer()
        let root = server.maildir.root
        let home = root + "/alice"
        try server.maildir.makeUser("alice", folders: ["Src"])
        try server.maildir.deliver("alice", name: "1700000001.M1P1.host:2,", into: "cur", body: Self.message)
        // A directory outside the Maildir that looks like a Maildir folder, and a
        // symlink inside the Maildir pointing at it.
        let outside = root + "/outside"
        for sub in ["", "/cur", "/new", "/tmp"] {
            try FileManager.default.createDirectory(atPath: outside + sub, withIntermediateDirectories: true)
        }
        _ = FileManager.default.createFile(atPath: outside + "/maildirfolder", contents: Data())
        _ = FileManager.default.createFile(atPath: outside + "/cur/1.M1P1.x:2,", contents: Data("x\n".utf8))
        try FileManager.default.createSymbolicLink(atPath: home + "/.evil", withDestinationPath: outside)
        let outsideBefore = snapshot(root, skipping: home)
        let topBefore = Set((try? FileManager.default.contentsOfDirectory(atPath: home)) ?? [])

        let hostile = [
            "..", "../x", "../../etc", "a/../../x", "/etc", "/", "//x", ".hidden", "..hidden", "~", "~root",
            "~/x", "a\u{0}b", "a\u{1}b", "tab\tname", "line\nbreak", "del\u{7f}x", String(repeating: "n", count: 300),
            String(repeating: "d/", count: 200) + "x", "x/./y", "x/../y", "evil", ".", "x/.", "Src/..",
            "./Src", "INBOX/..", "a//b",
        ]
        XCTAssertGreaterThanOrEqual(hostile.count, 20)
        let client = try server.connect()
        try client.login()
        for name in hostile {
            let w = wire(name)
            var replies: [(String, TestClient.Reply)] = []
            replies.append(("CREATE", try client.command("CREATE \(w)")))
            replies.append(("SELECT", try client.command("SELECT \(w)")))
            client.sendRaw("A1 APPEND \(w) {\(Self.message.utf8.count)+}\r\n\(Self.message)\r\n")
            replies.append(("APPEND", try client.collect(tag: "A1")))
            replies.append(("RENAME to", try client.command("RENAME Src \(w)")))
            replies.append(("RENAME from", try client.command("RENAME \(w) Dst")))
            replies.append(("SUBSCRIBE", try client.command("SUBSCRIBE \(w)")))
            replies.append(("DELETE", try client.command("DELETE \(w)")))
            XCTAssertTrue(try client.command("SELECT INBOX").ok)
            replies.append(("COPY", try client.command("COPY 1 \(w)")))
            replies.append(("MOVE", try client.command("MOVE 1 \(w)")))
            replies.append(("UID MOVE", try client.command("UID MOVE 1 \(w)")))
            XCTAssertTrue(try client.command("UNSELECT").ok)
            for (command, reply) in replies {
                if name == "evil" && (command == "DELETE" || command == "SUBSCRIBE") {
                    // Deleting the planted link removes only the link (the snapshot
                    // below proves its target intact); a subscription is only a line
                    // in the `subscriptions` file (RFC 9051 §6.3.7: any name).
                    continue
                }
                XCTAssertTrue(
                    reply.status == "NO" || reply.status == "BAD",
                    "\(command) \(name.debugDescription) was accepted: \(reply.tagged)")
            }
        }
        XCTAssertEqual(snapshot(root, skipping: home), outsideBefore, "the filesystem outside the Maildir changed")
        let topAfter = Set((try? FileManager.default.contentsOfDirectory(atPath: home)) ?? [])
        XCTAssertEqual(
            topAfter.filter { !$0.hasPrefix("dovecot-") && !$0.hasPrefix("imapd-") && $0 != "subscriptions" },
            topBefore.subtracting([".evil"]), "nothing was created in the Maildir")
        XCTAssertEqual(server.maildir.files("alice", "cur").count, 1, "the message stayed in INBOX")
        XCTAssertEqual(server.maildir.files("alice", "cur", folder: "Src").count, 0)
    }
}
