import IMAPProtocol
import MaildirStore

/// RFC 9051 §3 connection states. The session holds exactly one; the command table
/// says which commands each admits, so a command in the wrong state never reaches a
/// handler.
enum SessionState {
    case notAuthenticated
    case authenticated(UserSession)
    case selected(UserSession, SelectedMailbox)
    case logout

    var kind: StateKind {
        switch self {
        case .notAuthenticated: return .notAuthenticated
        case .authenticated: return .authenticated
        case .selected: return .selected
        case .logout: return .logout
        }
    }

    var user: UserSession? {
        switch self {
        case .authenticated(let u), .selected(let u, _): return u
        case .notAuthenticated, .logout: return nil
        }
    }

    var selected: SelectedMailbox? {
        if case .selected(_, let mailbox) = self { return mailbox }
        return nil
    }
}

enum StateKind: Hashable, Sendable {
    case notAuthenticated, authenticated, selected, logout
}

/// A logged-in user: their Maildir tree and the slot they hold in the per-user
/// connection count (given back when the session ends).
final class UserSession: Sendable {
    let username: String
    let mailstore: Mailstore
    init(username: String, mailstore: Mailstore) {
        self.username = username
        self.mailstore = mailstore
    }
}
