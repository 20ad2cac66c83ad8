// Every magic separator, letter and file name of the Maildir / Maildir++ / Dovecot
// on-disk formats, in one place (see MAILDIR-FORMATS.md).

/// Bytes and names of the message file-name grammar: `<base>[:2,<letters>[,<suffix>]]`.
enum FileNameSyntax {
    /// Separates the base name from the info part (the *last* ':' of the name).
    static let infoSeparator: UInt8 = UInt8(ascii: ":")
    /// Info parts that carry flag letters start with this ("experimental semantics 2").
    static let infoVersion2: [UInt8] = Array("2,".utf8)
    /// Starts a field inside the base name (`,S=`) and a suffix inside the info part.
    static let fieldSeparator: UInt8 = UInt8(ascii: ",")
    static let fieldAssign: UInt8 = UInt8(ascii: "=")
    /// `,S=<n>`: physical size in bytes.
    static let physicalSizeKey: UInt8 = UInt8(ascii: "S")
    /// `,W=<n>`: size with every LF counted as CRLF (RFC822.SIZE).
    static let virtualSizeKey: UInt8 = UInt8(ascii: "W")
    /// Names starting with this are ignored in new/ and cur/ (editors' temp files etc.).
    static let hiddenPrefix: UInt8 = UInt8(ascii: ".")
    /// Separates the seconds of a conventional unique name from the rest.
    static let uniqueSeparator: UInt8 = UInt8(ascii: ".")
    /// `M<usecs>` inside the second part of a conventional unique name.
    static let microsecondsMarker: UInt8 = UInt8(ascii: "M")
}

/// Flag letters of the info part (Maildir specification, Dovecot for keywords).
enum FlagLetter {
    static let draft: UInt8 = UInt8(ascii: "D")
    static let flagged: UInt8 = UInt8(ascii: "F")
    /// "Passed" (resent/forwarded/bounced): no IMAP flag, preserved untouched.
    static let passed: UInt8 = UInt8(ascii: "P")
    static let replied: UInt8 = UInt8(ascii: "R")
    static let seen: UInt8 = UInt8(ascii: "S")
    static let trashed: UInt8 = UInt8(ascii: "T")
    /// Keyword letters `a`...`z` are indexes 0...25 of dovecot-keywords.
    static let firstKeyword: UInt8 = UInt8(ascii: "a")
    static let lastKeyword: UInt8 = UInt8(ascii: "z")
    static let keywordCount = 26
}

/// Directory and file names of a Maildir and of Dovecot's files beside it.
enum MaildirNames {
    static let cur = "cur"
    static let new = "new"
    static let tmp = "tmp"
    /// Empty marker file inside every Maildir++ subfolder.
    static let maildirFolderMarker = "maildirfolder"
    static let uidList = "dovecot-uidlist"
    static let uidListLock = "dovecot-uidlist.lock"
    static let uidListTemp = "dovecot-uidlist.tmp"
    static let keywords = "dovecot-keywords"
    /// Courier-IMAP's UID list (uidlist v1 format), imported when there is no uidlist.
    static let courierUIDs = "courierimapuiddb"
    static let keywordsTemp = "dovecot-keywords.tmp"
    /// This server's mod-sequence log (ModSeqFile.swift, MAILDIR-FORMATS.md).
    static let modSeqLog = "imapd-modseq"
    static let modSeqLogTemp = "imapd-modseq.tmp"
    /// This server's saved folder state (FolderIndex.swift, MAILDIR-FORMATS.md).
    static let folderIndex = "imapd-index"
    static let folderIndexTemp = "imapd-index.tmp"
    /// In the mail root: the last UIDVALIDITY handed out, as 8 lowercase hex digits.
    static let uidValidity = "dovecot-uidvalidity"
    /// In the mail root: `dovecot-uidvalidity.<8hex>`, the atomically renamed marker.
    static let uidValidityMarkerPrefix = "dovecot-uidvalidity."
    /// Maildir++ separates hierarchy levels with this, and folder directories start with it.
    static let folderSeparator: Character = "."
    static let folderSeparatorByte: UInt8 = UInt8(ascii: ".")
    static let inbox = "INBOX"
    /// Dovecot's subscription list in the mail root, its dot-lock and temporary file.
    static let subscriptions = "subscriptions"
    static let subscriptionsLock = "subscriptions.lock"
    static let subscriptionsTemp = "subscriptions.tmp"
    /// First bytes of a version 2 subscriptions file (Dovecot ≥ 2.2.17); its names have
    /// hierarchy levels separated by TAB.
    static let subscriptionsV2Header: [UInt8] = Array("V\t2\n\n".utf8)
    /// Prefixes of files in the mail root that are never folders (MAILDIR-FORMATS.md).
    static let neverFolderPrefixes = [
        "dovecot.index", "dovecot.list.index", "dovecot.mailbox.log", "dovecot-uidlist",
        "dovecot-keywords", "dovecot-uidvalidity", "dovecot-acl", "courierimap",
    ]
    static let neverFolderNames: Set<String> = ["subscriptions", "maildirsize"]
}

