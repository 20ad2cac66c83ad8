/// The command AST: one case per RFC 9051 §6 command (plus the extensions real clients
/// use: ID RFC 2971, IDLE RFC 2177, MOVE RFC 6851, LSUB for IMAP4rev1 clients, and
/// the UID forms). `CommandDecoder` produces these; the server's command table consumes
/// them.

/// `tag SP command CRLF`
public struct TaggedCommand: Sendable {
    public var tag: String
    public var command: Command
    public init(tag: String, command: Command) {
        self.tag = tag
        self.command = command
    }
}

/// Bytes that must never reach a log (passwords, SASL payloads).
public struct Secret: Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    public var bytes: [UInt8]
    public init(_ bytes: [UInt8]) { self.bytes = bytes }
    public var description: String { "<redacted>" }
    public var debugDescription: String { "<redacted>" }
}

/// Which messages a command addresses: `UID FETCH` gives UIDs, `FETCH` sequence numbers.
public enum MessageSet: Hashable, Sendable {
    case sequenceNumbers(SequenceSet<SequenceNumber>)
    case uids(SequenceSet<UID>)

    public var isUID: Bool {
        if case .uids = self { return true }
        return false
    }
}

public enum Command: Sendable {
    // MARK: any state (§6.1)
    case capability
    case noop
    case logout
    /// RFC 2971: `ID ("name" "value" …)` or `ID NIL`. Order kept; NIL values are nil.
    case id([(key: String, value: String?)]?)
    /// RFC 9051 §6.3.1 / RFC 5161: capability names as sent.
    case enable([String])

    // MARK: not authenticated (§6.2)
    case starttls
    /// `AUTHENTICATE mech [initial-response]` (SASL-IR, RFC 4959). `initialResponse`
    /// holds the base64 text as sent; `=` (empty response) is kept as `=`.
    case authenticate(mechanism: String, initialResponse: Secret?)
    case login(username: String, password: Secret)

    // MARK: authenticated (§6.3)
    case select(MailboxName, SelectParameters)
    case examine(MailboxName, SelectParameters)
    /// `CREATE mailbox [(USE (\Sent …))]` (RFC 6154 CREATE-SPECIAL-USE).
    case create(MailboxName, specialUse: [String])
    case delete(MailboxName)
    case rename(from: MailboxName, to: MailboxName)
    case subscribe(MailboxName)
    case unsubscribe(MailboxName)
    case list(ListCommand)
    /// IMAP4rev1 `LSUB reference pattern`.
    case lsub(reference: MailboxName, pattern: String)
    case namespace
    case status(MailboxName, [StatusAttribute])
    /// `APPEND mailbox [flags] [date-time] literal` repeated (MULTIAPPEND, RFC 3502).
    case append(MailboxName, [AppendMessage])
    case idle
    /// RFC 9208 §4.1.1 `GETQUOTA SP quota-root-name` (an astring).
    case getQuota(String)
    /// RFC 9208 §4.1.2 `GETQUOTAROOT SP mailbox`.
    case getQuotaRoot(MailboxName)
    /// RFC 9208 §4.1.3 `SETQUOTA SP quota-root-name SP setquota-list`: the resource
    /// names (uppercased) and limits, parsed whole so a malformed one is a BAD.
    case setQuota(String, [QuotaResourceLimit])
    /// `COMPRESS SP algorithm` (RFC 4978 §3), the mechanism as sent (only DEFLATE is
    /// defined; the session answers BAD for any other).
    case compress(mechanism: String)

    // MARK: selected (§6.4)
    case check
    case close
    case unselect
    case expunge
    /// `UID EXPUNGE uid-set` (UIDPLUS, RFC 4315).
    case uidExpunge(SequenceSet<UID>)
    case search(MessageSetKind, SearchCommand)
    /// `[UID] SORT` (RFC 5256, RFC 5957, RFC 5267).
    case sort(MessageSetKind, SortCommand)
    /// `[UID] THREAD` (RFC 5256).
    case thread(MessageSetKind, ThreadCommand)
    case fetch(MessageSet, [FetchAttribute], FetchModifiers)
    case store(MessageSet, StoreModifiers, StoreAction)
    case copy(MessageSet, MailboxName)
    case move(MessageSet, MailboxName)
    /// RFC 5267 §4.5 `CANCELUPDATE 1*(SP tag-string)`: the tags of live searches.
    case cancelUpdate([String])

    /// The command name as RFC 9051 spells it (`UID FETCH` for the UID forms), for
    /// logs, metrics and the state table.
    public var name: String {
        switch self {
        case .capability: return "CAPABILITY"
        case .noop: return "NOOP"
        case .logout: return "LOGOUT"
        case .id: return "ID"
        case .enable: return "ENABLE"
        case .starttls: return "STARTTLS"
        case .authenticate: return "AUTHENTICATE"
        case .login: return "LOGIN"
        case .select: return "SELECT"
        case .examine: return "EXAMINE"
        case .create: return "CREATE"
        case .delete: return "DELETE"
        case .rename: return "RENAME"
        case .subscribe: return "SUBSCRIBE"
        case .unsubscribe: return "UNSUBSCRIBE"
        case .list: return "LIST"
        case .lsub: return "LSUB"
        case .namespace: return "NAMESPACE"
        case .status: return "STATUS"
        case .append: return "APPEND"
        case .idle: return "IDLE"
        case .compress: return "COMPRESS"
        case .getQuota: return "GETQUOTA"
        case .getQuotaRoot: return "GETQUOTAROOT"
        case .setQuota: return "SETQUOTA"
        case .check: return "CHECK"
        case .close: return "CLOSE"
        case .unselect: return "UNSELECT"
        case .expunge: return "EXPUNGE"
        case .uidExpunge: return "UID EXPUNGE"
        case .search(let kind, _): return kind == .uid ? "UID SEARCH" : "SEARCH"
        case .sort(let kind, _): return kind == .uid ? "UID SORT" : "SORT"
        case .thread(let kind, _): return kind == .uid ? "UID THREAD" : "THREAD"
        case .fetch(let set, _, _): return set.isUID ? "UID FETCH" : "FETCH"
        case .store(let set, _, _): return set.isUID ? "UID STORE" : "STORE"
        case .copy(let set, _): return set.isUID ? "UID COPY" : "COPY"
        case .move(let set, _): return set.isUID ? "UID MOVE" : "MOVE"
        case .cancelUpdate: return "CANCELUPDATE"
        }
    }
}

