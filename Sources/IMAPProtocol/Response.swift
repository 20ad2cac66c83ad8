/// Server responses (RFC 9051 §7). `ResponseEncoder` turns these into bytes, picking
/// atom, quoted string or literal for each string as its content requires.

public enum ResponseStatus: String, Sendable {
    case ok = "OK"
    case no = "NO"
    case bad = "BAD"
    case preauth = "PREAUTH"
    case bye = "BYE"
}

/// A complete response, as the session hands it to the connection.
public enum Response: Sendable {
    /// `tag OK/NO/BAD [code] text`
    case tagged(tag: String, status: ResponseStatus, code: ResponseCode?, text: String)
    case untagged(UntaggedResponse)
    /// `+ text` (RFC 9051 §7.6). Text may be empty (sent as `+ `) or base64 for SASL.
    case continuation(String)
}

/// RFC 9051 §7.1 `resp-text-code`.
public enum ResponseCode: Sendable {
    case alert
    case alreadyExists
    case appendUID(UIDValidity, [ClosedRange<UInt32>])
    case authenticationFailed
    case authorizationFailed
    case badCharset([String])
    case cannot
    case capability([String])
    case clientBug
    case closed
    case contactAdmin
    case copyUID(UIDValidity, source: [ClosedRange<UInt32>], destination: [ClosedRange<UInt32>])
    case corruption
    case expired
    case expungeIssued
    case hasChildren
    case inUse
    case limit
    case nonexistent
    case noPerm
    case overQuota
    case parse
    case permanentFlags([PermanentFlag])
    case privacyRequired
    case readOnly
    case readWrite
    case serverBug
    case tryCreate
    case uidNext(UID)
    case uidNotSticky
    case uidValidity(UIDValidity)
    case unavailable
    case unknownCTE
    case highestModSeq(UInt64)
    case noModSeq
    case modified([ClosedRange<UInt32>])
    /// IMAP4rev1 `[UNSEEN n]` in SELECT for rev1 clients.
    case unseen(SequenceNumber)
    /// Any other code: atom and optional text.
    case other(String, String?)
}

/// An entry of `[PERMANENTFLAGS (…)]`: a flag or `\*` (new keywords may be created).
public enum PermanentFlag: Hashable, Sendable {
    case flag(Flag)
    case wildcard
}

public enum UntaggedResponse: Sendable {
    /// `* OK/NO/BAD/PREAUTH/BYE [code] text`
    case status(ResponseStatus, code: ResponseCode?, text: String)
    case capability([String])
    /// RFC 5161 `* ENABLED cap…`
    case enabled([String])
    /// RFC 2971 `* ID (…)` or `* ID NIL`.
    case id([(key: String, value: String?)]?)
    case flags([Flag])
    case exists(Int)
    /// IMAP4rev1 only.
    case recent(Int)
    case expunge(SequenceNumber)
    /// QRESYNC `* VANISHED [(EARLIER)] uid-set`.
    case vanished(earlier: Bool, [ClosedRange<UInt32>])
    case list(MailboxListEntry)
    case lsub(MailboxListEntry)
    case namespace(NamespaceResponse)
    /// RFC 9208 §4.2.1 `* QUOTA root (STORAGE used limit …)`.
    case quota(root: String, [QuotaResource])
    /// RFC 9208 §4.2.2 `* QUOTAROOT mailbox root…` (no root: no quota).
    case quotaRoot(mailbox: MailboxName, roots: [String])
    /// `* STATUS mailbox (MESSAGES 3 …)`. Build it with `.status(mailbox:_:)`: a case
    /// of that name would share the base name `status` with the status response above,
    /// and Swift cannot pattern-match enum cases that differ only in labels (the first
    /// one became unmatchable), so the case has its own name and the static function
    /// keeps the construction syntax.
    case mailboxStatus(mailbox: MailboxName, [(StatusAttribute, UInt64)])
    /// IMAP4rev1 `* SEARCH n…` (with optional CONDSTORE `(MODSEQ n)`).
    case search([UInt32], modSeq: UInt64?)
    /// `* ESEARCH (TAG "t") [UID] MIN n MAX n ALL set COUNT n`
    case esearch(ESearchResponse)
    /// RFC 5256 `"SORT" *(SP nz-number)`, in sort order.
    case sort([UInt32])
    /// RFC 5256 `"THREAD" [SP 1*thread-list]`.
    case thread([ThreadNode])
    /// `* n FETCH (…)` with every item in memory. Large bodies are streamed by the
    /// server with `ResponseEncoder.writeFetchStart` etc. instead.
    case fetch(SequenceNumber, [FetchResponseItem])

