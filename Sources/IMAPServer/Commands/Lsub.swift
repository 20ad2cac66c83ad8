import IMAPProtocol
import MaildirStore

extension IMAPSession {
    /// IMAP4rev1 LSUB (RFC 3501 §6.3.9): the subscribed names matching the pattern, with
    /// \Noselect for those that are not selectable folders now.
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
        for components in subscribed {
            guard matcher.matches(components.joined(separator: String(delimiter))) else { continue }
            let attributes = selectable.contains(components) ? [] : ["\\Noselect"]
            writer.untagged(
                .lsub(MailboxListEntry(attributes: attributes, delimiter: delimiter, name: wireName(components))))
        }
        await finish(tag, "Lsub completed.")
    }
}
