// Mod-sequences (RFC 7162 CONDSTORE/QRESYNC) of one folder, in memory.
//
// Rules:
// - One mod-sequence per folder operation (`SharedFolder.perform`): the first change in
//   an operation takes highest + 1 and every other change of that operation shares it
//   (RFC 7162 §3.1: each STORE gets a different value; messages changed together may
//   share one). `highest` is raised at once, so it never goes backward in memory.
// - What stamps: a message joining the folder (delivery, APPEND, COPY, a file another
//   program put there), a change of its flags (our STORE, another program's rename, a
//   keyword letter gaining or losing its name), and its expunge (our EXPUNGE, `rm`). A
//   change by another program is stamped when a synchronize notices it.
// - Expunges are remembered with their mod-sequence so QRESYNC can answer VANISHED
//   (EARLIER) (RFC 7162 §3.2.5.2). Only the newest `expungeMemory` are kept; the rest
//   are folded into `floor`: a client whose mod-sequence is below the floor is answered
//   from its known UIDs (`expunged(since:)` returns nil), as the RFC allows.
// - `journal` collects what happened in the current operation for the on-disk log
//   (ModSeqFile.swift), written before the operation returns.

/// One line of the modseq log: a message's mod-sequence with the flags of its file at
/// that moment (FlagBits), or an expunge.
enum ModSeqEntry: Sendable, Equatable {
    case message(uid: UInt32, modSeq: ModSeq, flagBits: UInt32)
    case expunged(uid: UInt32, modSeq: ModSeq)
}

struct ModSeqState: Sendable {
    /// The highest mod-sequence given out (HIGHESTMODSEQ).
    var highest: ModSeq
    /// Expunges with a mod-sequence above `floor`, ascending mod-sequence.
    var expunges: [(uid: StoreUID, modSeq: ModSeq)] = []
    /// Expunges at or below this are forgotten.
    var floor: ModSeq
    /// The mod-sequence of the operation in progress, once something changed in it.
    var current: ModSeq?
    /// Entries for the log, in order, not yet written.
    var journal: [ModSeqEntry] = []
    /// What the log said of each UID when the folder was opened: a message whose file
    /// still has these flags keeps this mod-sequence (`stampAdmitted`). Emptied once
    /// the first synchronize has placed every message.
    var remembered: [UInt32: (modSeq: ModSeq, flagBits: UInt32)] = [:]
    /// The on-disk log as we last wrote or read it (ModSeqFile.swift).
    var log = ModSeqLogPosition()

    /// Expunges kept for VANISHED (EARLIER); older ones fold into `floor`.
    static let expungeMemory = 10_000

    /// Where a folder without a log starts: the current time in microseconds. A
    /// mod-sequence goes up by one per change, so no server that served the folder
    /// before (Dovecot keeps its own in its index, and counts from 1) can have given
    /// out a value this high unless it made more than a million changes a second for
    /// as long as the folder has existed; likewise our own earlier values if the log was
    /// lost. A client that cached such a HIGHESTMODSEQ therefore sees every message as
    /// changed and resynchronises all flags, never silently missing a change. 2^53 is
    /// reached in the year 2255.
    static func freshStart() -> ModSeq {
        let now = Timestamp.now()
        return ModSeq(UInt64(max(1, now.seconds)) * 1_000_000 + UInt64(now.nanoseconds / 1000))
    }

    /// A folder with no usable history: everything before `start` is unknown.
    init(start: ModSeq) {
        highest = start
        floor = start
    }

    /// The mod-sequence of the operation in progress (taking highest + 1 on first use).
    mutating func stamp() -> ModSeq {
        if let current { return current }
        highest = highest.next
        current = highest
        return highest
    }

    /// The operation ended: the next change takes a new mod-sequence.
    mutating func endOperation() {
        current = nil
    }

    /// A message whose flags changed: stamped, and logged with its file's letters.
    mutating func stampFlags(uid: StoreUID, letters: [UInt8]) -> ModSeq {
        let modSeq = stamp()
        journal.append(.message(uid: uid.rawValue, modSeq: modSeq, flagBits: FlagBits.of(letters)))
        return modSeq
    }

    /// A message joining the folder. One the log knew with the same letters keeps its
    /// mod-sequence (the folder being opened again); anything else is a change.
    mutating func stampAdmitted(uid: StoreUID, letters: [UInt8]) -> ModSeq {
        if let known = remembered.removeValue(forKey: uid.rawValue), known.flagBits == FlagBits.of(letters) {
            return known.modSeq
        }
        return stampFlags(uid: uid, letters: letters)
    }

    /// Messages removed from the folder; returns their mod-sequence (nil for none).
    @discardableResult
    mutating func recordExpunges(_ uids: [StoreUID]) -> ModSeq? {
        guard !uids.isEmpty else { return nil }
        let modSeq = stamp()
        for uid in uids {
            expunges.append((uid, modSeq))
            journal.append(.expunged(uid: uid.rawValue, modSeq: modSeq))
        }
        trimExpunges()
        return modSeq
    }

    /// Keeps the newest `expungeMemory` expunges; the floor rises past the others.
    mutating func trimExpunges() {
        let excess = expunges.count - Self.expungeMemory
        guard excess > 0 else { return }
        floor = max(floor, expunges[excess - 1].modSeq)
        expunges.removeFirst(excess)
    }

    /// The UIDVALIDITY changed: UIDs from before mean nothing now, so every expunge
    /// before this point is unknown under the new numbering.
    mutating func forgetHistory() {
        expunges = []
        remembered = [:]
        floor = highest
        log.needsRewrite = true
    }

    /// UIDs expunged after `modSeq`, ascending; nil when some may have been forgotten.
    func expunged(since modSeq: ModSeq) -> [StoreUID]? {
        guard modSeq >= floor else { return nil }
        var low = 0
        var high = expunges.count
        while low < high {
            let mid = (low + high) / 2
            if expunges[mid].modSeq <= modSeq { low = mid + 1 } else { high = mid }
        }
        return expunges[low...].map(\.uid).sorted()
    }
}

extension FolderState {
    /// Sets the flags of `messages[index]` after its file was renamed to `letters`;
    /// returns the change to report.
    mutating func setFlags(_ flags: MessageFlags, at index: Int, letters: [UInt8]) -> FlagChange {
        let uid = messages[index].uid
        let modSeq = modSeqs.stampFlags(uid: uid, letters: letters)
        messages[index].flags = flags
        messages[index].modSeq = modSeq
        return FlagChange(uid: uid, flags: flags, modSeq: modSeq)
    }
}
