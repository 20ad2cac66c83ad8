import IMAPProtocol
import MailMessage
import MaildirStore

/// Why a command did not succeed: the session's one error taxonomy (issue 12), with
/// the response texts in one place. Every kind maps to one wire form:
/// - `refused`: the user asked for something this mailbox, name or connection does not
///   allow → NO with a response code (RFC 5530) the client can act on;
/// - `syntax`: the command is malformed or not allowed now → BAD;
/// - `serverFault`: our fault (storage failure, internal error) → NO [SERVERBUG] with a
///   fixed text; the reason is logged, never sent (it may name paths).
/// `IMAPSession.fail` sends it and counts it in `imap_command_errors_total{kind}`.
enum CommandError: Error {
    case refused(ResponseCode?, String)
    case syntax(String)
    case serverFault(String)

    enum Kind: String, Sendable {
        case user, syntax, server
    }

    var kind: Kind {
        switch self {
        case .refused: return .user
        case .syntax: return .syntax
        case .serverFault: return .server
        }
    }

    var status: ResponseStatus {
        switch self {
        case .refused, .serverFault: return .no
        case .syntax: return .bad
        }
    }

    var code: ResponseCode? {
        switch self {
        case .refused(let code, _): return code
        case .syntax: return nil
        case .serverFault: return .serverBug
        }
    }

    /// What the client reads after the status and code.
    var text: String {
        switch self {
        case .refused(_, let text), .syntax(let text): return text
        case .serverFault: return Self.serverFaultText
        }
    }

    static let serverFaultText = "Internal error occurred. Refer to server log for more information."
    static let readOnly = refused(.readOnly, "Mailbox is read-only.")
    static let invalidMailboxName = refused(.cannot, "Invalid mailbox name.")
    static let inboxAlwaysExists = refused(.alreadyExists, "INBOX always exists.")
    static let alreadyExists = refused(.alreadyExists, "Mailbox already exists.")
    static let plaintextDisallowed = refused(
        .privacyRequired, "Plaintext authentication disallowed on non-secure connections.")
    static let tooManyKeywords = refused(.limit, "No more keywords can be created in this mailbox (26 used).")
    static let locked = refused(.inUse, "Mailbox is locked by another process, try again.")

    static let inboxCannotBeDeleted = refused(.cannot, "INBOX can't be deleted.")
    static let hasChildren = refused(.hasChildren, "Mailbox has children and holds no messages.")
    static let zeroByteMessage = refused(.cannot, "Can't save a zero byte message.")
    static let authenticationFailed = refused(.authenticationFailed, "Authentication failed.")
    static let authorizationFailed = refused(
        .authorizationFailed, "Authorization as another user is not permitted.")
    static let unsupportedMechanism = refused(nil, "Unsupported authentication mechanism.")
    /// The password was right but the Maildir is missing or unreadable (issue 13): the
    /// reason, which may name paths, goes to the log only.
    static let mailboxUnavailable = refused(
        .unavailable, "Your mailbox is not available on this server; the server log says why.")
    static let badCharset = refused(.badCharset(SearchCharset.supported), "Unsupported charset.")
    static let searchTooComplex = refused(.limit, "Search too complex.")
    static let sortTooLarge = refused(.limit, "Too much to sort or thread in this mailbox.")
    static let tlsNotConfigured = refused(nil, "TLS is not configured on this server.")
    /// RFC 9208 §4.3.1, with Dovecot 2.3's text.
    static let overQuota = refused(.overQuota, "Quota exceeded (mailbox for user is full)")
    /// RFC 9208 §4.1.3: SETQUOTA is for administrators (Dovecot's answer).
    static let quotaChangeNotPermitted = refused(.noPerm, "Quota can be changed only by admin.")
    /// RFC 9208 §4.1.1: GETQUOTA of a root the user does not have (Dovecot's text).
    static let quotaRootMissing = refused(nil, "Quota root doesn't exist.")

