import IMAPProtocol
import MaildirStore

extension IMAPSession {
    /// Reports what changed in the selected folder since the client last heard
    /// (RFC 9051 §7.5.1): EXPUNGE (VANISHED with QRESYNC) when allowed, EXISTS, FETCH
    /// FLAGS (with MODSEQ once CONDSTORE is enabled), and the new FLAGS /
    /// PERMANENTFLAGS when keywords appeared. Changes come from this session's own
    /// commands and from every other session and program through the folder's observer.
    func reportUpdates(allowExpunge: Bool) {
        guard let mailbox = state.selected else { return }
        guard let update = mailbox.takeUpdate(allowExpunge: allowExpunge) else {
            reportLiveSearches(mailbox, nil)
            return
        }
        defer { reportLiveSearches(mailbox, update) }
        if update.folderGone { mailbox.gone = true }
        reportLiveExpunges(mailbox, update)
        sendExpunges(update)
        if let exists = update.exists {
            writer.untagged(.exists(exists))
            reportRecent(mailbox, always: false)
        }
        if update.keywordsChanged { sendFlagsAndPermanentFlags(mailbox) }
        for change in update.flagChanges {
            writer.untagged(.fetch(change.sequenceNumber, flagChangeItems(change.record, mailbox)))
        }
    }

    /// `* FLAGS (…)` and `* OK [PERMANENTFLAGS (…)]` for the selected folder.
    func sendFlagsAndPermanentFlags(_ mailbox: SelectedMailbox) {
        let keywords = mailbox.view.keywords.map { Flag.keyword($0) }
        writer.untagged(.flags(Flag.systemFlags + keywords))
        if mailbox.readOnly {
            writer.untagged(.status(.ok, code: .permanentFlags([]), text: "Read-only mailbox."))
        } else {
            var permanent = (Flag.systemFlags + keywords).map { PermanentFlag.flag($0) }
            if mailbox.folder.snapshot.canCreateKeywords { permanent.append(.wildcard) }
            writer.untagged(.status(.ok, code: .permanentFlags(permanent), text: "Flags permitted."))
        }
    }

    /// Rescans the selected folder so changes by other programs reach the inbox. Cheap
    /// when nothing changed on disk (the store compares directory mtimes first).
    func synchronizeSelected() async {
        guard let mailbox = state.selected else { return }
        let folder = mailbox.folder
        let move = !mailbox.readOnly
        // Nothing changed on disk (a few stats, the folder lock only tried): no hop to
        // the pool and back.
        if folder.isSynchronized(moveNewToCur: move) { return }
        do {
            _ = try await context.blocking { try folder.synchronize(moveNewToCur: move) }
        } catch {
            noteSynchronize(.failure(error))
        }
    }

    /// `synchronizeSelected`, then `work`, in one pool job: a command that changes the
    /// folder (STORE) pays one hop to the pool and back, not two. `work` sees the state
    /// after the synchronize; what the synchronize found reaches the inbox as usual.
    func synchronizeSelected<T: Sendable>(then work: @escaping @Sendable () throws -> T) async throws -> T {
        guard let mailbox = state.selected, !mailbox.folder.isSynchronized(moveNewToCur: !mailbox.readOnly) else {
            return try await context.blocking(work)
        }
        let folder = mailbox.folder
        let move = !mailbox.readOnly
        let (synchronized, result) = try await context.blocking {
            (Result { _ = try folder.synchronize(moveNewToCur: move) }, Result { try work() })
        }
        noteSynchronize(synchronized)
        return try result.get()
    }

    private func noteSynchronize(_ result: Result<Void, any Error>) {
        switch result {
        case .success: break
        case .failure(StoreError.nonexistent):
            // Another session or program deleted or renamed the folder: the command
            // finishes, then the session says BYE (as Dovecot does), since no sequence
            // number the client holds means anything any more.
            noteSelectedMailboxGone()
        case .failure(let error):
            logger.error("synchronize failed", metadata: ["error": .client("\(error)")])
        }
    }

    /// Outside a command (IDLE): when the selected folder vanished, says BYE and closes
    /// the connection at once, as Dovecot does (`* BYE Selected mailbox was deleted,
    /// have to disconnect.`). Returns true when it did. Chosen over RFC 9051 §7.1's
    /// alternative of staying selected: no sequence number the client holds means
    /// anything any more, and Dovecot's clients already handle this BYE.
    func byeIfSelectedMailboxGone() async -> Bool {
        guard selectedMailboxGone else { return false }
        endIdle()
        writer.untagged(.status(.bye, code: nil, text: SessionText.selectedMailboxGone))
        await flushOutput()
        try? await writer.channel.close()
        return true
    }
}
