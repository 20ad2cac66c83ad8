// INTERNALDATE and sizes of messages a scan took in without a stat (MessageRecord),
// read when a command first needs them and remembered in the folder state, so each
// file is stat'ed (and, without ,W=, read) once per folder load.
//
// The file system work runs outside the folder Mutex: reading 100,000 inodes, or the
// whole of files without ,W=, must not stop every other session of the folder.
//
// Races handled here:
// - A file renamed (flag change by another program) or unlinked between the lookup of
//   its location and the stat: `openMessage` finds it again by base name (rescanning
//   once) or reports it gone; a gone message keeps nil details and callers treat it as
//   expunged (RFC 9051 §7.5.1 lets them answer without it).
// - The message expunged, or its details filled by another thread, before the results
//   are stored: only records still present and still lacking them are written.
import Glibc

extension SharedFolder {
    /// `records` with INTERNALDATE, physical size and RFC822.SIZE filled in, in the same
    /// order. Records of messages no longer on disk come back unchanged.
    public func completeDetails(_ records: [MessageRecord]) throws -> [MessageRecord] {
        let lacking = records.indices.filter { records[$0].lacksDetails }
        guard !lacking.isEmpty else { return records }
        var completed = records
        let found = try details(of: lacking.map { records[$0].uid })
        for (index, details) in zip(lacking, found) {
            if let details { completed[index].merge(details) }
        }
        return completed
    }

    /// The complete details of these messages, in the same order; nil for a message no
    /// longer on disk.
    public func details(of uids: [StoreUID]) throws -> [MessageRecord?] {
        var result: [MessageRecord?] = Array(repeating: nil, count: uids.count)
        // What the folder already learned (for this or another session), and where the
        // files of the rest are.
        var wanted: [(index: Int, location: MessageLocation)] = []
        try perform { _, state, _ in
            for (index, uid) in uids.enumerated() {
                guard let position = state.messageIndex(uid) else { continue }
                let known = state.messages[position]
                if known.lacksDetails {
                    if let location = state.locations.location(of: known.baseName, messageIndex: position) {
                        wanted.append((index, location))
                    }
                }
                result[index] = known
            }
        }
        guard !wanted.isEmpty else { return result }

        let directories = MessageDirectories(context)
        var found: [MessageRecord] = []
        found.reserveCapacity(wanted.count)
        for (index, location) in wanted {
            guard var record = result[index] else { continue }
            let path = context.path(of: location)
            if let status = try directories.status(location, path: path), status.isRegular {
                record.internalDate = record.internalDate ?? status.mtime.seconds
                record.physicalSize = record.physicalSize ?? status.size
                if record.virtualSize == nil { record.virtualSize = try VirtualSize.compute(path: path) }
            }
            if record.lacksDetails {
                // Renamed since the lookup, or gone: by base name, or not at all.
                guard let file = try openMessage(record.uid) else {
                    result[index] = nil
                    continue
                }
                defer { file.close() }
                record.merge(file.record)
                record.virtualSize = try file.virtualSize()
            }
            result[index] = record
            found.append(record)
        }

        try perform { _, state, _ in
            for record in found {
                guard let position = state.messageIndex(record.uid) else { continue }
                state.messages[position].merge(record)
            }
        }
        return result
    }
}

extension MessageRecord {
    /// Takes the details `other` (the same message) knows and this record does not.
    mutating func merge(_ other: MessageRecord) {
        internalDate = internalDate ?? other.internalDate
        physicalSize = physicalSize ?? other.physicalSize
        virtualSize = virtualSize ?? other.virtualSize
    }
}
