import IMAPProtocol
import MaildirStore

/// What COPY (RFC 9051 §6.4.7), MOVE (RFC 6851) and APPEND (§6.3.12) share: opening an
/// existing destination folder (NO [TRYCREATE] when it is missing) and copying or
/// moving messages into it with the UIDs for COPYUID (RFC 4315 §3).
extension IMAPSession {
    /// Copies (or moves) the messages `set` names into `name`. Returns the (source,
    /// destination) UID pairs and the destination's UIDVALIDITY; nil when the reply
    /// (a NO or BAD) was sent.
    func transferMessages(
        tag: String, mailbox: SelectedMailbox, set: MessageSet, destination name: MailboxName, move: Bool
    ) async
        -> ([(StoreUID, StoreUID)], StoreUIDValidity)?
    {
        guard let (uids, destination) = await prepareTransfer(tag: tag, mailbox: mailbox, set: set, destination: name)
        else {
            return nil
        }
        let source = mailbox.folder
        let registry = context.registry
        let quota = state.user?.quota
        do {
            return try await context.blocking {
                defer { registry.release(destination) }
                guard let quota, !quota.limits.isUnlimited else {
                    let pairs = try move ? source.move(uids, to: destination) : source.copy(uids, to: destination)
                    return (pairs, destination.snapshot.uidValidity)
                }
                let sizes = try Self.physicalSizes(of: uids, in: source)
                if move {
                    return (
                        try Self.move(uids, from: source, to: destination, sizes: sizes, quota: quota),
                        destination.snapshot.uidValidity
                    )
                }
                // COPY adds the set's total, refused before anything is written.
                let total = QuotaUsage(bytes: sizes.values.reduce(0, +), messages: Int64(sizes.count))
                let pairs = try quota.reserve(bytes: total.bytes, messages: total.messages) {
                    let pairs = try source.copy(uids, to: destination)
                    let copied = pairs.map { sizes[$0.0] ?? 0 }
                    return (pairs, QuotaUsage(bytes: copied.reduce(0, +), messages: Int64(copied.count)))
                }
                return (pairs, destination.snapshot.uidValidity)
            }
        } catch {
            sendStoreFailure(tag, error, name: name)
            return nil
        }
    }

    /// MOVE within the user's one quota root is never refused (Dovecot 2.3 does the
    /// same) and normally changes no usage. It is COPY then EXPUNGE (Copy.swift), and
    /// the copy links the source files without the source folder's lock: another
    /// session may expunge one of them in between and record its removal, and then
    /// the copy added a file our expunge did not remove. So MOVE records what it
    /// copied less what its own expunge freed: nothing, unless that race happened.
    /// Blocking.
    static func move(
        _ uids: [StoreUID], from source: SharedFolder, to destination: SharedFolder, sizes: [StoreUID: Int64],
        quota: Quota
    ) throws -> [(StoreUID, StoreUID)] {
        let pairs = try source.copy(uids, to: destination)
        let (_, freed) = try source.expungeFreeing(pairs.map(\.0))
        let copied = pairs.map { sizes[$0.0] ?? 0 }
        quota.record(
            bytes: copied.reduce(0, +) - freed.bytes, messages: Int64(copied.count) - freed.messages)
        return pairs
    }

    /// The file size of each message (what `maildirsize` counts). Blocking.
    static func physicalSizes(of uids: [StoreUID], in folder: SharedFolder) throws -> [StoreUID: Int64] {
        let wanted = Set(uids)
        let records = try folder.completeDetails(folder.snapshot.messages.filter { wanted.contains($0.uid) })
        return Dictionary(records.map { ($0.uid, Int64($0.physicalSize ?? 0)) }, uniquingKeysWith: { a, _ in a })
    }

    /// The selected mailbox, the UIDs `set` names (in this session's view) and the
    /// opened destination folder (the caller releases it); nil when the reply was sent.
    private func prepareTransfer(
        tag: String, mailbox: SelectedMailbox, set: MessageSet, destination name: MailboxName
    ) async -> ([StoreUID], SharedFolder)? {
        guard let components = components(of: name) else {
            fail(tag, .invalidMailboxName)
            return nil
        }
        await synchronizeSelected()
        guard let numbers = mailbox.view.resolve(set, saved: mailbox.savedSearch) else {
            fail(tag, .invalidMessageSet)
            return nil
        }
        let uids = numbers.map { mailbox.view.record(at: $0).uid }.filter { !mailbox.view.isExpunged($0) }
        guard let folder = await openDestination(tag: tag, components, name: name) else { return nil }
        return (uids, folder)
    }

    /// Opens (and synchronizes) an existing folder as the target of APPEND, COPY or
    /// MOVE; the caller releases it to the registry. nil when the reply was sent:
    /// NO [TRYCREATE] for a missing folder (§6.3.12, §6.4.7), else the store's error.
    func openDestination(tag: String, _ components: [String], name: MailboxName) async -> SharedFolder? {
        guard let user = state.user else {
            _ = serverBug(tag, "a destination folder opened without a user")
            return nil
        }
        let store = user.mailstore
        let registry = context.registry
        do {
            return try await context.blocking {
                let directory: String
                do {
                    directory = try store.existingFolder(components)
                } catch StoreError.nonexistent {
                    throw AppendFailure.tryCreate
                }
                let folder = try registry.open(directory: directory, store: store)
                do {
                    _ = try folder.synchronize(moveNewToCur: false)
                } catch {
                    registry.release(folder)
                    throw error
                }
                return folder
            }
        } catch AppendFailure.tryCreate {
            fail(tag, .tryCreate(name))
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

/// Why an APPEND, COPY or MOVE is refused before anything is written.
enum AppendFailure: Error {
    /// The destination does not exist (RFC 9051 §6.3.12, §6.4.7: [TRYCREATE]).
    case tryCreate
}
