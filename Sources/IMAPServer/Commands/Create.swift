import IMAPProtocol
import MaildirStore

extension IMAPSession {
    /// RFC 9051 §6.3.4 CREATE, with RFC 6154 §3 `USE (…)` (CREATE-SPECIAL-USE). The
    /// folder is created as a Maildir++ `.A.B` directory with `maildirfolder`; parents
    /// are not created (they list as \Noselect \HasChildren until created).
    /// A USE list is kept for any name in the user's `imapd-special-use` file (LIST shows
    /// it, also after a restart); an attribute RFC 6154 §2 does not define gets
    /// NO [USEATTR] and nothing is created (§3: the mailbox is created with its special
    /// use or not at all).
    func handleCreate(tag: String, user: UserSession, name: MailboxName, specialUse: [String]) async {
        guard let components = components(of: name) else {
            fail(tag, .invalidMailboxName)
            return
        }
        if components == [FolderNames.inbox] {
            fail(tag, .inboxAlwaysExists)
            return
        }
        var uses: [String] = []
        for attribute in specialUse {
            guard let known = MailboxAttribute(specialUse: attribute)?.rawValue else {
                fail(tag, .unknownSpecialUse(attribute))
                return
            }
            if !uses.contains(known) { uses.append(known) }
        }
        let store = user.mailstore
        let attributes = uses
        do {
            _ = try await context.blocking {
                try store.createFolder(components)
                guard !attributes.isEmpty else { return }
                do {
                    try store.setSpecialUse(components, attributes)
                } catch {
                    try? store.deleteFolder(components)
                    throw error
                }
            }
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
    static let tooBig = "TOOBIG"  // RFC 4469 §5
}
