import IMAPProtocol

/// RFC 9051 §6: which states admit each command, and whether it may report EXPUNGE
/// (§7.5.1 forbids EXPUNGE responses during FETCH, STORE and SEARCH, but not their UID
/// forms). One row per command; the session consults this before any handler runs.
struct CommandSpec {
    let states: Set<StateKind>
    let mayReportExpunge: Bool

    static let anyState = CommandSpec(states: [.notAuthenticated, .authenticated, .selected], mayReportExpunge: true)
    static let notAuthenticated = CommandSpec(states: [.notAuthenticated], mayReportExpunge: true)
    static let authenticated = CommandSpec(states: [.authenticated, .selected], mayReportExpunge: true)
    static let selected = CommandSpec(states: [.selected], mayReportExpunge: true)
    static let selectedNoExpunge = CommandSpec(states: [.selected], mayReportExpunge: false)

    static func of(_ command: Command) -> CommandSpec {
        switch command {
        case .capability, .noop, .logout, .id, .enable: return .anyState
        case .starttls, .authenticate, .login: return .notAuthenticated
        case .select, .examine, .create, .delete, .rename, .subscribe, .unsubscribe, .list, .lsub, .namespace,
            .status, .append, .idle, .compress, .getQuota, .getQuotaRoot, .setQuota:
            return .authenticated
        case .check, .close, .unselect, .expunge, .uidExpunge, .copy, .move, .cancelUpdate: return .selected
        case .search(let kind, _), .sort(let kind, _), .thread(let kind, _):
            return kind == .uid ? .selected : .selectedNoExpunge
        case .fetch(let set, _, _), .store(let set, _, _): return set.isUID ? .selected : .selectedNoExpunge
        }
    }
}