    /// `* STATUS mailbox (…)`; see `mailboxStatus`.
    public static func status(mailbox: MailboxName, _ attributes: [(StatusAttribute, UInt64)]) -> UntaggedResponse {
        .mailboxStatus(mailbox: mailbox, attributes)
    }
}

/// `mailbox-list = "(" [mbx-list-flags] ")" SP (DQUOTE QUOTED-CHAR DQUOTE / nil) SP mailbox [SP mbox-list-extended]`
public struct MailboxListEntry: Sendable {
    /// `\HasChildren`, `\Noselect`, `\Subscribed`, `\Sent` …
    public var attributes: [MailboxAttribute]
    /// nil encodes as NIL (no hierarchy).
    public var delimiter: Character?
    public var name: MailboxName
    /// `("CHILDINFO" ("SUBSCRIBED"))` and friends (RFC 5258), as raw extended items.
    public var childInfoSubscribed: Bool
    /// RFC 9051 `("OLDNAME" ("old"))`.
    public var oldName: MailboxName?
    public init(
        attributes: [MailboxAttribute], delimiter: Character?, name: MailboxName,
        childInfoSubscribed: Bool = false, oldName: MailboxName? = nil
    ) {
        self.attributes = attributes
        self.delimiter = delimiter
        self.name = name
        self.childInfoSubscribed = childInfoSubscribed
        self.oldName = oldName
    }
}

/// RFC 9051 §7.3.2 (RFC 2342): personal, other users', shared; each a list of
/// (prefix, delimiter) or NIL.
public struct NamespaceResponse: Sendable {
    public struct Namespace: Sendable {
        public var prefix: String
        public var delimiter: Character?
        public init(prefix: String, delimiter: Character?) {
            self.prefix = prefix
            self.delimiter = delimiter
        }
    }
    public var personal: [Namespace]
    public var otherUsers: [Namespace]
    public var shared: [Namespace]
    public init(personal: [Namespace], otherUsers: [Namespace] = [], shared: [Namespace] = []) {
        self.personal = personal
        self.otherUsers = otherUsers
        self.shared = shared
    }
}

/// RFC 4731 / RFC 9051 §7.3.4 ESEARCH response.
public struct ESearchResponse: Sendable {
    public var tag: String?
    public var uid: Bool
    public var min: UInt32?
    public var max: UInt32?
    /// Encoded as a sequence set (`1:3,7`).
    public var all: [ClosedRange<UInt32>]?
    public var count: Int?
    public var modSeq: UInt64?
    /// RFC 9394 `PARTIAL (range set-or-NIL)`; the numbers in result order (SORT's).
    public var partial: (range: PartialRange, numbers: [ClosedRange<UInt32>])?
    /// RFC 5267 §4.3 `ADDTO (position set …)` / `REMOVEFROM (position set …)`.
    public var addTo: [(position: UInt32, numbers: [ClosedRange<UInt32>])] = []
    public var removeFrom: [(position: UInt32, numbers: [ClosedRange<UInt32>])] = []
    public init(
        tag: String?, uid: Bool, min: UInt32? = nil, max: UInt32? = nil,
        all: [ClosedRange<UInt32>]? = nil, count: Int? = nil, modSeq: UInt64? = nil
    ) {
        self.tag = tag
        self.uid = uid
        self.min = min
        self.max = max
        self.all = all
        self.count = count
        self.modSeq = modSeq
    }
}

