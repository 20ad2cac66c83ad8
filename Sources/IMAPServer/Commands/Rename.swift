import IMAPProtocol
import MaildirStore

extension IMAPSession {
    /// RFC 9051 §6.3.6 RENAME. Children move with their parent (the store renames each
    /// `.Old.X` directory); the folder keeps its UIDVALIDITY. Renaming INBOX moves all
    /// its messages into a new folder of that name and leaves INBOX empty (§6.3.6).
    /// A session that has the renamed folder (or a child) selected is deselected first
    /// (`* OK [CLOSED]`): its directory is about to change name.
    func handleRename(tag: String, user: UserSession, from: MailboxName, to: MailboxName) async {
        guard let source = components(of: from), let target = components(of: to) else {
            fail(tag, .invalidMailboxName)
            return
        }
        if target == [FolderNames.inbox] {
            fail(tag, .inboxAlwaysExists)
            return
        }
        let store = user.mailstore
        if source == [FolderNames.inbox] {
            await renameInbox(tag: tag, to: target, name: to, store: store)
            return
        }
        if let selected = state.selected, selected.components.starts(with: source) {
            deselect()
            writer.untagged(.status(.ok, code: .closed, text: "Selected mailbox is being renamed."))
        }
        do {
            try await context.blocking {
                // A folder whose directory resolves outside the mail root (a planted
                // symlink) is refused (.invalidName); a missing or \Noselect one is
                // left to renameFolder, which renames its children.
                do {
                    _ = try store.existingFolder(source)
                } catch StoreError.nonexistent {}
                try store.renameFolder(source, to: target)
            }
        } catch StoreError.nonexistent {
            fail(tag, .nonexistent(from))
            return
        } catch {
            sendStoreFailure(tag, error, name: to)
            return
        }
        await finish(tag, "Rename completed.")
    }

    /// RENAME INBOX: creates the target, then MOVEs every INBOX message into it. An
    /// interruption leaves each message in one of the two folders (the store's move
    /// links before it expunges), never in neither.
    private func renameInbox(tag: String, to target: [String], name: MailboxName, store: Mailstore) async {
        let registry = context.registry
        do {
            try await context.blocking {
                try store.createFolder(target)
                let inbox = try registry.open(
                    directory: try store.existingFolder([FolderNames.inbox]), store: store)
                defer { registry.release(inbox) }
                let destination = try registry.open(directory: try store.existingFolder(target), store: store)
                defer { registry.release(destination) }
                let uids = try inbox.synchronize(moveNewToCur: false).messages.map(\.uid)
                if !uids.isEmpty { _ = try inbox.move(uids, to: destination) }
            }
        } catch {
            sendStoreFailure(tag, error, name: name)
            return
        }
        await finish(tag, "Rename completed.")
    }
}
