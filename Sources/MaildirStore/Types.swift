// Storage-side value types. The wire module has its own UID and flag types; the
// server maps between them, so nothing here knows IMAP syntax.

/// A message UID as stored in `dovecot-uidlist` (RFC 9051 §2.3.1.1).
public struct StoreUID: RawRepresentable, Hashable, Comparable, Sendable, CustomStringConvertible {
    public let rawValue: UInt32
    public init(_ v: UInt32) { rawValue = v }
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    public static func < (lhs: StoreUID, rhs: StoreUID) -> Bool { lhs.rawValue < rhs.rawValue }
    public var description: String { String(rawValue) }
}

/// A folder's UIDVALIDITY (RFC 9051 §2.3.1.1), `V` of the uidlist header.
public struct StoreUIDValidity: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt32
    public init(_ v: UInt32) { rawValue = v }
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    public var description: String { String(rawValue) }
}

/// A mod-sequence (RFC 7162 §3.1.1): a per-folder counter that grows with every change
/// to a message's flags, every new message and every expunge. Values stay below 2^53 so
/// clients that keep them in a double (JavaScript) read them exactly (ModSeqState.swift).
public struct ModSeq: RawRepresentable, Hashable, Comparable, Sendable, CustomStringConvertible {
    public let rawValue: UInt64
    public init(_ v: UInt64) { rawValue = v }
    public init(rawValue: UInt64) { self.rawValue = rawValue }
    public static func < (lhs: ModSeq, rhs: ModSeq) -> Bool { lhs.rawValue < rhs.rawValue }
    public var description: String { String(rawValue) }
    /// The value after this one.
    var next: ModSeq { ModSeq(rawValue + 1) }
}

/// The five IMAP system flags a Maildir file name can carry.
public struct SystemFlags: OptionSet, Hashable, Sendable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    /// `R`
    public static let answered = SystemFlags(rawValue: 1 << 0)
    /// `F`
    public static let flagged = SystemFlags(rawValue: 1 << 1)
    /// `T`
    public static let deleted = SystemFlags(rawValue: 1 << 2)
    /// `S`
    public static let seen = SystemFlags(rawValue: 1 << 3)
    /// `D`
    public static let draft = SystemFlags(rawValue: 1 << 4)

    /// Each flag with its file-name letter, in ASCII order of the letters.
    static let letters: [(SystemFlags, UInt8)] = [
        (.draft, FlagLetter.draft), (.flagged, FlagLetter.flagged), (.answered, FlagLetter.replied),
        (.seen, FlagLetter.seen), (.deleted, FlagLetter.trashed),
    ]
}

/// Flags of one message as IMAP sees them. Keywords keep the spelling from
/// dovecot-keywords; compare case-insensitively.
public struct MessageFlags: Hashable, Sendable {
    public var system: SystemFlags
    /// Sorted by their letter index in dovecot-keywords.
    public var keywords: [String]
    public init(system: SystemFlags = [], keywords: [String] = []) {
        self.system = system
        self.keywords = keywords
    }
}

/// How `SharedFolder.store` combines the given flags with the current ones.
public enum FlagOperation: Sendable {
    case replace, add, remove
}

/// One message present on disk.
///
/// `internalDate`, `physicalSize` and `virtualSize` are nil until someone asks for them
/// (`SharedFolder.completeDetails`), unless the file name (`,S=`, `,W=`) or the uidlist
/// (`W`) already tells. A scan reads only the directories: a stat per file is what made
/// the first SELECT of a 100,000-message folder slow (the inodes are read from disk on
/// a cold cache), and RFC822.SIZE of a name without `,W=` means reading the whole file.
/// Dovecot defers both the same way. Messages this server writes (APPEND, COPY) have
/// all three from the start.
public struct MessageRecord: Sendable, Hashable {
    public var uid: StoreUID
    public var flags: MessageFlags
    /// File mtime in seconds since the epoch = INTERNALDATE (never changed by us).
    public var internalDate: Int64? {
        get { storedDate == Self.unknownDate ? nil : storedDate }
        set { storedDate = newValue ?? Self.unknownDate }
    }
    /// Physical size in bytes (from ,S= or stat).
    public var physicalSize: Int? {
        get { storedPhysicalSize < 0 ? nil : storedPhysicalSize }
        set { storedPhysicalSize = newValue.map { max(0, $0) } ?? Self.unknownSize }
    }
    /// Size with CRLF line ends (from ,W= in the name, or the uidlist W field, or computed
    /// once by reading the file and remembered in memory), = RFC822.SIZE.
    public var virtualSize: Int? {
        get { storedVirtualSize < 0 ? nil : storedVirtualSize }
        set { storedVirtualSize = newValue.map { max(0, $0) } ?? Self.unknownSize }
    }
    // The three above stored without Optional's extra byte, which padded each to 16
    // bytes: a record takes 72 bytes instead of 96, and a folder state, its snapshots
    // and a cold SELECT's new memory a quarter less per message.
    private var storedDate: Int64
    private var storedPhysicalSize: Int
    private var storedVirtualSize: Int
    private static let unknownDate = Int64.min
    private static let unknownSize = -1
    /// Base name (before the last ':'), the message's identity.
    public var baseName: String
    /// The mod-sequence of the message's last change (arrival or flags), RFC 7162.
    public var modSeq: ModSeq

