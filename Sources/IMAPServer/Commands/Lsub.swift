import IMAPProtocol
import MaildirStore

extension IMAPSession {
    /// IMAP4rev1 LSUB (RFC 3501 §6.3.9): the subscribed names matching the pattern, and
    /// the unsubscribed parents `%` stops at, as \Noselect. A subscribed name gets no
    /// attribute whether or not its folder exists, as Dovecot answers: clients (Dovecot's
    /// own imapc among them) read \Noselect in LSUB as "not subscribed" and would drop
    /// the subscription. LIST (SUBSCRIBED) is where \NonExistent shows.
    func handleLsub(tag: String, user: UserSession, reference: MailboxName, pattern: String) async {
        let store = user.mailstore
        let subscribed: [[String]]
        do {
            subscribed = try await context.blocking { try store.subscriptions() }
        } catch {
            sendStoreFailure(tag, error, name: reference)
            return
        }
        guard let referenceText = decodeWire(reference.rawValue), let patternText = decodeWire(pattern) else {
            await finish(tag, "Lsub completed.")
            return
        }
        let matcher = MailboxPattern(referenceText + patternText, delimiter: delimiter)
        let subscribedSet = Set(subscribed)
        let separator = String(delimiter)
        var listed = Set<[String]>()
        for components in subscribed {
            var attributes: [MailboxAttribute] = []
            var name = components
            if !matcher.matches(components.joined(separator: separator)) {
                // RFC 3501 §6.3.9: `%` stops at a level whose child is subscribed but
                // which is not: that level is returned with \Noselect.
                guard
                    let parent = (1..<max(components.count, 1)).lazy.map({ Array(components.prefix($0)) }).first(
                        where: { matcher.matches($0.joined(separator: separator)) && !subscribedSet.contains($0) })
                else { continue }
                name = parent
                attributes = [.noselect]
            }
            guard listed.insert(name).inserted else { continue }
            writer.untagged(.lsub(MailboxListEntry(attributes: attributes, delimiter: delimiter, name: wireName(name))))
        }
        await finish(tag, "Lsub completed.")
    }
}
