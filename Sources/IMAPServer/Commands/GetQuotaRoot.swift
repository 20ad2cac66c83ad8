import IMAPProtocol
import MaildirStore

extension IMAPSession {
    /// RFC 9208 §4.1.2 GETQUOTAROOT: the folder's roots (the user's one root), then
    /// that root's QUOTA. A user without limits gets the QUOTAROOT line without a root
    /// and `OK No quota.` (Dovecot 2.3's answer).
    func handleGetQuotaRoot(tag: String, user: UserSession, name: MailboxName) async {
        guard let components = components(of: name) else {
            fail(tag, .invalidMailboxName)
            return
        }
        let store = user.mailstore
        do {
            _ = try await context.blocking { try store.existingFolder(components) }
        } catch {
            sendStoreFailure(tag, error, name: name)
            return
        }
        guard !user.quota.limits.isUnlimited else {
            writer.untagged(.quotaRoot(mailbox: name, roots: []))
            await finish(tag, "No quota.")
            return
        }
        guard let resources = await quotaResources(tag: tag, user.quota) else { return }
        writer.untagged(.quotaRoot(mailbox: name, roots: [Quota.rootName]))
        writer.untagged(.quota(root: Quota.rootName, resources))
        await finish(tag, "Getquotaroot completed.")
    }
}
