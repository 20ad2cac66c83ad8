import IMAPProtocol
import MaildirStore

extension IMAPSession {
    /// RFC 9051 §6.4.7 COPY and UID COPY, with COPYUID (RFC 4315 §3). Messages are
    /// hard-linked into the destination's tmp/ and renamed into cur/ with their flags
    /// (keywords re-mapped to the destination's letters); INTERNALDATE is the shared
    /// mtime. A missing destination gets NO [TRYCREATE].
    func handleCopy(tag: String, set: MessageSet, destination name: MailboxName) async {
        guard let (mailbox, uids, destination) = await prepareTransfer(tag: tag, set: set, destination: name) else {
            return
        }
        let source = mailbox.folder
        let registry = context.registry
        let pairs: [(StoreUID, StoreUID)]
        let validity: StoreUIDValidity
        do {
            (pairs, validity) = try await context.blocking {
                defer { registry.release(destination) }
                let pairs = try source.copy(uids, to: destination)
                return (pairs, destination.snapshot.uidValidity)
            }
        } catch {
            sendStoreFailure(tag, error, name: name)
            return
        }
        await finish(tag, .ok, Self.copyUID(pairs, validity), "Copy completed.")
    }

    /// The selected mailbox, the UIDs `set` names (in this session's view) and the
    /// opened destination folder (the caller releases it); nil when the reply was sent.
    func prepareTransfer(
        tag: String, set: MessageSet, destination name: MailboxName
    ) async -> (SelectedMailbox, [StoreUID], SharedFolder)? {
        guard let user = state.user, let mailbox = state.selected else { return nil }
        guard let components = components(of: name) else {
            writer.tagged(tag, .no, .cannot, "Invalid mailbox name.")
            return nil
        }
        await synchronizeSelected()
        guard let numbers = mailbox.view.resolve(set, saved: mailbox.savedSearch) else {
            writer.tagged(tag, .bad, nil, "Invalid message set.")
            return nil
        }
        let uids = numbers.map { mailbox.view.record(at: $0).uid }.filter { !mailbox.view.isExpunged($0) }
        let store = user.mailstore
        let registry = context.registry
        do {
            let folder = try await context.blocking {
                let directory: String
                do {
                    directory = try store.existingFolder(components)
                } catch StoreError.nonexistent {
                    throw AppendFailure.tryCreate
                }
                let folder = try registry.open(directory: directory, mailRoot: store.root)
                do {
                    _ = try folder.synchronize(moveNewToCur: false)
                } catch {
                    registry.release(folder)
                    throw error
                }
                return folder
            }
            return (mailbox, uids, folder)
        } catch AppendFailure.tryCreate {
            writer.tagged(tag, .no, .tryCreate, "Mailbox doesn't exist: \(name.rawValue.prefix(200))")
        } catch {
            sendStoreFailure(tag, error, name: name)
        }
        return nil
    }

    /// `[COPYUID validity source-set destination-set]`, nil when nothing was copied
    /// (RFC 4315 §3: only for a non-empty copy). Pairs keep the source order, so the two
    /// sets correspond element by element once each is merged in ascending order: the
    /// store assigns destination UIDs in source UID order.
    static func copyUID(_ pairs: [(StoreUID, StoreUID)], _ validity: StoreUIDValidity) -> ResponseCode? {
        guard !pairs.isEmpty else { return nil }
        return .copyUID(
            validity.wire, source: mergedRanges(pairs.map(\.0.rawValue)),
            destination: mergedRanges(pairs.map(\.1.rawValue)))
    }
}
