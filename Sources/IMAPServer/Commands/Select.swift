import IMAPProtocol
import MaildirStore

extension IMAPSession {
    /// RFC 9051 §6.3.2 SELECT and §6.3.3 EXAMINE, with RFC 7162's CONDSTORE and
    /// QRESYNC parameters.
    func handleSelect(tag: String, user: UserSession, name: MailboxName, parameters: SelectParameters, readOnly: Bool)
        async
    {
        if let qresync = parameters.qresync {
            // A BAD leaves the selected mailbox as it was: nothing was executed.
            guard qresyncEnabled else {
                fail(tag, .qresyncNotEnabled)
                return
            }
            guard QResyncRequest.isWellFormed(qresync) else {
                fail(tag, .invalidQResyncParameters)
                return
            }
        }
        // §6.3.2: selecting (even failing to) first deselects; rev2 clients are told,
        // and so are QRESYNC clients (RFC 7162 §3.2.11).
        if state.selected != nil {
            deselect()
            if rev2Enabled || qresyncEnabled {
                writer.untagged(.status(.ok, code: .closed, text: "Previous mailbox closed."))
            }
        }
        if parameters.condstore { enableCondstore() }
        guard let components = components(of: name) else {
            fail(tag, .invalidMailboxName)
            return
        }
        let store = user.mailstore
        let registry = context.registry
        let folder: SharedFolder
        do {
            folder = try await context.blocking {
                try registry.open(directory: try store.existingFolder(components), store: store)
            }
        } catch {
            sendStoreFailure(tag, error, name: name)
            return
        }
        // Observe before the snapshot: a change racing with the scan then lands in the
        // inbox, and applying a change the snapshot already has is a no-op.
        let inbox = ChangeInbox()
        let token = folder.addObserver { inbox.push($0) }
        let snapshot: FolderSnapshot
        do {
            snapshot = try await context.blocking {
                // Files an interrupted APPEND or COPY left in tmp/ go after 36 hours.
                if !readOnly { folder.removeStaleTemporaryFiles() }
                return try folder.synchronize(moveNewToCur: !readOnly)
            }
        } catch {
            folder.removeObserver(token)
            registry.release(folder)
            sendStoreFailure(tag, error, name: name)
            return
        }
        let mailbox = SelectedMailbox(
            folder: folder, components: components, readOnly: readOnly, view: MailboxView(snapshot: snapshot),
            inbox: inbox, observer: token)
        enterSelected(user, mailbox)

        sendFlagsAndPermanentFlags(mailbox)
        writer.untagged(.exists(mailbox.view.count))
        // IMAP4rev1 (RFC 3501 §6.3.1): RECENT and the first unseen message.
        reportRecent(mailbox, always: true)
        if !rev2Enabled {
            if let firstUnseen = mailbox.view.records.firstIndex(where: { !$0.flags.system.contains(.seen) }) {
                writer.untagged(
                    .status(
                        .ok, code: .unseen(MailboxView.sequenceNumber(atIndex: firstUnseen)), text: "First unseen."))
            }
        }
        writer.untagged(.status(.ok, code: .uidValidity(snapshot.uidValidity.wire), text: "UIDs valid."))
        writer.untagged(.status(.ok, code: .uidNext(snapshot.uidNext.wire), text: "Predicted next UID."))
        // RFC 7162 §3.1.2.1 (RFC 4551 §3.1.1: on every successful SELECT/EXAMINE of a
        // mailbox with persistent mod-sequences). Dovecot sends it to every client once
        // the mailbox tracks mod-sequences, which ours always do; a client that knows
        // nothing of CONDSTORE ignores the unknown code (RFC 9051 §7.1).
        sendHighestModSeq(mailbox)
        if rev2Enabled {
            // RFC 9051 §6.3.2: a LIST response for the selected mailbox.
            writer.untagged(.list(MailboxListEntry(attributes: [], delimiter: delimiter, name: wireName(components))))
        }
        // RFC 7162 §3.2.5: with the UIDVALIDITY the client cached, only what changed.
        if let qresync = parameters.qresync, qresync.uidValidity.rawValue == snapshot.uidValidity.rawValue {
            await resynchronize(mailbox, QResyncRequest(qresync, view: mailbox.view))
        }
        writer.tagged(
            tag, .ok, readOnly ? .readOnly : .readWrite, readOnly ? "Examine completed." : "Select completed.")
    }
}
