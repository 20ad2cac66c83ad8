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
    /// RFC 5267 §4 searches kept up to date (Session/LiveSearch.swift); they end with
    /// the selection.
    var liveSearches: [LiveSearch] = []
    /// Messages whose flags this session's own STOREs changed since the live searches
    /// last looked (other changes arrive through the inbox).
    var liveDirty: Set<StoreUID> = []
    /// The messages \Recent in this session (IMAP4rev1, Session/Recent.swift).
    var recent = RecentUIDs()
    /// The folder's directory vanished (deleted or renamed elsewhere): the session says
    /// BYE once the command ends (Session/Transitions.swift).
    var gone = false
    /// The highest MODSEQ value sent in a FETCH or SEARCH response since the last
    /// completion that could carry HIGHESTMODSEQ (Session/Condstore.swift).
    var highestModSeqSent = ModSeq(0)
    /// The HIGHESTMODSEQ the client was last given while no expunge was pending.
    var highestModSeqTold: ModSeq

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
        highestModSeqTold = view.highestModSeq
    }

    /// Applies what the inbox gathered to the view (nil when there is nothing to
    /// report). Then, the client being told everything, the view's private records go
    /// back to the folder's shared snapshot when it says the same (MailboxView
    /// compaction): an IDLE session's memory does not grow with every delivery.
    func takeUpdate(allowExpunge: Bool) -> MailboxView.Update? {
        let changes = inbox.drain()
        guard !changes.isEmpty || (allowExpunge && !view.expungedUnreported.isEmpty) else { return nil }
        let update = view.apply(changes, allowExpunge: allowExpunge)
        if view.wantsRebase { view.rebase(onto: folder.snapshot) }
        return update
    }
}

/// Changes the folder reported and the session has not applied yet. The folder calls
/// `push` synchronously inside synchronize/store/expunge, before they return, so after
/// any of those calls the inbox already holds its changes: a NOOP that synchronizes and
/// then drains the inbox cannot miss what it found. `wake` tells an IDLE session.
///
/// The waker is kept in a class box, never as a bare closure inside the Mutex: every
/// `withLock` access to a closure stored at the Mutex's generic abstraction wraps it in
/// two more reabstraction thunks and stores it back, so after k pushes a wake-up ran
/// through 2k thunks (delivery latency growing with every message during one IDLE, and
/// eventually a stack overflow). A class reference is never reabstracted.
final class ChangeInbox: Sendable {
    private final class Waker: Sendable {
        let wake: @Sendable () -> Void
        init(_ wake: @escaping @Sendable () -> Void) { self.wake = wake }
    }

    private let pending = Mutex<[FolderChange]>([])
    private let waker = Mutex<Waker?>(nil)

    func push(_ changes: [FolderChange]) {
        pending.withLock { $0.append(contentsOf: changes) }
        if let waker = waker.withLock({ $0 }) { waker.wake() }
    }

    func drain() -> [FolderChange] {
        pending.withLock { p in
            defer { p = [] }
            return p
        }
    }

    var isEmpty: Bool { pending.withLock { $0.isEmpty } }

    /// Set while IDLE (RFC 2177) runs, so changes are pushed at once.
    func setWaker(_ wake: (@Sendable () -> Void)?) {
        let box = wake.map { Waker($0) }
        waker.withLock { $0 = box }
    }
}