/// Whether SEARCH answers and addresses in UIDs (`UID SEARCH`) or sequence numbers.
public enum MessageSetKind: Hashable, Sendable {
    case sequenceNumber
    case uid
}

/// SELECT/EXAMINE parameters (RFC 4466 `select-params`): CONDSTORE (RFC 7162) and
/// QRESYNC; any other parameter is a BAD (RFC 4466 §2.1).
public struct SelectParameters: Hashable, Sendable {
    public var condstore: Bool = false
    /// `QRESYNC (uidvalidity modseq [known-uids [seq-match-data]])`
    public var qresync: QResyncParameter? = nil
    public init() {}
}

public struct QResyncParameter: Hashable, Sendable {
    public var uidValidity: UIDValidity
    public var modSeq: UInt64
    public var knownUIDs: SequenceSet<UID>?
    /// `seq-match-data = "(" known-sequence-set SP known-uid-set ")"`
    public var knownSequenceNumbers: SequenceSet<SequenceNumber>?
    public var knownSequenceUIDs: SequenceSet<UID>?
    public init(uidValidity: UIDValidity, modSeq: UInt64) {
        self.uidValidity = uidValidity
        self.modSeq = modSeq
    }
}

/// RFC 9051 §6.3.9 LIST, with LIST-EXTENDED (RFC 5258) options.
public struct ListCommand: Hashable, Sendable {
    /// Selection options as sent, uppercased: `SUBSCRIBED`, `REMOTE`,
    /// `RECURSIVEMATCH`, `SPECIAL-USE`.
    public var selectionOptions: [String]
    public var reference: MailboxName
    /// One or more patterns (`list-mailbox`, may contain `*` and `%`).
    public var patterns: [String]
    public var returnOptions: [ListReturnOption]
    public init(
        selectionOptions: [String] = [], reference: MailboxName, patterns: [String],
        returnOptions: [ListReturnOption] = []
    ) {
        self.selectionOptions = selectionOptions
        self.reference = reference
        self.patterns = patterns
        self.returnOptions = returnOptions
    }
}

public enum ListReturnOption: Hashable, Sendable {
    case subscribed
    case children
    case specialUse
    /// LIST-STATUS (RFC 5819): `STATUS (attrs)`.
    case status([StatusAttribute])
    /// Any other option, uppercased.
    case other(String)
}

/// RFC 9051 §6.3.11 `status-att`.
public enum StatusAttribute: String, Hashable, Sendable, CaseIterable {
    case messages = "MESSAGES"
    case uidNext = "UIDNEXT"
    case uidValidity = "UIDVALIDITY"
    case unseen = "UNSEEN"
    case deleted = "DELETED"
    case size = "SIZE"
    /// IMAP4rev1 only (RFC 3501 §6.3.10).
    case recent = "RECENT"
    /// CONDSTORE (RFC 7162).
    case highestModSeq = "HIGHESTMODSEQ"
    /// RFC 7889 APPENDLIMIT.
    case appendLimit = "APPENDLIMIT"
    /// RFC 9208 §4.1.4: storage (octets) an EXPUNGE would free.
    case deletedStorage = "DELETED-STORAGE"
}

/// RFC 9208 `setquota-resource = resource-name SP resource-limit`.
public struct QuotaResourceLimit: Hashable, Sendable {
    /// `resource-name = "STORAGE" / "MESSAGE" / "MAILBOX" / "ANNOTATION-STORAGE" / atom`, uppercased.
    public var name: String
    /// `resource-limit = number64`
    public var limit: UInt64
    public init(name: String, limit: UInt64) {
        self.name = name
        self.limit = limit
    }
}

/// RFC 9208 `quota-resource = resource-name SP resource-usage SP resource-limit`.
public struct QuotaResource: Hashable, Sendable {
    public var name: String
    public var usage: UInt64
    public var limit: UInt64
    public init(name: String, usage: UInt64, limit: UInt64) {
        self.name = name
        self.usage = usage
        self.limit = limit
    }
}

/// One message of an APPEND. The literal's bytes are held by the codec up to the
/// configured literal limit.
public struct AppendMessage: Sendable {
    public var flags: [Flag]
    public var internalDate: IMAPDateTime?
    public var data: [UInt8]
    /// True when sent as `~{n}` (RFC 3516 literal8 / BINARY append).
    public var isBinary: Bool
    public init(flags: [Flag] = [], internalDate: IMAPDateTime? = nil, data: [UInt8], isBinary: Bool = false) {
        self.flags = flags
        self.internalDate = internalDate
        self.data = data
        self.isBinary = isBinary
    }
}