    static let unknownSelectionOptions = syntax("Unknown select options.")
    static let unknownReturnOptions = syntax("Unknown return options.")
    static let recursiveMatchAlone = syntax("RECURSIVEMATCH needs another selection option.")
    static let expectedDone = syntax("Expected DONE.")
    static let authenticationCancelled = syntax("Authentication cancelled.")
    static let invalidSASLPlain = syntax("Invalid SASL PLAIN response.")
    static let invalidMessageSet = syntax("Invalid message set.")
    static let invalidUIDSet = syntax("Invalid UID set.")
    static let tlsAlreadyActive = syntax("TLS is already active.")
    /// RFC 4978 §3: a second COMPRESS.
    static let compressionActive = refused(.other("COMPRESSIONACTIVE", nil), "DEFLATE is already active.")
    /// RFC 4978 §3: BAD for an unknown argument.
    static let unknownCompression = syntax("Unknown compression mechanism.")
    /// RFC 7162 §3.2.5: SELECT (QRESYNC …) before ENABLE QRESYNC is a BAD.
    static let qresyncNotEnabled = syntax("QRESYNC not enabled.")
    /// RFC 7162 §3.2.5: `$` in known-uids, or seq-match-data whose two sets do not
    /// pair up one to one (§3.2.5.2).
    static let invalidQResyncParameters = syntax("Invalid QRESYNC parameters.")
    /// RFC 7162 §3.2.6: the VANISHED modifier needs UID FETCH, CHANGEDSINCE and QRESYNC.
    static let vanishedMisused = syntax("VANISHED needs UID FETCH with CHANGEDSINCE after ENABLE QRESYNC.")

    /// A command the session's state does not allow (RFC 9051 §6: BAD).
    static func notBeforeLogin(_ command: String) -> CommandError { syntax("\(command) not allowed before login.") }
    static func noMailboxSelected(_ command: String) -> CommandError { syntax("\(command): no mailbox selected.") }
    static func notAllowedNow(_ command: String) -> CommandError { syntax("\(command) not allowed now.") }

    /// A sequence set naming messages that do not exist (Dovecot's text).
    static func invalidMessageSet(in command: String) -> CommandError {
        syntax("Error in IMAP command \(command): Invalid messageset.")
    }

    static func tooManyConnectionsFromAddress(_ limit: Int) -> CommandError {
        refused(.limit, "Maximum number of connections for this user from your address exceeded (\(limit)).")
    }

    static func tooManyConnectionsForUser(_ limit: Int) -> CommandError {
        refused(.limit, "Maximum number of connections for this user exceeded (\(limit)).")
    }

    /// RFC 9051 §6.3.12 / §6.4.7: COPY or MOVE into a mailbox that does not exist.
    static func tryCreate(_ name: MailboxName) -> CommandError {
        refused(.tryCreate, "Mailbox doesn't exist: \(name.rawValue.prefix(200))")
    }

    /// RFC 6154 §5.2: CREATE with a special-use attribute the server does not know.
    static func unknownSpecialUse(_ attribute: String) -> CommandError {
        refused(.other(ResponseCodeName.useAttr, nil), "Unknown special-use attribute: \(attribute.prefix(50))")
    }

    /// Names from the client are cut to 200 characters in responses.
    static func nonexistent(_ name: MailboxName) -> CommandError {
        refused(.nonexistent, "Mailbox doesn't exist: \(name.rawValue.prefix(200))")
    }

    static func invalidName(_ reason: String) -> CommandError { refused(.cannot, "Invalid mailbox name: \(reason)") }

    /// A storage error as the client sees it; anything unexpected is a server fault.
    static func of(_ error: Error, name: MailboxName) -> CommandError {
        switch error {
        case StoreError.nonexistent: return .nonexistent(name)
        case StoreError.invalidName(let reason): return .invalidName(reason)
        case StoreError.alreadyExists: return .alreadyExists
        case StoreError.tooManyKeywords: return .tooManyKeywords
        case StoreError.locked: return .locked
        case is Quota.Exceeded: return .overQuota
        default: return .serverFault("storage failure: \(error)")
        }
    }
}

extension IMAPSession {
    /// Ends the command `tag` with `error`: logged when it is ours, counted by kind.
    func fail(_ tag: String, _ error: CommandError) {
        if case .serverFault(let reason) = error {
            logger.error("command failed", metadata: ["reason": .client(reason)])
        }
        ServerMetrics.commandError(error.kind)
        // A FETCH that failed after sending MODSEQ items owes the HIGHESTMODSEQ claim
        // (RFC 7162 §3.2.10) as much as one that completed.
        sendHighestModSeqIfDue()
        writer.tagged(tag, error.status, error.code, error.text)
    }
}
