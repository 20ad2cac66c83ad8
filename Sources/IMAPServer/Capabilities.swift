/// The capabilities this server implements, each with the RFC that defines it. Only
/// what works end to end is listed here; the README keeps the same table.
enum Capability {
    static let imap4rev2 = "IMAP4rev2"  // RFC 9051
    static let imap4rev1 = "IMAP4rev1"  // RFC 3501, still served
    static let literalPlus = "LITERAL+"  // RFC 7888
    static let enable = "ENABLE"  // RFC 5161
    static let id = "ID"  // RFC 2971
    static let saslIR = "SASL-IR"  // RFC 4959
    static let authPlain = "AUTH=PLAIN"  // RFC 4616
    static let loginDisabled = "LOGINDISABLED"  // RFC 9051 §6.2.3
    static let namespace = "NAMESPACE"  // RFC 2342
    static let unselect = "UNSELECT"  // RFC 3691
    static let children = "CHILDREN"  // RFC 3348
    static let esearch = "ESEARCH"  // RFC 4731
    static let searchRes = "SEARCHRES"  // RFC 5182
    static let binary = "BINARY"  // RFC 3516
    static let utf8Accept = "UTF8=ACCEPT"  // RFC 6855
    static let idle = "IDLE"  // RFC 2177
    static let uidPlus = "UIDPLUS"  // RFC 4315
    static let move = "MOVE"  // RFC 6851
    static let multiAppend = "MULTIAPPEND"  // RFC 3502
    static let appendLimitPrefix = "APPENDLIMIT="  // RFC 7889
    static let specialUse = "SPECIAL-USE"  // RFC 6154
    static let createSpecialUse = "CREATE-SPECIAL-USE"  // RFC 6154 §3
    static let listExtended = "LIST-EXTENDED"  // RFC 5258
    static let listStatus = "LIST-STATUS"  // RFC 5819
    static let startTLS = "STARTTLS"  // RFC 9051 §6.2.1
    static let sort = "SORT"  // RFC 5256
    static let sortDisplay = "SORT=DISPLAY"  // RFC 5957
    static let threadOrderedSubject = "THREAD=ORDEREDSUBJECT"  // RFC 5256
    static let threadReferences = "THREAD=REFERENCES"  // RFC 5256
    static let threadRefs = "THREAD=REFS"  // Dovecot's REFERENCES variant
    static let esort = "ESORT"  // RFC 5267
    static let within = "WITHIN"  // RFC 5032
    static let searchPartial = "SEARCH=PARTIAL"  // RFC 9394
    static let contextSearch = "CONTEXT=SEARCH"  // RFC 5267 §4
    static let contextSort = "CONTEXT=SORT"  // RFC 5267 §4
    static let condstore = "CONDSTORE"  // RFC 7162 §3.1
    static let qresync = "QRESYNC"  // RFC 7162 §3.2
    static let compressDeflate = "COMPRESS=DEFLATE"  // RFC 4978
    static let quota = "QUOTA"  // RFC 9208
    static let quotaStorage = "QUOTA=RES-STORAGE"  // RFC 9208 §5.1
    static let quotaMessage = "QUOTA=RES-MESSAGE"  // RFC 9208 §5.2

    /// Names a client may ENABLE (RFC 5161), uppercased.
    static let enableable: Set<String> = ["IMAP4REV2", "UTF8=ACCEPT", "CONDSTORE", "QRESYNC"]

    /// The list for CAPABILITY, the greeting and the LOGIN/AUTHENTICATE OK.
    /// `startTLSAvailable`: a certificate is configured and the connection is not yet
    /// TLS; STARTTLS is only offered before login (RFC 9051 §6.2.1).
    static func list(
        authenticated: Bool, plaintextAuthAllowed: Bool, appendLimit: Int = 0, startTLSAvailable: Bool = false
    ) -> [String] {
        var caps = [imap4rev1, imap4rev2, literalPlus, saslIR, enable, id, idle]
        if startTLSAvailable && !authenticated { caps.append(startTLS) }
        if authenticated {
            caps += [namespace, unselect, children, esearch, searchRes, binary, utf8Accept]
            caps += [uidPlus, move, multiAppend, appendLimitPrefix + String(appendLimit), specialUse, createSpecialUse]
            caps += [listExtended, listStatus, condstore, qresync]
            caps += [sort, sortDisplay, esort, threadOrderedSubject, threadReferences, threadRefs, within]
            caps += [searchPartial, contextSearch, contextSort]
            // No QUOTA=SET: SETQUOTA only answers NO (RFC 9208 §4.1.3 makes it optional).
            caps += [quota, quotaStorage, quotaMessage]
            // Only after login, where the command is valid (RFC 4978 §5 `command-auth`;
            // Dovecot does the same).
            caps.append(compressDeflate)
        } else if plaintextAuthAllowed {
            caps.append(authPlain)
        } else {
            // RFC 9051 §6.2.3: LOGIN refused until the connection is protected.
            caps.append(loginDisabled)
        }
        return caps
    }
}