/// `msg-att` items of a FETCH response.
public enum FetchResponseItem: Sendable {
    case uid(UID)
    case flags([Flag])
    case internalDate(IMAPDateTime)
    case rfc822Size(Int)
    case envelope(Envelope)
    /// `BODY` (extensible: false) or `BODYSTRUCTURE` (extensible: true).
    case bodyStructure(BodyStructure, extensible: Bool)
    /// `BODY[section]<origin> nstring` with the bytes in memory (nil → NIL).
    case bodySection(SectionSpec, origin: Int?, data: [UInt8]?)
    /// `BINARY[part]<origin> literal8/nstring`.
    case binary(part: [Int], origin: Int?, data: [UInt8]?)
    case binarySize(part: [Int], size: Int)
    /// `RFC822 nstring`, `RFC822.HEADER nstring`, `RFC822.TEXT nstring`.
    case rfc822(data: [UInt8]?)
    case rfc822Header(data: [UInt8]?)
    case rfc822Text(data: [UInt8]?)
    case modSeq(UInt64)
}

/// RFC 9051 §7.5.2 ENVELOPE: every string an nstring, kept as raw header bytes
/// (RFC 2047 words are left encoded).
public struct Envelope: Sendable, Hashable {
    public var date: [UInt8]?
    public var subject: [UInt8]?
    public var from: [Address]
    public var sender: [Address]
    public var replyTo: [Address]
    public var to: [Address]
    public var cc: [Address]
    public var bcc: [Address]
    public var inReplyTo: [UInt8]?
    public var messageID: [UInt8]?
    public init(
        date: [UInt8]? = nil, subject: [UInt8]? = nil, from: [Address] = [], sender: [Address] = [],
        replyTo: [Address] = [], to: [Address] = [], cc: [Address] = [], bcc: [Address] = [],
        inReplyTo: [UInt8]? = nil, messageID: [UInt8]? = nil
    ) {
        self.date = date
        self.subject = subject
        self.from = from
        self.sender = sender
        self.replyTo = replyTo
        self.to = to
        self.cc = cc
        self.bcc = bcc
        self.inReplyTo = inReplyTo
        self.messageID = messageID
    }
}

/// `address = "(" addr-name SP addr-adl SP addr-mailbox SP addr-host ")"`. A group
/// start has a nil host and the group name as mailbox; a group end has all four nil.
/// An empty address list encodes as NIL.
public struct Address: Sendable, Hashable {
    public var name: [UInt8]?
    public var adl: [UInt8]?
    public var mailbox: [UInt8]?
    public var host: [UInt8]?
    public init(name: [UInt8]?, adl: [UInt8]?, mailbox: [UInt8]?, host: [UInt8]?) {
        self.name = name
        self.adl = adl
        self.mailbox = mailbox
        self.host = host
    }
}

