import Foundation
import IMAPServer
import Logging
import XCTest

#if canImport(Glibc)
    import Glibc
#endif

// What the tests of the on-disk caches (HeaderCacheTests, ListingCacheTests) share: a
// second server on a stopped server's spool (a restart), each command's answers in one
// session, and the Maildir's truth, the answers of a server that uses no cache file.
extension XCTestCase {
    /// Another server on the same spool, as after a restart of `first` (stopped
    /// first); with `cache` false it neither reads nor writes cache files.
    func restartServer(_ first: RunningServer, cache: Bool = true) async throws -> (server: IMAPServer, port: Int) {
        await first.stop()
        var config = ServerConfiguration(root: first.maildir.root, passwdFile: first.passwdPath)
        config.listen = [ListenAddress(host: "127.0.0.1", port: 0)]
        config.serverName = "test"
        config.headerCache = cache
        var quiet = Logger(label: "test")
        quiet.logLevel = .error
        let server = try IMAPServer(configuration: config, logger: quiet)
        let port = try await server.start().first?.port ?? 0
        addTeardownBlock { await server.shutdown() }
        return (server, port)
    }

    /// Each command's untagged answers, in one session of alice's that opened INBOX
    /// with `open`; every command must end OK.
    func untaggedAnswers(port: Int, open: String, _ commands: [String]) throws -> [[String]] {
        let client = try TestClient(port: port)
        try client.login()
        XCTAssertTrue(try client.command(open).ok)
        return try commands.map { command in
            let reply = try client.command(command)
            XCTAssertTrue(reply.ok, "\(command): \(reply.tagged)")
            return reply.untagged
        }
    }

    /// The answers a server without cache files gives for `first`'s spool as it is now.
    func truthWithoutCaches(_ first: RunningServer, open: String, _ commands: [String]) async throws -> [[String]] {
        let (reference, port) = try await restartServer(first, cache: false)
        let found = try untaggedAnswers(port: port, open: open, commands)
        await reference.shutdown()
        return found
    }
}

extension RunningServer {
    /// A symlink to a file holding "precious" at `symlinkName` in alice's INBOX
    /// directory and a FIFO at `fifoName`; returns the file the link points to.
    func plantSymlinkAndFIFO(symlinkName: String, fifoName: String) throws -> String {
        let target = maildir.root + "/elsewhere"
        XCTAssertTrue(FileManager.default.createFile(atPath: target, contents: Data("precious".utf8)))
        XCTAssertEqual(symlink(target, maildir.root + "/alice/" + symlinkName), 0)
        XCTAssertEqual(mkfifo(maildir.root + "/alice/" + fifoName, 0o600), 0)
        return target
    }

    /// With 1,100 messages cached: all but the first ten expunged, one delivered and
    /// seen (`deliver`), so the cache files hold more stale entries than a compaction
    /// tolerates.
    func leaveElevenMessages(_ client: TestClient, deliver: () throws -> Void) throws {
        XCTAssertTrue(try client.command("STORE 11:* +FLAGS.SILENT (\\Deleted)").ok)
        XCTAssertTrue(try client.command("EXPUNGE").ok)
        try deliver()
        XCTAssertTrue(try client.command("NOOP").ok)
    }

    /// Messages `range` into alice's INBOX cur/, named by their number.
    func deliverNumbered(_ range: Range<Int>, _ body: (Int) -> String, mtime: (Int) -> TimeInterval) throws {
        for index in range {
            try maildir.deliver(
                "alice", name: "1700000\(100 + index).M\(index)P1.host:2,", into: "cur", body: body(index),
                mtime: mtime(index))
        }
    }
}
