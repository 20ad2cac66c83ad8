import IMAPProtocol
import MaildirStore

extension IMAPSession {
    /// IMAP4rev1 LSUB (RFC 3501 §6.3.9): the subscribed names matching the pattern, with
    /// \Noselect for those that are not selectable folders now, and the unsubscribed
    /// parents `%` stops at, as \Noselect.
    func handleLsub(tag: String, reference: MailboxName, pattern: String) async {
        guard let user = state.user else { return }
        let store = user.mailstore
        let subscribed: [[String]]
        let folders: [FolderEntry]
        do {
            (subscribed, folders) = try await context.blocking { (try store.subscriptions(), try store.listFolders()) }
        } catch {
            sendStoreFailure(tag, error, name: reference)
            return
        }
        guard let referenceText = decodeWire(reference.rawValue), let patternText = decodeWire(pattern) else {
            await finish(tag, "Lsub completed.")
            return
        }
        let matcher = MailboxPattern(referenceText + patternText, delimiter: delimiter)
        let selectable = Set(folders.filter(\.isSelectable).map(\.components))
        let subscribedSet = Set(subscribed)
        let separator = String(delimiter)
        var listed = Set<[String]>()
        for components in subscribed {
            var attributes: [String] = []
            var name = components
            if !matcher.matches(components.joined(separator: separator)) {
                // RFC 3501 §6.3.9: `%` stops at a level whose child is subscribed but
                // which is not: that level is returned with \Noselect.
                guard
                    let parent = (1..<max(components.count, 1)).lazy.map({ Array(components.prefix($0)) }).first(
                        where: { matcher.matches($0.joined(separator: separator)) && !subscribedSet.contains($0) })
                else { continue }
                name = parent
                attributes = ["\\Noselect"]
            } else if !selectable.contains(components) {
                attributes = ["\\Noselect"]
            }
            guard listed.insert(name).inserted else { continue }
            writer.untagged(.lsub(MailboxListEntry(attributes: attributes, delimiter: delimiter, name: wireName(name))))
        }
        await finish(tag, "Lsub completed.")
    }
}