/// RFC 9051 §7.5.2 BODYSTRUCTURE. Strings are nstrings of raw bytes.
public indirect enum BodyStructure: Sendable, Hashable {
    case singlepart(SinglePart)
    case multipart(MultiPart)

    public struct Fields: Sendable, Hashable {
        /// `body-fld-param`: name/value pairs, NIL when empty.
        public var parameters: [(String, [UInt8])]
        public var id: [UInt8]?
        public var description: [UInt8]?
        /// `body-fld-enc`, e.g. "7BIT", "BASE64".
        public var encoding: String
        /// Octets of the body with CRLF line ends.
        public var octets: Int
        public init(parameters: [(String, [UInt8])], id: [UInt8]?, description: [UInt8]?, encoding: String, octets: Int)
        {
            self.parameters = parameters
            self.id = id
            self.description = description
            self.encoding = encoding
            self.octets = octets
        }
        public static func == (a: Fields, b: Fields) -> Bool {
            a.parameters.elementsEqual(b.parameters, by: { $0.0 == $1.0 && $0.1 == $1.1 }) && a.id == b.id
                && a.description == b.description && a.encoding == b.encoding && a.octets == b.octets
        }
        public func hash(into h: inout Hasher) {
            h.combine(encoding)
            h.combine(octets)
        }
    }

    /// `body-ext-1part` / `body-ext-mpart` tail shared by both: disposition, language,
    /// location.
    public struct Extension: Sendable, Hashable {
        /// `body-fld-dsp = "(" string SP body-fld-param ")" / nil`
        public var disposition: Disposition?
        /// `body-fld-lang`: NIL, one string, or a list.
        public var language: [[UInt8]]?
        public var location: [UInt8]?
        public init(disposition: Disposition? = nil, language: [[UInt8]]? = nil, location: [UInt8]? = nil) {
            self.disposition = disposition
            self.language = language
            self.location = location
        }
    }

    public struct Disposition: Sendable, Hashable {
        public var type: [UInt8]
        public var parameters: [(String, [UInt8])]
        public init(type: [UInt8], parameters: [(String, [UInt8])]) {
            self.type = type
            self.parameters = parameters
        }
        public static func == (a: Disposition, b: Disposition) -> Bool {
            a.type == b.type && a.parameters.elementsEqual(b.parameters, by: { $0.0 == $1.0 && $0.1 == $1.1 })
        }
        public func hash(into h: inout Hasher) { h.combine(type) }
    }

    public struct SinglePart: Sendable, Hashable {
        public enum Kind: Sendable, Hashable {
            /// `body-type-basic`: media type and subtype, e.g. "APPLICATION" "PDF".
            case basic(type: [UInt8], subtype: [UInt8])
            /// `body-type-text`: subtype and line count.
            case text(subtype: [UInt8], lines: Int)
            /// `body-type-msg`: message/rfc822 (or global): envelope, body, lines.
            case message(subtype: [UInt8], envelope: Envelope, body: BodyStructure, lines: Int)
        }
        public var kind: Kind
        public var fields: Fields
        /// `body-fld-md5` (extension data only).
        public var md5: [UInt8]?
        public var ext: Extension
        /// For `.text` and `.message`: the media type exactly as the Content-Type header
        /// spells it (`"text"`, `"TEXT"`), because Dovecot echoes the header's case. nil
        /// writes Dovecot's default spelling, `"text"` / `"message"`. (`.basic` carries
        /// its type in the kind.)
        public var mediaType: [UInt8]?
        public init(
            kind: Kind, fields: Fields, md5: [UInt8]? = nil, ext: Extension = Extension(), mediaType: [UInt8]? = nil
        ) {
            self.kind = kind
            self.fields = fields
            self.md5 = md5
            self.ext = ext
            self.mediaType = mediaType
        }
    }

    public struct MultiPart: Sendable, Hashable {
        public var parts: [BodyStructure]
        /// e.g. "MIXED"
        public var subtype: [UInt8]
        /// `body-fld-param` of the multipart (boundary etc.; extension data only).
        public var parameters: [(String, [UInt8])]
        public var ext: Extension
        public init(
            parts: [BodyStructure], subtype: [UInt8], parameters: [(String, [UInt8])], ext: Extension = Extension()
        ) {
            self.parts = parts
            self.subtype = subtype
            self.parameters = parameters
            self.ext = ext
        }
        public static func == (a: MultiPart, b: MultiPart) -> Bool {
            a.parts == b.parts && a.subtype == b.subtype && a.ext == b.ext
                && a.parameters.elementsEqual(b.parameters, by: { $0.0 == $1.0 && $0.1 == $1.1 })
        }
        public func hash(into h: inout Hasher) { h.combine(subtype) }
    }
}
