import IMAPProtocol
import MaildirStore

extension IMAPSession {
    /// RFC 9051 §6.3.11 STATUS.
    func handleStatus(tag: String, user: UserSession, name: MailboxName, attributes: [StatusAttribute]) async {
        guard let components = components(of: name) else {
            fail(tag, .invalidMailboxName)
            return
        }
        let store = user.mailstore
        let registry = context.registry
        let snapshot: FolderSnapshot
        do {
            snapshot = try await context.blocking {
                let folder = try registry.open(directory: try store.existingFolder(components), store: store)
                defer { registry.release(folder) }
                return try folder.statusSnapshot(for: attributes)
            }
        } catch {
            sendStoreFailure(tag, error, name: name)
            return
        }
        let values = statusValues(snapshot, attributes)
        writer.untagged(.status(mailbox: name, values))
        await finish(tag, "Status completed.")
    }

    /// The STATUS values of a folder (also for LIST-STATUS, RFC 5819).
    func statusValues(_ snapshot: FolderSnapshot, _ attributes: [StatusAttribute]) -> [(StatusAttribute, UInt64)] {
        var values: [(StatusAttribute, UInt64)] = []
        for attribute in attributes {
            switch attribute {
            case .messages: values.append((attribute, UInt64(snapshot.messages.count)))
            case .uidNext: values.append((attribute, UInt64(snapshot.uidNext.rawValue)))
            case .uidValidity: values.append((attribute, UInt64(snapshot.uidValidity.rawValue)))
            case .unseen:
                values.append((attribute, UInt64(snapshot.messages.count { !$0.flags.system.contains(.seen) })))
            case .deleted:
                values.append((attribute, UInt64(snapshot.messages.count { $0.flags.system.contains(.deleted) })))
            case .size:
                // RFC 9051 §6.3.11: the size as the client would count it, i.e. with
                // CRLF line ends (the sum of RFC822.SIZE), as Dovecot reports it.
                values.append((attribute, UInt64(snapshot.messages.reduce(0) { $0 + ($1.virtualSize ?? 0) })))
            case .recent:
                // Messages a SELECT now would get as \Recent, as Dovecot counts them;
                // nothing is recent for an IMAP4rev2 session (RFC 9051 Appendix E).
                values.append((attribute, reportsRecent ? UInt64(snapshot.unclaimedRecentCount) : 0))
            case .appendLimit:
                // RFC 7889 §3: the same limit for every folder, the decoder's literal limit.
                values.append((attribute, UInt64(max(0, context.config.decoderLimits.maxLiteralSize))))
            // RFC 7162 §3.1.2.2.
            case .highestModSeq: values.append((attribute, snapshot.highestModSeq.rawValue))
            case .deletedStorage:
                // RFC 9208 §4.1.4: the storage an EXPUNGE would free, in octets (its
                // fallback is the sum of RFC822.SIZE), the exact value: the file
                // sizes, as the quota counts them.
                let deleted = snapshot.messages.filter { $0.flags.system.contains(.deleted) }
                values.append((attribute, deleted.reduce(0) { $0 + UInt64($1.physicalSize ?? 0) }))
            }
        }
        return values
    }
}

extension SharedFolder {
    /// The folder synchronized, with RFC822.SIZE and the file size of every message
    /// when SIZE or DELETED-STORAGE is asked for (a scan leaves it unread, MessageRecord). Blocking.
    func statusSnapshot(for attributes: [StatusAttribute]) throws -> FolderSnapshot {
        var snapshot = try synchronize(moveNewToCur: false)
        if attributes.contains(.size) || attributes.contains(.deletedStorage) {
            snapshot.messages = try completeDetails(snapshot.messages)
        }
        return snapshot
    }
}
