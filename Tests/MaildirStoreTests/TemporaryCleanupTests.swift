import Foundation
import Glibc
import XCTest

@testable import MaildirStore

/// tmp/ clean-up (36 hours, as Dovecot) must judge a file's age by its ctime: files that
/// APPEND and COPY are staging carry the message's INTERNALDATE as mtime, which can be
/// years old, while they wait in tmp/ for their rename into cur/.
final class TemporaryCleanupTests: XCTestCase {
    /// Issue 18 §4: an APPEND with an old date-time (its tmp/ file already has that
    /// mtime) or a COPY (a hard link of a file with an old mtime) is not "stale" to a
    /// SELECT running meanwhile; removing it made the rename into cur/ fail and the
    /// command answer NO [SERVERBUG].
    func testFilesBeingStagedWithAnOldMtimeAreKept() throws {
        let maildir = try TempMaildir()
        let folder = try maildir.openFolder()
        let old: Int64 = 1_000_000_000  // 2001
        // APPEND: the literal is in tmp/ and the commit set its mtime to INTERNALDATE.
        let staged = maildir.path("tmp/1800000000.M1P1Q1.host")
        try maildir.write("tmp/1800000000.M1P1Q1.host", Array("Subject: old\n\nbody\n".utf8))
        try setMtime(staged, old)
        // COPY: a message delivered long ago, hard-linked into tmp/.
        let source = try maildir.deliver("cur/1000000000.M2P1.host:2,S", mtime: Int(old))
        XCTAssertEqual(link(source, maildir.path("tmp/1800000001.M2P1Q2.host")), 0)

        XCTAssertEqual(folder.removeStaleTemporaryFiles(), 0)
        XCTAssertEqual(try maildir.list("tmp"), ["1800000000.M1P1Q1.host", "1800000001.M2P1Q2.host"])
    }

    /// 36 hours after their last change the same files are abandoned and go; directories
    /// and symlinks never do.
    func testFilesUnchangedFor36HoursAreRemoved() throws {
        let maildir = try TempMaildir()
        let folder = try maildir.openFolder()
        try maildir.write("tmp/abandoned", Array("partial".utf8))
        try maildir.makeDirectory("tmp/staging-dir")
        XCTAssertEqual(symlink("abandoned", maildir.path("tmp/link")), 0)
        let now = Int64(Date().timeIntervalSince1970)
        XCTAssertEqual(folder.removeStaleTemporaryFiles(now: now + 35 * 3600), 0)
        XCTAssertEqual(folder.removeStaleTemporaryFiles(now: now + 37 * 3600), 1)
        XCTAssertEqual(try maildir.list("tmp"), ["link", "staging-dir"])
    }

    private func setMtime(_ path: String, _ seconds: Int64) throws {
        try FileManager.default.setAttributes(
            [.modificationDate: Date(timeIntervalSince1970: TimeInterval(seconds))], ofItemAtPath: path)
    }
}
