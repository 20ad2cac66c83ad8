// New UIDVALIDITY values from `dovecot-uidvalidity` in the mail root (Dovecot's
// mailbox-uidvalidity.c scheme): the file holds the last value handed out as 8 lowercase
// hex digits, beside an empty marker `dovecot-uidvalidity.<8hex>`. A value is claimed by
// renaming the marker from the old value to the new one: rename is atomic, so of two
// processes claiming the same next value exactly one succeeds.
//
// Races handled here:
// - The file lags behind the marker (written after the rename, or by a process that
//   died in between): the rename of a marker that is no longer there fails with ENOENT;
//   we then rescan the directory for the highest marker and claim from there.
// - Two claimants from the same old value: one rename wins, the loser gets ENOENT and
//   rescans, so values never repeat.
// - Concurrent writers of the file itself: it only caches the last value; each writes
//   its 9 bytes in place.
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
        for _ in 0..<Self.attempts {
            let fileValue = try readFile()
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
            if rename(markerPath(marker), markerPath(value)) == 0 {
                try writeFile(value)
                return value
            }
            let code = errno
            guard code == ENOENT else { throw POSIX.error(markerPath(marker), code) }
            // Someone else moved the marker first: look again.
        }
        throw StoreError.locked(filePath)
    }

    /// Values wrap from 0xFFFFFFFF to 1: 0 is not a valid UIDVALIDITY.
    static func successor(_ value: UInt32) -> UInt32 { value == UInt32.max ? 1 : value + 1 }

    static func hex(_ value: UInt32) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: max(0, 8 - digits.count)) + digits
    }

    private func readFile() throws -> UInt32? {
        guard let bytes = try POSIX.readFile(filePath), bytes.count >= 8,
            let value = UInt32(String(decoding: bytes.prefix(8), as: UTF8.self), radix: 16), value != 0
        else { return nil }
        return value
    }

    /// Overwrites the value in place, as Dovecot does (concurrent claimants would race
    /// on a shared temporary name). A lower value written last by a slower claimant is
    /// harmless: the markers, not this file, decide.
    private func writeFile(_ value: UInt32) throws {
        guard let fd = try POSIX.open(filePath, O_WRONLY | O_CREAT) else { throw POSIX.error(filePath, ENOENT) }
        defer { close(fd) }
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

    private func createMarker(_ value: UInt32) throws {
        let fd = open(markerPath(value), O_WRONLY | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw POSIX.error(markerPath(value)) }
        close(fd)
    }
}
