// New UIDVALIDITY values from `dovecot-uidvalidity` in the mail root (Dovecot's
// mailbox-uidvalidity.c scheme): the file holds the last value handed out as 8 lowercase
// hex digits, beside an empty marker `dovecot-uidvalidity.<8hex>`. A value is claimed by
// moving the marker from the old value to the new one.
//
// Races handled here (issue 18 item 4: two folders created at the same moment could get
// the same value):
// - Our own claimants, threads and processes alike, take an exclusive flock(2) on
//   `dovecot-uidvalidity` for the whole claim, so they never interleave.
// - The marker moves with link(2) then unlink(2), never rename(2): link fails with
//   EEXIST instead of silently replacing a marker someone else (Dovecot, which takes no
//   lock) just made, and the claim counts only if our unlink of the old marker worked,
//   so of two claimants from the same marker exactly one wins. The loser looks again.
// - A missing marker is created with O_EXCL: of two creators one makes it, both then
//   claim from it as above. (Both creating "T" without O_EXCL, then the slower one's
//   rename(T, T+1) replacing the faster one's, was the bug.)
// - The file lags behind the marker (written after the move, or by a process that died
//   in between): the move of a marker that is no longer there fails with ENOENT; we then
//   rescan the directory for the highest marker and claim from there.
// - A crash between link and unlink leaves two markers: the lower one is removed at the
//   next rescan, the higher one is where claims continue.
// - Nothing there yet (new mail root): start from the current time, as Dovecot does,
//   but never below the value in the file (a lost marker must not rewind the counter).
import Glibc
import Logging

struct UIDValidityAllocator: Sendable {
    let mailRoot: String
    var logger: Logger

    private static let attempts = 32

    var filePath: String { POSIX.join(mailRoot, MaildirNames.uidValidity) }
    func markerPath(_ value: UInt32) -> String {
        POSIX.join(mailRoot, MaildirNames.uidValidityMarkerPrefix + Self.hex(value))
    }

    /// Claims and returns a value never handed out before in this mail root.
    func next() throws -> UInt32 {
        let fd = Glibc.open(filePath, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw POSIX.error(filePath) }
        defer { close(fd) }
        while flock(fd, LOCK_EX) != 0 {
            guard errno == EINTR else { throw POSIX.error(filePath) }
        }
        for _ in 0..<Self.attempts {
            let fileValue = try readValue(fd)
            let marker: UInt32
            if let fileValue, (try POSIX.status(markerPath(fileValue), followSymlinks: false)) != nil {
                marker = fileValue
            } else if let highest = try highestMarker() {
                marker = highest
            } else {
                // No marker at all: create one at max(now, file value) and claim after it.
                marker = max(UInt32(truncatingIfNeeded: Timestamp.now().seconds), fileValue ?? 0)
                try createMarker(marker)
            }
            // Never below the file's value, even if a marker was lost or left behind.
            let value = Self.successor(max(marker, fileValue ?? 0))
            if try claim(from: marker, to: value) {
                try writeValue(value, fd)
                return value
            }
            // Someone else moved the marker first: look again.
        }
        throw StoreError.locked(filePath)
    }

    /// Moves the marker `old` to `new` without ever replacing an existing `new`; true
    /// when the move is ours (we linked `new` and removed `old` ourselves).
    private func claim(from old: UInt32, to new: UInt32) throws -> Bool {
        if link(markerPath(old), markerPath(new)) != 0 {
            let code = errno
            // ENOENT: `old` was moved meanwhile; EEXIST: `new` is someone else's.
            guard code == ENOENT || code == EEXIST else { throw POSIX.error(markerPath(new), code) }
            return false
        }
        if unlink(markerPath(old)) == 0 { return true }
        let code = errno
        // Another claimant moved `old` too and removed it first: `new` is not ours to
        // hand out (it stays as a marker; claims go on from the highest one).
        guard code == ENOENT else { throw POSIX.error(markerPath(old), code) }
        return false
    }

    /// Values wrap from 0xFFFFFFFF to 1: 0 is not a valid UIDVALIDITY.
    static func successor(_ value: UInt32) -> UInt32 { value == UInt32.max ? 1 : value + 1 }

    static func hex(_ value: UInt32) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: max(0, 8 - digits.count)) + digits
    }

    private func readValue(_ fd: Int32) throws -> UInt32? {
        let bytes = try POSIX.pread(fd: fd, path: filePath, offset: 0, count: 8)
        guard bytes.count == 8, let value = UInt32(String(decoding: bytes, as: UTF8.self), radix: 16), value != 0
        else { return nil }
        return value
    }

    /// Overwrites the value in place, as Dovecot does. A lower value written last by a
    /// Dovecot claimant is harmless: the markers, not this file, decide.
    private func writeValue(_ value: UInt32, _ fd: Int32) throws {
        let bytes = Array((Self.hex(value) + "\n").utf8)
        let written = bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
        guard written == bytes.count, ftruncate(fd, off_t(bytes.count)) == 0 else { throw POSIX.error(filePath) }
    }

    /// The highest `dovecot-uidvalidity.<8hex>` marker; lower ones (left by crashes) are
    /// removed.
    private func highestMarker() throws -> UInt32? {
        let prefix = MaildirNames.uidValidityMarkerPrefix
        var values: [UInt32] = []
        for name in try POSIX.directoryEntries(mailRoot) where name.hasPrefix(prefix) {
            let suffix = name.dropFirst(prefix.count)
            guard suffix.utf8.count == 8, let value = UInt32(suffix, radix: 16), value != 0 else { continue }
            values.append(value)
        }
        guard let highest = values.max() else { return nil }
        for value in values where value != highest {
            logger.info("removing old uidvalidity marker", metadata: ["value": "\(Self.hex(value))"])
            unlink(markerPath(value))
        }
        return highest
    }

    /// O_EXCL: a marker someone else made at the same moment is theirs as much as ours;
    /// both claim from it and only one move succeeds.
    private func createMarker(_ value: UInt32) throws {
        let fd = Glibc.open(markerPath(value), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            guard errno == EEXIST else { throw POSIX.error(markerPath(value)) }
            return
        }
        close(fd)
    }
}
