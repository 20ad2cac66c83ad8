import IMAPProtocol
import MaildirStore

extension IMAPSession {
    /// RFC 9051 §6.3.7 SUBSCRIBE: adds the name to Dovecot's `subscriptions` file. The
    /// folder need not exist.
    func handleSubscribe(tag: String, user: UserSession, name: MailboxName) async {
        await setSubscription(tag: tag, user: user, name: name, subscribed: true)
    }

    func setSubscription(tag: String, user: UserSession, name: MailboxName, subscribed: Bool) async {
        guard let components = components(of: name) else {
            fail(tag, .invalidMailboxName)
            return
        }
        let store = user.mailstore
        do {
            try await context.blocking { try store.setSubscribed(components, subscribed) }
        } catch {
            sendStoreFailure(tag, error, name: name)
            return
        }
        await finish(tag, subscribed ? "Subscribe completed." : "Unsubscribe completed.")
    }
}
