import Foundation

/// What a client knows of its selected mailbox, checked against every untagged response
/// it reads, as imaptest does (RFC 9051 §7.5.1, §2.3.1.2): `* n EXPUNGE` and `* n FETCH`
/// name a message the client was told exists (1 ≤ n ≤ count); EXISTS never shrinks the
/// count (only EXPUNGE does); a UID seen at a sequence number stays there, and UIDs
/// ascend with sequence numbers.
struct UntaggedModel {
    /// UID of each message by sequence number, nil until a response named it.
    private(set) var uids: [UInt32?]
    private(set) var violations: [String] = []

    init(count: Int) { uids = Array(repeating: nil, count: count) }

    var count: Int { uids.count }

    /// Checks and applies one response line (without CRLF); other lines are ignored.
    mutating func read(_ line: String) {
        let words = line.split(separator: " ", maxSplits: 3, omittingEmptySubsequences: false)
        guard words.count >= 3, words[0] == "*", let n = Int(words[1]) else { return }
        switch words[2].uppercased() {
        case "EXISTS":
            if n < count { violations.append("\(line): EXISTS below the \(count) messages known") }
            while uids.count < n { uids.append(nil) }
        case "EXPUNGE":
            guard (1...max(1, count)).contains(n), count > 0 else {
                violations.append("\(line): only \(count) messages known")
                return
            }
            uids.remove(at: n - 1)
        case "FETCH":
            guard count > 0, (1...count).contains(n) else {
                violations.append("\(line): only \(count) messages known")
                return
            }
            if let uid = Self.uid(in: line) { learn(uid, at: n, line) }
        default: return
        }
    }

    mutating func read(_ lines: [String]) { for line in lines { read(line) } }

    /// The UIDs at 1…count, once every message was fetched.
    var knownUIDs: [UInt32?] { uids }

    private mutating func learn(_ uid: UInt32, at n: Int, _ line: String) {
        if let known = uids[n - 1], known != uid {
            violations.append("\(line): message \(n) had UID \(known)")
            return
        }
        if let below = uids[..<(n - 1)].compactMap({ $0 }).last, below >= uid {
            violations.append("\(line): UID \(uid) not above \(below) of a lower sequence number")
        }
        if let above = uids[n...].compactMap({ $0 }).first, above <= uid {
            violations.append("\(line): UID \(uid) not below \(above) of a higher sequence number")
        }
        uids[n - 1] = uid
    }

    /// The value of `UID n` inside a FETCH response's parenthesised list.
    static func uid(in line: String) -> UInt32? {
        guard let range = line.range(of: "(UID ") ?? line.range(of: " UID ") else { return nil }
        return UInt32(line[range.upperBound...].prefix { $0.isNumber })
    }
}
