import IMAPProtocol
import MaildirStore

extension IMAPSession {
    /// RFC 9051 §6.3.9 LIST (basic form; `*` and `%` anywhere in the pattern) and the
    /// IMAP4rev1 LSUB.
    func handleList(tag: String, _ list: ListCommand) async {
        guard let user = state.user else { return }
        // §6.3.9: an empty pattern asks for the delimiter and the root.
        if list.patterns.allSatisfy({ $0.isEmpty }) {
            writer.untagged(
                .list(MailboxListEntry(attributes: ["\\Noselect"], delimiter: delimiter, name: MailboxName(""))))
            await finish(tag, "List completed.")
            return
        }
        let store = user.mailstore
        let folders: [FolderEntry]
        do {
            folders = try await context.blocking { try store.listFolders() }
        } catch {
            sendStoreFailure(tag, error, name: list.reference)
            return
        }
        let patterns = list.patterns.compactMap { pattern -> MailboxPattern? in
            guard let reference = decodeWire(list.reference.rawValue), let text = decodeWire(pattern) else {
                return nil
            }
            return MailboxPattern(reference + text, delimiter: delimiter)
        }
        for folder in folders {
            let name = folder.components.joined(separator: String(delimiter))
            guard patterns.contains(where: { $0.matches(name) }) else { continue }
            var attributes: [String] = []
            if !folder.isSelectable { attributes.append("\\Noselect") }
            attributes.append(folder.hasChildren ? "\\HasChildren" : "\\HasNoChildren")
            if let use = SpecialUse.attribute(for: folder.components) { attributes.append(use) }
            writer.untagged(
                .list(MailboxListEntry(attributes: attributes, delimiter: delimiter, name: wireName(folder.components)))
            )
        }
        await finish(tag, "List completed.")
    }
}

/// RFC 6154 special-use attributes from the usual folder names (top level only).
enum SpecialUse {
    static let byName: [String: String] = [
        "sent": "\\Sent", "sent messages": "\\Sent", "sent items": "\\Sent",
        "drafts": "\\Drafts",
        "trash": "\\Trash", "deleted messages": "\\Trash", "deleted items": "\\Trash",
        "junk": "\\Junk", "spam": "\\Junk",
        "archive": "\\Archive",
    ]

    static func attribute(for components: [String]) -> String? {
        guard components.count == 1 else { return nil }
        return byName[components[0].lowercased()]
    }
}

/// A LIST pattern (RFC 9051 §6.3.9): `*` matches anything, `%` anything but the
/// delimiter. Matched by dynamic programming over characters, so a pattern full of
/// wildcards costs O(pattern × name), never exponential time. INBOX matches
/// case-insensitively.
struct MailboxPattern {
    let pattern: [Character]
    let delimiter: Character

    init(_ text: String, delimiter: Character) {
        var chars = Array(text)
        // INBOX is case-insensitive: normalise a leading "inbox" in the pattern.
        if chars.count >= 5, String(chars[0..<5]).uppercased() == "INBOX",
            chars.count == 5 || chars[5] == delimiter
        {
            chars.replaceSubrange(0..<5, with: Array("INBOX"))
        }
        pattern = chars
        self.delimiter = delimiter
    }

    func matches(_ name: String) -> Bool {
        let text = Array(name)
        // reachable[j]: pattern prefix consumed so far can match text prefix of length j.
        var reachable = [Bool](repeating: false, count: text.count + 1)
        reachable[0] = true
        for p in pattern {
            var next = [Bool](repeating: false, count: text.count + 1)
            switch p {
            case "*":
                var any = false
                for j in 0...text.count {
                    any = any || reachable[j]
                    next[j] = any
                }
            case "%":
                for j in 0...text.count {
                    if reachable[j] {
                        next[j] = true
                    } else if j > 0, next[j - 1], text[j - 1] != delimiter {
                        next[j] = true
                    }
                }
            default:
                for j in 1..<(text.count + 1) where reachable[j - 1] && text[j - 1] == p { next[j] = true }
            }
            reachable = next
        }
        return reachable[text.count]
    }
}
