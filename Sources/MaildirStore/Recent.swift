// IMAP4rev1 \Recent (RFC 3501 §2.3.2): a message is recent in the first session told
// of it, and in no later one; a read-only (EXAMINE) session sees it as recent but does
// not take it, so later sessions see it too. IMAP4rev2 dropped the flag (RFC 9051
// Appendix E); the server still keeps the record for its IMAP4rev1 sessions.
//
// The record, as Dovecot keeps it: `FolderState.firstRecentUID` (Dovecot's index
// field `first_recent_uid`). Every message with this UID or above is recent for no
// session yet. UIDs only grow, and a session is told of messages in UID order, so a
// session that may take them claims "everything up to the last UID I am told of" by
// moving the mark past it.
//
// Races handled here:
// - Several sessions of this process told of the same new message at once: the claim
//   reads and moves the mark under the folder Mutex, so exactly one of them gets it.
// - A restart: the mark lives in memory. On disk, new/ is the record of "not yet seen
//   by any session" (as in Dovecot, a session that claims moves the messages to cur/):
//   a folder state built from disk starts the mark at the lowest UID still in new/, or
//   at the first UID its first scan gave out, whichever is lower (`startRecent`; a
//   message without a UID in dovecot-uidlist was never shown to anyone, and a folder
//   seen for the first time is all recent, as Dovecot answers with a new index), and
//   a claim of messages still in new/ asks the caller to move them
//   (`persistClaimedRecent`, blocking work for the thread pool). A restart between a
//   claim and that move makes those messages recent once more, which is harmless.
//   Messages APPEND and COPY write straight into cur/ that no session claimed before a
//   restart stay recent after it only when the folder is loaded from its imapd-index,
//   which holds the mark (FolderIndex.swift; SharedFolder takes the lower of the two);
//   a folder built from the Maildir has nothing on disk that recorded them.
import Glibc

/// What `SharedFolder.claimRecent` found for one session.
public struct RecentClaim: Sendable, Equatable {
    /// The UIDs recent for this session among those it is told of; nil when none.
    public var uids: ClosedRange<StoreUID>?
    /// Some claimed message is still in new/: `persistClaimedRecent(uids)` should run
    /// (off the event loops) so a restart does not make it recent again.
    public var needsPersisting: Bool

    public static let empty = RecentClaim(uids: nil, needsPersisting: false)
}

extension FolderState {
    /// A folder state just read from disk: every message still in new/ was never
    /// claimed (a claim moves it to cur/), nor any given a UID by the first scan
    /// (`firstNewUID`: the next UID the uidlist named before it), nor any above them.
    mutating func startRecent(firstNewUID: UInt32) {
        var lowest = min(nextUID, firstNewUID)
        locations.forEachInNew { base, _ in
            if let uid = recordUIDs[base], uid < lowest { lowest = uid }
        }
        firstRecentUID = lowest
    }

    /// Indexes in `messages` of the messages with UIDs in `range` (ascending).
    func messageIndexes(in range: ClosedRange<StoreUID>) -> Range<Int> {
        var low = 0
        var high = messages.count
        while low < high {
            let mid = (low + high) / 2
            if messages[mid].uid < range.lowerBound { low = mid + 1 } else { high = mid }
        }
        var end = low
        while end < messages.count && messages[end].uid <= range.upperBound { end += 1 }
        return low..<end
    }
}

extension SharedFolder {
    /// The messages up to `last` (the highest UID the session is being told of) that
    /// are recent for the calling session. With `claiming` (a read-write session) they
    /// become recent for no other session; without (EXAMINE) they stay available.
    /// Quick: memory only, under the folder Mutex.
    public func claimRecent(through last: StoreUID, claiming: Bool) -> RecentClaim {
        let claim = try? perform { _, state, _ -> RecentClaim in
            guard state.firstRecentUID <= last.rawValue else { return .empty }
            let range = StoreUID(state.firstRecentUID)...last
            guard claiming else { return RecentClaim(uids: range, needsPersisting: false) }
            state.firstRecentUID = last.rawValue &+ 1
            let inNew = state.messageIndexes(in: range).contains {
                state.locations.location(of: state.messages[$0].baseName, messageIndex: $0)?.inNew == true
            }
            return RecentClaim(uids: range, needsPersisting: inNew)
        }
        return claim ?? .empty
    }

    /// Moves the claimed messages of `uids` still in new/ to cur/ (":2,", same base
    /// name and UID), the on-disk record that some session has seen them. Blocking.
    public func persistClaimedRecent(_ uids: ClosedRange<StoreUID>) throws {
        try perform { context, state, _ in
            var inNew: [String: MessageLocation] = [:]
            for index in state.messageIndexes(in: uids) where state.messages[index].uid.rawValue < state.firstRecentUID
            {
                let base = state.messages[index].baseName
                if let location = state.locations[base], location.inNew { inNew[base] = location }
            }
            context.moveToCurrent(inNew, &state)
        }
    }
}
