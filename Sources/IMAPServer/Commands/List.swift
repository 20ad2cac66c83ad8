import IMAPProtocol
import MaildirStore

extension IMAPSession {
    /// RFC 9051 §6.3.9 LIST (`*` and `%` anywhere in the pattern) with LIST-EXTENDED
    /// (RFC 5258) selection options SUBSCRIBED, REMOTE (no remote mailboxes here),
    /// RECURSIVEMATCH and SPECIAL-USE (RFC 6154 §3), and return options SUBSCRIBED,
    /// CHILDREN (always sent, except on the parents RECURSIVEMATCH adds, which get it
    /// when asked for, as Dovecot answers), SPECIAL-USE (always sent) and STATUS
    /// (LIST-STATUS, RFC 5819). Any other option is a BAD.
    func handleList(tag: String, user: UserSession, _ list: ListCommand) async {
        let selection = Set(list.selectionOptions.map { $0.uppercased() })
        // RFC 5258 §3: an option the server does not know is a BAD, as Dovecot answers;
        // silently ignoring it would give a result the client did not ask for.
        guard selection.isSubset(of: ListOption.selectionOptions) else {
            fail(tag, .unknownSelectionOptions)
            return
        }
        guard !list.returnOptions.contains(where: { if case .other = $0 { true } else { false } }) else {
            fail(tag, .unknownReturnOptions)
            return
        }
        let selectSubscribed = selection.contains(ListOption.subscribed)
        let selectSpecialUse = selection.contains(ListOption.specialUse)
        // RFC 5258 §3: RECURSIVEMATCH alone is a syntax error.
        if selection.contains(ListOption.recursiveMatch) && !selectSubscribed && !selectSpecialUse {
            fail(tag, .recursiveMatchAlone)
            return
        }
        // §6.3.9: an empty pattern asks for the delimiter and the root.
        if list.patterns.allSatisfy({ $0.isEmpty }) {
            writer.untagged(
                .list(MailboxListEntry(attributes: [.noselect], delimiter: delimiter, name: MailboxName(""))))
            await finish(tag, "List completed.")
            return
        }
        let returnSubscribed = selectSubscribed || list.returnOptions.contains(.subscribed)
        let statusAttributes = list.returnOptions.compactMap { option -> [StatusAttribute]? in
            if case .status(let attributes) = option { return attributes }
            return nil
        }.first
        let store = user.mailstore
        let folders: [FolderEntry]
        let subscribed: [[String]]
        let stored: [[String]: [String]]
        do {
            (folders, subscribed, stored) = try await context.blocking {
                (
                    try store.listFolders(), returnSubscribed ? try store.subscriptions() : [],
                    (try? store.specialUses()) ?? [:]
                )
            }
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
        let separator = String(delimiter)
        func matches(_ components: [String]) -> Bool {
            let name = components.joined(separator: separator)
            return patterns.contains { $0.matches(name) }
        }
        let subscribedSet = Set(subscribed)
        var entries: [(components: [String], attributes: [MailboxAttribute], childInfo: Bool, selectable: Bool)] = []
        if selectSubscribed {
            // RFC 5258 §3: subscribed names, existing or not, plus (RECURSIVEMATCH) the
            // parents that match while only a child is subscribed: CHILDINFO.
            let byName = Dictionary(folders.map { ($0.components, $0) }, uniquingKeysWith: { first, _ in first })
            var listed = Set<[String]>()
            for components in subscribed where matches(components) {
                let folder = byName[components]
                var attributes: [MailboxAttribute] = [.subscribed]
                if folder == nil { attributes.append(.nonExistent) }
                if let folder {
                    if !folder.isSelectable { attributes.append(.noselect) }
                    attributes.append(.children(folder.hasChildren))
                    attributes += SpecialUse.attributes(
                        for: components, configured: context.config.specialUse, stored: stored)
                }
                listed.insert(components)
                entries.append((components, attributes, false, folder?.isSelectable ?? false))
            }
            if selection.contains(ListOption.recursiveMatch) {
                for components in subscribed where !matches(components) {
                    for depth in stride(from: components.count - 1, through: 1, by: -1) {
                        let parent = Array(components.prefix(depth))
                        guard matches(parent), !listed.contains(parent) else { continue }
                        listed.insert(parent)
                        let folder = byName[parent]
                        var attributes: [MailboxAttribute] = folder == nil ? [.nonExistent] : []
                        if let folder, !folder.isSelectable { attributes.append(.noselect) }
                        // RETURN (CHILDREN) asks for it on every entry, these included.
                        if let folder, list.returnOptions.contains(.children) {
                            attributes.append(.children(folder.hasChildren))
                        }
                        entries.append((parent, attributes, true, folder?.isSelectable ?? false))
                    }
                }
            }
        } else {
            for folder in folders where matches(folder.components) {
                let uses = SpecialUse.attributes(
                    for: folder.components, configured: context.config.specialUse, stored: stored)
                if selectSpecialUse && uses.isEmpty { continue }
                var attributes: [MailboxAttribute] = []
                if !folder.isSelectable { attributes.append(.noselect) }
                attributes.append(.children(folder.hasChildren))
                if returnSubscribed && subscribedSet.contains(folder.components) {
                    attributes.append(.subscribed)
                }
                attributes += uses
                entries.append((folder.components, attributes, false, folder.isSelectable))
            }
        }
        var statuses: [[String]: FolderSnapshot] = [:]
        if statusAttributes != nil {
            let wanted = entries.filter(\.selectable).map(\.components)
            let registry = context.registry
            // A folder that vanished or can't be read is listed without STATUS (RFC 5819 §2).
            statuses =
                (try? await context.blocking {
                    var result: [[String]: FolderSnapshot] = [:]
                    for components in wanted {
                        guard let directory = try? store.existingFolder(components),
                            let folder = try? registry.open(directory: directory, store: store)
                        else { continue }
                        defer { registry.release(folder) }
                        result[components] = try? folder.statusSnapshot(for: statusAttributes ?? [])
                    }
                    return result
                }) ?? [:]
        }
        for entry in entries {
            let name = wireName(entry.components)
            writer.untagged(
                .list(
                    MailboxListEntry(
                        attributes: entry.attributes, delimiter: delimiter, name: name,
                        childInfoSubscribed: entry.childInfo)))
            if let statusAttributes, let snapshot = statuses[entry.components] {
                writer.untagged(.status(mailbox: name, statusValues(snapshot, statusAttributes)))
            }
        }
        await finish(tag, "List completed.")
    }
}

/// LIST-EXTENDED selection option names (RFC 5258 §3, RFC 6154 §3), uppercased.
enum ListOption {
    static let subscribed = "SUBSCRIBED"
    static let remote = "REMOTE"
    static let recursiveMatch = "RECURSIVEMATCH"
    static let specialUse = "SPECIAL-USE"
    /// Every selection option this server implements.
    static let selectionOptions: Set<String> = [subscribed, remote, recursiveMatch, specialUse]
}

/// RFC 6154 special-use attributes: the administrator's (`--special-use NAME=\\Sent`),
/// else those a client gave with CREATE (USE (…)) (`stored`, from `imapd-special-use`),
/// else from the usual folder names (top level only).
enum SpecialUse {

    static let byName: [String: MailboxAttribute] = [
        "sent": .sent, "sent messages": .sent, "sent items": .sent,
        "drafts": .drafts,
        "trash": .trash, "deleted messages": .trash, "deleted items": .trash,
        "junk": .junk, "spam": .junk,
        "archive": .archive,
    ]

    static func attributes(for components: [String], configured: [String: String], stored: [[String]: [String]])
        -> [MailboxAttribute]
    {
        // Both hold the attributes as RFC 6154 spells them: the configuration checks them
        // at start, CREATE before it stores them.
        if !configured.isEmpty, let use = configured[components.joined(separator: "/").lowercased()] {
            return [MailboxAttribute(rawValue: use)]
        }
        if let uses = stored[components] { return uses.map(MailboxAttribute.init(rawValue:)) }
        guard components.count == 1, let use = byName[components[0].lowercased()] else { return [] }
        return [use]
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
