import IMAPProtocol
import MaildirStore

extension IMAPSession {
    /// RFC 9051 §6.3.4 CREATE, with RFC 6154 §3 `USE (…)` (CREATE-SPECIAL-USE). The
    /// folder is created as a Maildir++ `.A.B` directory with `maildirfolder`; parents
    /// are not created (they list as \Noselect \HasChildren until created).
    /// Special-use attributes come from the folder's name (SpecialUse), so a USE list is
    /// accepted only when it names the attribute that name already carries; otherwise
    /// NO [USEATTR] (RFC 6154 §3).
    func handleCreate(tag: String, name: MailboxName, specialUse: [String]) async {
        guard let user = state.user else { return }
        guard let components = components(of: name) else {
            writer.tagged(tag, .no, .cannot, "Invalid mailbox name.")
            return
        }
        if components == [FolderNames.inbox] {
            writer.tagged(tag, .no, .alreadyExists, "INBOX always exists.")
            return
        }
        if !specialUse.isEmpty {
            let implied = SpecialUse.attribute(for: components, configured: context.config.specialUse)?.lowercased()
            guard specialUse.allSatisfy({ $0.lowercased() == implied }) else {
                writer.tagged(
                    tag, .no, .other(ResponseCodeName.useAttr, nil),
                    "This server derives special use from the folder name; use a name such as Sent, Drafts, Trash, Junk or Archive."
                )
                return
            }
        }
        let store = user.mailstore
        do {
            _ = try await context.blocking { try store.createFolder(components) }
        } catch {
            sendStoreFailure(tag, error, name: name)
            return
        }
        await finish(tag, "Create completed.")
    }
}

/// Names used by the folder commands.
enum FolderNames {
    static let inbox = "INBOX"
}

/// Response codes the codec has no case for (RFC 6154 §6).
enum ResponseCodeName {
    static let useAttr = "USEATTR"
}
