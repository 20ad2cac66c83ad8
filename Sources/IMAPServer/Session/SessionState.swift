import IMAPProtocol
import MaildirStore

/// RFC 9051 §3 connection states, each holding its own data, plus the states of the
/// commands that span several client inputs (AUTHENTICATE waiting for the client's
/// response, IDLE waiting for DONE, a streamed APPEND between its decoder events). The
/// session holds exactly one; its transitions are the functions of
/// Session/Transitions.swift. The command table says which states admit each command,
/// and dispatch hands a handler the user and mailbox its state carries, so a handler
/// never looks for them.
enum SessionState {
    case notAuthenticated
    /// §6.2.2: AUTHENTICATE sent its `+` and waits for the client's response line.
    case authenticating(Authenticating)
    case authenticated(UserSession)
    case selected(UserSession, SelectedMailbox)
    /// RFC 2177 / §6.3.13: IDLE runs until the client's DONE.
    case idling(Idling)
    /// §6.3.12: a streamed APPEND between decoder events.
    case appending(AppendStream)
    case logout

    var kind: StateKind {
        switch self {
        case .notAuthenticated: return .notAuthenticated
        case .authenticated: return .authenticated
        case .selected: return .selected
        case .authenticating, .idling, .appending: return .inCommand
        case .logout: return .logout
        }
    }

    /// The logged-in state the session is in, or returns to once the running command
    /// (IDLE, APPEND) ends.
    var loggedIn: LoggedIn? {
        switch self {
        case .authenticated(let user): return .authenticated(user)
        case .selected(let user, let mailbox): return .selected(user, mailbox)
        case .idling(let idling): return idling.within
        case .appending(let stream): return stream.within
        case .notAuthenticated, .authenticating, .logout: return nil
        }
    }

    var user: UserSession? { loggedIn?.user }

    /// The selected mailbox, also while IDLE or APPEND runs in the selected state:
    /// changes are still reported to it.
    var selected: SelectedMailbox? { loggedIn?.mailbox }

    /// The command spanning several inputs that is running: its name (for metrics and
    /// logs) and when it started.
    var running: (name: String, started: ContinuousClock.Instant)? {
        switch self {
        case .authenticating(let a): return (ServerMetrics.authAuthenticate, a.started)
        case .idling(let i): return (ServerMetrics.idle, i.started)
        case .appending(let s): return (IMAPSession.appendCommandName, s.started)
        case .notAuthenticated, .authenticated, .selected, .logout: return nil
        }
    }
}

enum StateKind: Hashable, Sendable {
    /// `inCommand`: AUTHENTICATE, IDLE or APPEND runs; no command is admitted (the
    /// decoder hands over continuation lines or APPEND events only).
    case notAuthenticated, authenticated, selected, inCommand, logout
}

/// The two logged-in states: where IDLE and APPEND return to.
enum LoggedIn {
    case authenticated(UserSession)
    case selected(UserSession, SelectedMailbox)

    var user: UserSession {
        switch self {
        case .authenticated(let user), .selected(let user, _): return user
        }
    }

    var mailbox: SelectedMailbox? {
        if case .selected(_, let mailbox) = self { return mailbox }
        return nil
    }

    var state: SessionState {
        switch self {
        case .authenticated(let user): return .authenticated(user)
        case .selected(let user, let mailbox): return .selected(user, mailbox)
        }
    }
}

struct Authenticating {
    let tag: String
    let started: ContinuousClock.Instant
}

struct Idling {
    let tag: String
    let started: ContinuousClock.Instant
    let within: LoggedIn
    /// Rescans the folder and sends keep-alives (Commands/Idle.swift).
    let timer: Task<Void, Never>
}

/// A logged-in user: their Maildir tree and the slot they hold in the per-user
/// connection count (given back when the session ends).
final class UserSession: Sendable {
    let username: String
    let mailstore: Mailstore
    /// The user's Maildir++ quota (unlimited when no rule sets a limit).
    let quota: Quota
    init(username: String, mailstore: Mailstore, quota: QuotaLimits = .unlimited) {
        self.username = username
        self.mailstore = mailstore
        self.quota = Quota(store: mailstore, limits: quota)
    }
}
