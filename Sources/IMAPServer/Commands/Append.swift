import IMAPProtocol
import MaildirStore

extension IMAPSession {
    /// RFC 9051 §6.3.12 APPEND with MULTIAPPEND (RFC 3502) and APPENDUID (RFC 4315 §3).
    /// Each message is written to the folder's tmp/, fsync'd, given its flags and its
    /// date-time as mtime (INTERNALDATE) and renamed into cur/ with `,S=` and `,W=`
    /// (AppendTransaction). A missing folder gets NO [TRYCREATE] (§6.3.12).
    ///
    /// MULTIAPPEND is all or nothing (RFC 3502 §6.3.11): every message is written to
    /// tmp/ before any is committed; if a commit fails, the messages already committed
    /// are expunged again and the rest removed from tmp/.
    func handleAppend(tag: String, name: MailboxName, messages: [AppendMessage]) async {
        guard let user = state.user else { return }
        guard let components = components(of: name) else {
            writer.tagged(tag, .no, .cannot, "Invalid mailbox name.")
            return
        }
        guard !messages.contains(where: { $0.data.isEmpty }) else {
            writer.tagged(tag, .no, .cannot, "Can't save a zero byte message.")
            return
        }
        let store = user.mailstore
        let registry = context.registry
        let items = messages.map { (MessageFlags(wire: $0.flags), $0.internalDate?.secondsSinceEpoch, $0.data) }
        let result: (StoreUIDValidity, [StoreUID])
        do {
            result = try await context.blocking {
                let directory: String
                do {
                    directory = try store.existingFolder(components)
                } catch StoreError.nonexistent {
                    throw AppendFailure.tryCreate
                }
                let folder = try registry.open(directory: directory, mailRoot: store.root)
                defer { registry.release(folder) }
                _ = try folder.synchronize(moveNewToCur: false)
                return try Self.appendAll(items, to: folder)
            }
        } catch AppendFailure.tryCreate {
            writer.tagged(tag, .no, .tryCreate, "Mailbox doesn't exist: \(name.rawValue.prefix(200))")
            return
        } catch {
            sendStoreFailure(tag, error, name: name)
            return
        }
        let (validity, uids) = result
        await finish(
            tag, .ok, .appendUID(validity.wire, mergedRanges(uids.map(\.rawValue))), "Append completed.")
    }

    /// Writes every message to tmp/, then commits them in order (blocking work).
    private static func appendAll(
        _ items: [(MessageFlags, Int64?, [UInt8])], to folder: SharedFolder
    ) throws -> (StoreUIDValidity, [StoreUID]) {
        var transactions: [AppendTransaction] = []
        var committed: [StoreUID] = []
        var done = false
        defer {
            if !done {
                for transaction in transactions.dropFirst(committed.count) { transaction.abort() }
                if !committed.isEmpty { _ = try? folder.expunge(committed) }
            }
        }
        for item in items {
            let transaction = try folder.beginAppend()
            transactions.append(transaction)
            try transaction.write(item.2)
        }
        for (transaction, item) in zip(transactions, items) {
            let record = try folder.commitAppend(transaction, flags: item.0, internalDate: item.1)
            committed.append(record.uid)
        }
        done = true
        return (folder.snapshot.uidValidity, committed)
    }
}

/// Why an APPEND, COPY or MOVE is refused before anything is written.
enum AppendFailure: Error {
    /// The destination does not exist (RFC 9051 §6.3.12, §6.4.7: [TRYCREATE]).
    case tryCreate
}
