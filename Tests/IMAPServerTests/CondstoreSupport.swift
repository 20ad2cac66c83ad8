import Foundation
import XCTest

/// Reading RFC 7162 items out of the test client's replies.
enum Condstore {
    static func message(_ subject: String) -> String {
        "From: a@example.org\r\nSubject: \(subject)\r\n\r\nbody \(subject)\r\n"
    }

    /// The number after `label` in `line` (`HIGHESTMODSEQ 5`, `MODSEQ (5)`, `UID 3`).
    static func number(after label: String, in line: String) -> UInt64? {
        guard let range = line.range(of: label) else { return nil }
        let digits = line[range.upperBound...].drop { $0 == "(" }.prefix { $0.isNumber }
        return UInt64(digits)
    }

    /// HIGHESTMODSEQ of the untagged OK in `lines`, if any.
    static func highestModSeq(_ lines: [String]) -> UInt64? {
        lines.lazy.compactMap { number(after: "[HIGHESTMODSEQ ", in: $0) }.first
    }

    static func uidValidity(_ lines: [String]) -> UInt64? {
        lines.lazy.compactMap { number(after: "[UIDVALIDITY ", in: $0) }.first
    }

    /// UID → MODSEQ of the FETCH responses in `lines`.
    static func modSeqs(_ lines: [String]) -> [UInt64: UInt64] {
        var result: [UInt64: UInt64] = [:]
        for line in lines where line.contains(" FETCH (") {
            if let uid = number(after: "UID ", in: line), let modSeq = number(after: "MODSEQ (", in: line) {
                result[uid] = modSeq
            }
        }
        return result
    }

    /// The FETCH responses among `lines`, without IMAP4rev1's \Recent (which depends on
    /// which session saw a message first, not on what these tests check).
    static func fetches(_ lines: [String]) -> [String] {
        lines.filter { $0.contains(" FETCH (") }.map(withoutRecent)
    }

    static func withoutRecent(_ line: String) -> String {
        line.replacingOccurrences(of: " \\Recent", with: "").replacingOccurrences(of: "(\\Recent", with: "(")
            .replacingOccurrences(of: "( ", with: "(")
    }

    /// Delivers messages m1…mN into alice's cur/ (UIDs 1…N once scanned).
    static func deliver(_ maildir: TemporaryMaildir, count: Int) throws {
        for i in 1...count {
            try maildir.deliver(
                "alice", name: "17000000\(10 + i).M\(i)P1.host:2,", into: "cur", body: message("m\(i)"))
        }
    }

    /// The path of alice's INBOX message whose file name starts with `prefix`.
    static func path(_ maildir: TemporaryMaildir, _ prefix: String) -> String? {
        let cur = maildir.root + "/alice/cur/"
        return maildir.files("alice", "cur").first { $0.hasPrefix(prefix) }.map { cur + $0 }
    }
}
