import IMAPProtocol
import MaildirStore

/// The session's state transitions (RFC 9051 §3, figure in §3.5), each in one place.
/// Handlers change the state only through these.
extension IMAPSession {
    /// §6.2.2: AUTHENTICATE sent its `+`; the next input is the client's response.
    func beginAuthenticate(tag: String) {
        state = .authenticating(Authenticating(tag: tag, started: inputStarted))
    }

    /// AUTHENTICATE got its line (or it was refused): not authenticated until the
    /// credentials are checked.
    func endAuthenticate() {
        guard case .authenticating = state else { return }
        state = .notAuthenticated
    }

    /// LOGIN or AUTHENTICATE succeeded (§6.2.2, §6.2.3).
    func enterAuthenticated(_ user: UserSession) {
        state = .authenticated(user)
    }

    /// SELECT or EXAMINE succeeded (§6.3.2); the previous mailbox was deselected.
    func enterSelected(_ user: UserSession, _ mailbox: SelectedMailbox) {
        state = .selected(user, mailbox)
    }

    /// Leaves the selected state without expunging (CLOSE, UNSELECT, a new SELECT).
    func deselect() {
        guard case .selected(let user, let mailbox) = state else { return }
        mailbox.folder.removeObserver(mailbox.observer)
        context.registry.release(mailbox.folder)
        state = .authenticated(user)
    }

    /// IDLE runs (RFC 2177); false when not logged in (the command table prevents it).
    func beginIdle(tag: String, timer: Task<Void, Never>) -> Bool {
        guard let within = state.loggedIn else { return false }
        state = .idling(Idling(tag: tag, started: inputStarted, within: within, timer: timer))
        return true
    }

    /// Stops pushing: the session is back in the selected (or authenticated) state.
    func endIdle() {
        guard case .idling(let idling) = state else { return }
        idling.timer.cancel()
        idling.within.mailbox?.inbox.setWaker(nil)
        state = idling.within.state
    }

    /// A streamed APPEND began (§6.3.12); false when not logged in.
    func beginAppend(tag: String, name: MailboxName, folder: SharedFolder) -> Bool {
        guard let within = state.loggedIn else { return false }
        state = .appending(AppendStream(tag: tag, name: name, folder: folder, within: within, started: inputStarted))
        return true
    }

    /// One more message of the streamed APPEND is being written to tmp/; false when the
    /// APPEND ended meanwhile (the connection closed).
    func appendPending(_ message: PendingAppend) -> Bool {
        guard case .appending(var stream) = state else { return false }
        stream.messages.append(message)
        state = .appending(stream)
        return true
    }

    /// Ends the streamed APPEND (the caller commits or drops its messages): the session
    /// is back where it was before it.
    func endAppend() -> AppendStream? {
        guard case .appending(let stream) = state else { return nil }
        state = stream.within.state
        return stream
    }

    /// The selected folder vanished (deleted or renamed elsewhere): once the command
    /// ends the session says BYE (`handle`, `byeIfSelectedMailboxGone`).
    func noteSelectedMailboxGone() {
        state.selected?.gone = true
    }

    var selectedMailboxGone: Bool { state.selected?.gone == true }
}
