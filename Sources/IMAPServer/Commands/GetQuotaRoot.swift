import IMAPProtocol
import MaildirStore

extension IMAPSession {
    /// RFC 9208 §4.1.2 GETQUOTAROOT: the folder's roots (the user's one root), then
    /// that root's QUOTA. A user without limits gets the QUOTAROOT line without a root
    /// and `OK No quota.` (Dovecot 2.3's answer). Every valid name has the root, whether
    /// the folder exists yet or not, as in Dovecot 2.3: it is where the folder's
    /// messages would count.
    func handleGetQuotaRoot(tag: String, user: UserSession, name: MailboxName) async {
        guard let components = components(of: name) else {
            fail(tag, .invalidMailboxName)
            return
        }
        do {
            _ = try user.mailstore.directory(for: components)  // the name's checks; no disk access
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