/// This server's header cache beside `dovecot-uidlist` (IMAPServer's HeaderCache/,
/// MAILDIR-FORMATS.md): SORT and THREAD read it instead of every message file.
public enum HeaderCacheNames {
    /// Date: of each message (12 bytes an entry): what a date-only SORT needs.
    public static let dates = "imapd-cache.dates"
    /// Everything SORT and THREAD read of a message's header.
    public static let headers = "imapd-cache.headers"
    /// THREAD's keys derived from the headers file, saved (ThreadCacheFormat).
    public static let threads = "imapd-cache.threads"
    /// ENVELOPE, BODYSTRUCTURE and SEARCH's header texts of each message, one frame
    /// each, read by offset (the listing cache, IMAPServer/ListingCache/).
    public static let listing = "imapd-cache.listing"
    /// Where each UID's frame is in the listing file, as of its last save.
    public static let listingOffsets = "imapd-cache.listing-offsets"
    /// The compaction's temporary file (`<name>` + this), renamed over the cache.
    public static let temporarySuffix = ".tmp"
}

/// Syntax of `dovecot-uidlist`.
enum UIDListSyntax {
    static let space: UInt8 = UInt8(ascii: " ")
    static let newline: UInt8 = UInt8(ascii: "\n")
    /// Ends the extension fields of a v2/v3 record; the rest of the line is the file name.
    static let fileNamePrefix: UInt8 = UInt8(ascii: ":")
    static let uidValidityKey: UInt8 = UInt8(ascii: "V")
    static let nextUIDKey: UInt8 = UInt8(ascii: "N")
    static let guidKey: UInt8 = UInt8(ascii: "G")
    static let physicalSizeKey: UInt8 = UInt8(ascii: "S")
    static let virtualSizeKey: UInt8 = UInt8(ascii: "W")
    static let currentVersion = 3
    static let guidHexDigits = 32
    /// No UID may be this high (Dovecot: "UID too high"), so the next UID after any
    /// valid one still fits in 32 bits; a next UID at or over it leaves no UID to give.
    static let uidLimit = UInt32.max
}

/// Timing rules of the on-disk protocol.
enum StoreTiming {
    /// A dot-lock whose mtime is older than this was left by a crashed process
    /// (Dovecot's MAILDIR_UIDLIST_LOCK_STALE_TIMEOUT).
    static let lockStaleSeconds: Int = 120
    /// Dovecot's SUBSCRIPTION_FILE_CHANGE_TIMEOUT: its lock is stale sooner.
    static let subscriptionsLockStaleSeconds: Int = 30
    /// How long a writer waits for `dovecot-uidlist.lock` by default.
    static let defaultLockTimeout: Duration = .seconds(10)
    /// Directory mtimes are only trusted for skipping a readdir when the last scan
    /// happened more than this long after them: changes within the same coarse
    /// timestamp tick as the scan could otherwise go unnoticed.
    static let mtimeTrustNanoseconds: Int64 = 1_000_000_000
    /// The same for a file system with sub-second timestamps (a directory mtime with a
    /// non-zero nanosecond part): Linux stamps files from its coarse clock, one timer
    /// tick (at most 10 ms at HZ=100) behind real time, so a scan that started more than
    /// this long after the mtime saw every change stamped with it. A second-granular
    /// file system keeps the 1 s rule.
    static let fineMtimeTrustNanoseconds: Int64 = 50_000_000
}

/// Limits of names on disk (Linux NAME_MAX / PATH_MAX).
enum PathLimits {
    static let maxNameBytes = 255
    static let maxPathBytes = 4096
}
