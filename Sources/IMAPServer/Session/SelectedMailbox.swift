import IMAPProtocol
import MaildirStore
import Synchronization

/// The selected folder of one session: the shared folder state, this session's view of
/// it, and the inbox where the folder's observer drops changes.
final class SelectedMailbox {
    let folder: SharedFolder
    let components: [String]
    let readOnly: Bool
    var view: MailboxView
    let inbox: ChangeInbox
    let observer: ObserverToken
    /// Result of the last `SEARCH … RETURN (SAVE)` (RFC 5182 `$`), as UIDs.
    var savedSearch: [StoreUID] = []

    init(
        folder: SharedFolder, components: [String], readOnly: Bool, view: MailboxView, inbox: ChangeInbox,
        observer: ObserverToken
    ) {
        self.folder = folder
        self.components = components
        self.readOnly = readOnly
        self.view = view
        self.inbox = inbox
        self.observer = observer
    }
}

/// Changes the folder reported and the session has not applied yet. The folder calls
/// `push` synchronously inside synchronize/store/expunge, before they return, so after
/// any of those calls the inbox already holds its changes: a NOOP that synchronizes and
/// then drains the inbox cannot miss what it found. `wake` tells an IDLE session.
final class ChangeInbox: Sendable {
    private let pending = Mutex<[FolderChange]>([])
    private let waker = Mutex<(@Sendable () -> Void)?>(nil)

    func push(_ changes: [FolderChange]) {
        pending.withLock { $0.append(contentsOf: changes) }
        if let wake = waker.withLock({ $0 }) { wake() }
    }

    func drain() -> [FolderChange] {
        pending.withLock { p in
            defer { p = [] }
            return p
        }
    }

    var isEmpty: Bool { pending.withLock { $0.isEmpty } }

    /// Set while IDLE (RFC 2177) runs, so changes are pushed at once.
    func setWaker(_ wake: (@Sendable () -> Void)?) { waker.withLock { $0 = wake } }
}
