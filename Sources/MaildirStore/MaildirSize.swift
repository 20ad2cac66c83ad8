// The Maildir++ quota file `maildirsize` in the Maildir root, shared with the MDA
// (maildrop, Dovecot's deliver/LMTP with the `maildir` quota backend) and Dovecot:
//
//     102400S,27C          limits: bytes (S) and messages (C); `0S` when unlimited
//     3172 4               then one "bytes count" line per change, either sign
//     -1024 -1
//
// Usage is the sum of every line after the first. Writers append one line with a
// single write(2) on an O_APPEND descriptor, so concurrent writers never interleave a
// line. The file is recalculated (every folder's cur/ and new/ counted, written to
// tmp/ and renamed over) when it is missing, unparseable, larger than 5120 bytes, when
// its limits line differs from the configured limits, or when it shows the user over
// quota and holds more than the summary line or is older than 15 minutes (the
// Maildir++ rules, as Dovecot 2.3's quota-maildir.c applies them).
//
// Hostile files: a FIFO, a symlink or a directory planted at `maildirsize` is never
// opened for waiting or written through: reads and appends open it O_NOFOLLOW |
// O_NONBLOCK and check for a regular file; anything else is treated as missing, and
// the recalculation's rename replaces it.
import Glibc

enum MaildirSizeFormat {
    static let fileName = "maildirsize"
    /// Past this many bytes the file is recalculated (Maildir++).
    static let maxSize = 5120
    /// A file showing the user over quota is trusted this long (Maildir++: 15 minutes).
    static let staleSeconds: Int64 = 15 * 60
    static let storageSuffix: UInt8 = UInt8(ascii: "S")
    static let countSuffix: UInt8 = UInt8(ascii: "C")

    /// The first line, as Dovecot writes it: `102400S,27C`, `27C`, or `0S` with no limit.
    static func limitsLine(_ limits: QuotaLimits) -> String {
        var items: [String] = []
        if let bytes = limits.storageBytes { items.append("\(bytes)S") }
        if let count = limits.messages { items.append("\(count)C") }
        return items.isEmpty ? "0S" : items.joined(separator: ",")
    }

    /// One change line, newline included.
    static func deltaLine(bytes: Int64, messages: Int64) -> [UInt8] { Array("\(bytes) \(messages)\n".utf8) }

    /// The whole file after a recalculation.
    static func recalculated(_ limits: QuotaLimits, usage: QuotaUsage) -> [UInt8] {
        Array((limitsLine(limits) + "\n").utf8) + deltaLine(bytes: usage.bytes, messages: usage.messages)
    }

    struct Parsed: Equatable {
        var limits: QuotaLimits
        var usage: QuotaUsage
        /// Lines after the limits line.
        var deltaLines: Int
    }

    /// nil when the file cannot be trusted (an empty or garbled line, a limits line
    /// that is not `nS`/`nC` items). An unterminated last line is a write in progress
    /// elsewhere (appends are single writes, so only a torn read sees one): ignored.
    static func parse(_ bytes: [UInt8]) -> Parsed? {
        var lines = bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        if lines.last?.isEmpty == true || bytes.last != UInt8(ascii: "\n") { lines.removeLast() }
        guard let first = lines.first, let limits = parseLimits(first) else { return nil }
        var usage = QuotaUsage(bytes: 0, messages: 0)
        for line in lines.dropFirst() {
            let fields = line.split(whereSeparator: { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") })
            guard fields.count == 2, let b = Int64(String(decoding: fields[0], as: UTF8.self)),
                let c = Int64(String(decoding: fields[1], as: UTF8.self))
            else { return nil }
            let (bytesSum, o1) = usage.bytes.addingReportingOverflow(b)
            let (countSum, o2) = usage.messages.addingReportingOverflow(c)
            guard !o1, !o2 else { return nil }
            usage = QuotaUsage(bytes: bytesSum, messages: countSum)
        }
        return Parsed(limits: limits, usage: usage, deltaLines: lines.count - 1)
    }

    /// `102400S,27C`: each item a number and S or C; 0 is unlimited.
    static func parseLimits(_ line: ArraySlice<UInt8>) -> QuotaLimits? {
        var limits = QuotaLimits()
        for item in line.split(separator: UInt8(ascii: ","), omittingEmptySubsequences: false) {
            guard let suffix = item.last, item.count > 1,
                let value = UInt64(String(decoding: item.dropLast(), as: UTF8.self))
            else { return nil }
            switch suffix {
            case storageSuffix: limits.storageBytes = value == 0 ? nil : value
            case countSuffix: limits.messages = value == 0 ? nil : value
            default: return nil
            }
        }
        return limits
    }
}

/// Bytes and messages counted against a quota (may be transiently negative in a
/// drifted file; the recalculation fixes that).
public struct QuotaUsage: Sendable, Hashable {
    public var bytes: Int64
    public var messages: Int64
    public init(bytes: Int64, messages: Int64) {
        self.bytes = bytes
        self.messages = messages
    }

    /// Whether this usage is beyond a limit (equal is allowed, as in Dovecot).
    func exceeds(_ limits: QuotaLimits) -> Bool {
        if let limit = limits.storageBytes, bytes > Int64(clamping: limit) { return true }
        if let limit = limits.messages, messages > Int64(clamping: limit) { return true }
        return false
    }
}

/// Reading, appending to and recalculating one Maildir's `maildirsize`. Every method
/// runs with the caller's file-system ids (Quota switches to the Maildir's owner).
struct MaildirSizeFile {
    let root: String
    var path: String { POSIX.join(root, MaildirSizeFormat.fileName) }

    /// The file's bytes (at most maxSize + 1) and mtime; nil when it is missing or
    /// not a regular file.
    func read() throws -> (bytes: [UInt8], mtime: Int64)? {
        guard let (fd, status) = try POSIX.openRegularFile(path) else { return nil }
        defer { close(fd) }
        let bytes = try POSIX.pread(fd: fd, path: path, offset: 0, count: MaildirSizeFormat.maxSize + 1)
        return (bytes, status.mtime.seconds)
    }

    /// Appends one change line with one write(2). A missing (or not regular) file is
    /// left alone: the next read recalculates it from the folders.
    func append(bytes: Int64, messages: Int64) throws {
        guard bytes != 0 || messages != 0 else { return }
        guard let (fd, _) = try POSIX.openRegularFile(path, flags: O_WRONLY | O_APPEND) else { return }
        defer { close(fd) }
        let line = MaildirSizeFormat.deltaLine(bytes: bytes, messages: messages)
        let written = line.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        guard written == line.count else { throw POSIX.error(path, written < 0 ? errno : EIO) }
    }

    /// Writes a fresh file in tmp/ and renames it over `maildirsize` (replacing
    /// whatever is there, a planted FIFO or symlink included: rename(2) never follows).
    func replace(_ limits: QuotaLimits, usage: QuotaUsage) throws {
        let tmp = POSIX.join(root, MaildirNames.tmp)
        if (try POSIX.status(tmp)) == nil { try POSIX.makeDirectory(tmp) }
        let temporary = POSIX.join(tmp, UniqueName.make() + "." + MaildirSizeFormat.fileName)
        try POSIX.writeAtomically(
            path: path, temporaryPath: temporary, directory: root,
            contents: MaildirSizeFormat.recalculated(limits, usage: usage))
    }
}
