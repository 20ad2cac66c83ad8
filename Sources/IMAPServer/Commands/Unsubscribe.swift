import IMAPProtocol

extension IMAPSession {
    /// RFC 9051 §6.3.8 UNSUBSCRIBE: removes the name from the `subscriptions` file. Like
    /// Dovecot, unsubscribing a name that is not subscribed succeeds.
    func handleUnsubscribe(tag: String, user: UserSession, name: MailboxName) async {
        await setSubscription(tag: tag, user: user, name: name, subscribed: false)
    }
}
