import IMAPProtocol
import MaildirStore

extension IMAPSession {
    /// RFC 9051 §6.3.5 DELETE. INBOX is refused. The folder and its messages go; its
    /// children stay, so the name then lists as \Noselect. Deleting a name that only
    /// exists as the parent of others (\Noselect) is refused with [HASCHILDREN]. When this
    /// session has the folder selected it is deselected first (`* OK [CLOSED]`), so it
    /// never works on a directory that no longer exists.
    func handleDelete(tag: String, user: UserSession, name: MailboxName) async {
        guard let components = components(of: name) else {
            fail(tag, .invalidMailboxName)
            return
        }
        if components == [FolderNames.inbox] {
            fail(tag, .inboxCannotBeDeleted)
            return
        }
        if let selected = state.selected, selected.components == components {
            deselect()
            writer.untagged(.status(.ok, code: .closed, text: "Selected mailbox is being deleted."))
        }
        let store = user.mailstore
        let quota = user.quota
        do {
            try await context.blocking {
                // What the folder holds is counted first and recorded once it is gone.
                let freed = quota.limits.isUnlimited ? nil : try store.quotaUsage(ofFolder: components)
                try store.deleteFolder(components)
                if let freed { quota.record(bytes: -freed.bytes, messages: -freed.messages) }
            }
        } catch StoreError.nonexistent {
            // §6.3.5: a \Noselect name with children cannot be deleted.
            let hasChildren =
                (try? await context.blocking {
                    try store.listFolders().contains {
                        $0.components.starts(with: components) && $0.components.count > components.count
                    }
                }) ?? false
            if hasChildren {
                fail(tag, .hasChildren)
            } else {
                fail(tag, .nonexistent(name))
            }
            return
        } catch {
            sendStoreFailure(tag, error, name: name)
            return
        }
        await finish(tag, "Delete completed.")
    }
}