    public init(
        uid: StoreUID, flags: MessageFlags, internalDate: Int64?, physicalSize: Int?, virtualSize: Int?,
        baseName: String, modSeq: ModSeq = ModSeq(0)
    ) {
        self.modSeq = modSeq
        self.uid = uid
        self.flags = flags
        storedDate = internalDate ?? Self.unknownDate
        storedPhysicalSize = physicalSize.map { max(0, $0) } ?? Self.unknownSize
        storedVirtualSize = virtualSize.map { max(0, $0) } ?? Self.unknownSize
        self.baseName = baseName
    }

    /// INTERNALDATE or RFC822.SIZE still unknown.
    public var lacksDetails: Bool { internalDate == nil || virtualSize == nil || physicalSize == nil }
}

/// New flags of one message and the mod-sequence of that change.
public struct FlagChange: Sendable, Hashable {
    public var uid: StoreUID
    public var flags: MessageFlags
    public var modSeq: ModSeq
    public init(uid: StoreUID, flags: MessageFlags, modSeq: ModSeq) {
        self.uid = uid
        self.flags = flags
        self.modSeq = modSeq
    }
}

/// What `SharedFolder.store` did (RFC 7162 §3.1.3 for `modified`).
public struct StoreOutcome: Sendable {
    /// Messages whose flags changed, ascending UID.
    public var changed: [FlagChange]
    /// Messages left alone because their mod-sequence was above UNCHANGEDSINCE, ascending.
    public var modified: [StoreUID]
}

/// What changed in a folder, in the order it happened. Sent to every observer of the
/// folder after each synchronize/store/expunge that changed something (including the
/// changes the observer's own session made).
public enum FolderChange: Sendable {
    /// New UIDs, ascending.
    case added([MessageRecord])
    /// Ascending UIDs, all expunged by one operation, with its mod-sequence (RFC 7162:
    /// a session delaying their EXPUNGE/VANISHED must claim a HIGHESTMODSEQ below it,
    /// RFC 5162 errata 1810 as carried into RFC 7162 §3.2.10).
    case expunged([StoreUID], modSeq: ModSeq)
    case flagsChanged([FlagChange])
    /// The folder's full keyword list grew.
    case keywordsChanged([String])
    /// The folder's directory is gone (deleted or renamed by another session or
    /// program): a session that has it selected must be told (Dovecot says BYE).
    case folderGone
}

/// The state of a folder after a synchronize.
public struct FolderSnapshot: Sendable {
    public var uidValidity: StoreUIDValidity
    public var uidNext: StoreUID
    /// Ascending UID, only messages present on disk.
    public var messages: [MessageRecord]
    /// dovecot-keywords names, index order.
    public var keywords: [String]
    /// True while fewer than 26 keyword letters are used (PERMANENTFLAGS \* is offered).
    public var canCreateKeywords: Bool
    /// Messages with this UID or above are recent for no session yet (IMAP4rev1
    /// \Recent, Recent.swift).
    public var firstRecentUID: StoreUID
    /// HIGHESTMODSEQ (RFC 7162 §3.1.2): the highest mod-sequence given out in the folder.
    public var highestModSeq: ModSeq

    public init(
        uidValidity: StoreUIDValidity, uidNext: StoreUID, messages: [MessageRecord], keywords: [String],
        canCreateKeywords: Bool, firstRecentUID: StoreUID = StoreUID(1), highestModSeq: ModSeq = ModSeq(1)
    ) {
        self.highestModSeq = highestModSeq
        self.uidValidity = uidValidity
        self.uidNext = uidNext
        self.messages = messages
        self.keywords = keywords
        self.canCreateKeywords = canCreateKeywords
        self.firstRecentUID = firstRecentUID
    }

    /// Messages a SELECT now would get as \Recent (STATUS RECENT, as Dovecot counts).
    public var unclaimedRecentCount: Int {
        var low = 0
        var high = messages.count
        while low < high {
            let mid = (low + high) / 2
            if messages[mid].uid < firstRecentUID { low = mid + 1 } else { high = mid }
        }
        return messages.count - low
    }
}

/// Identifies one observer registration of a `SharedFolder`.
public struct ObserverToken: Hashable, Sendable {
    let id: UInt64
}

/// One folder of the user's tree as LIST reports it.
public struct FolderEntry: Sendable, Hashable {
    /// Hierarchy components decoded from modified UTF-7, e.g. ["Archive", "2024"]; INBOX is ["INBOX"].
    public var components: [String]
    /// The folder's directory (absolute path).
    public var directory: String
    /// Has a cur/ (or is INBOX): can be selected. Folders that exist only as a parent of
    /// others (`.A.B` exists but `.A` does not) are listed with isSelectable == false.
    public var isSelectable: Bool
    public var hasChildren: Bool

    public init(components: [String], directory: String, isSelectable: Bool, hasChildren: Bool) {
        self.components = components
        self.directory = directory
        self.isSelectable = isSelectable
        self.hasChildren = hasChildren
    }
}
