import IMAPProtocol
import MaildirStore
import NIOCore

/// RFC 9051 §6.3.12 APPEND with MULTIAPPEND (RFC 3502) and APPENDUID (RFC 4315 §3),
/// streamed: the decoder hands each message literal over in chunks (`appendBegin`,
/// `appendMessage`, `appendData`..., `appendEnd`), and each chunk is written to the
/// folder's tmp/ as it arrives, off the event loop, while the connection reads nothing
/// more than its queue threshold (back-pressure). At the end every message is fsync'd,
/// given its flags and its date-time as mtime (INTERNALDATE) and renamed into cur/ with
/// `,S=` and `,W=` (AppendTransaction). A missing folder gets NO [TRYCREATE] before the
/// continuation (§6.3.12).
///
/// MULTIAPPEND is all or nothing (RFC 3502 §6.3.11): every message is written to
/// tmp/ before any is committed; if a commit fails, the messages already committed
/// are expunged again and the rest removed from tmp/. A client that disconnects in
/// the middle leaves nothing in cur/ (its tmp/ files are removed, or cleaned after
/// 36 hours if the process dies).
extension IMAPSession {
    static let appendCommandName = "APPEND"

    /// `.append` parsed whole (a decoder that does not stream): the same steps.
    func handleAppend(tag: String, name: MailboxName, messages: [AppendMessage]) async {
        guard case .done = await appendBegin(tag: tag, mailbox: name) else { return }
        for message in messages {
            let header = AppendMessageHeader(
                flags: message.flags, internalDate: message.internalDate, size: UInt64(message.data.count),
                isBinary: message.isBinary)
            guard case .done = await appendMessage(header) else { return }
            guard case .done = await appendData(ByteBuffer(bytes: message.data)) else { return }
        }
        _ = await appendEnd()
    }

    // MARK: - Decoder events (through `IMAPSession.handle`, which logs, counts and flushes)

    func appendBegin(tag: String, mailbox name: MailboxName) async -> CommandOutcome {
        discardAppendStream()
        guard CommandSpec.authenticated.states.contains(state.kind) else {
            fail(tag, .notBeforeLogin(Self.appendCommandName))
            return .skipAppend
        }
        logger.debug("command", metadata: ["command": "\(Self.appendCommandName)", "tag": .client(tag)])
        guard let components = components(of: name) else {
            fail(tag, .invalidMailboxName)
            return .skipAppend
        }
        guard let folder = await openDestination(tag: tag, components, name: name) else { return .skipAppend }
        guard beginAppend(tag: tag, name: name, folder: folder) else {
            context.registry.release(folder)
            _ = serverBug(tag, "APPEND outside the logged-in states")
            return .skipAppend
        }
        return .done
    }

    func appendMessage(_ header: AppendMessageHeader) async -> CommandOutcome {
        guard case .appending(let stream) = state else { return .skipAppend }
        guard header.size > 0 else {
            discardAppendStream()
            fail(stream.tag, .zeroByteMessage)
            return .skipAppend
        }
        let folder = stream.folder
        do {
            // RFC 9208 §4.3.1: refused before the literal is written anywhere when the
            // command (all its messages so far, this one included; the literal's size
            // is the file's) cannot fit. commitAll checks again under the quota lock.
            let quota = stream.within.user.quota
            let bytes = stream.messages.reduce(Int64(clamping: header.size)) { $0 + Int64($1.transaction.size) }
            let count = Int64(stream.messages.count + 1)
            if try await context.blocking({ try quota.wouldExceed(bytes: bytes, messages: count) }) {
                throw Quota.Exceeded()
            }
            let transaction = try await context.blocking { try folder.beginAppend() }
            let message = PendingAppend(
                transaction: transaction, flags: MessageFlags(wire: header.flags),
                internalDate: header.internalDate?.secondsSinceEpoch)
            guard appendPending(message) else {
                transaction.abort()  // the connection closed meanwhile
                return .skipAppend
            }
            return .done
        } catch {
            return failAppend(stream, error)
        }
    }

    func appendData(_ bytes: ByteBuffer) async -> CommandOutcome {
        guard case .appending(let stream) = state, let current = stream.messages.last else { return .skipAppend }
        do {
            try await context.blocking {
                try bytes.withUnsafeReadableBytes { try current.transaction.write($0) }
            }
            return .done
        } catch {
            return failAppend(stream, error)
        }
    }

    func appendEnd() async -> CommandOutcome {
        guard let stream = endAppend() else { return .done }
        let registry = context.registry
        let (folder, messages) = (stream.folder, stream.messages)
        let quota = stream.within.user.quota
        let result: (StoreUIDValidity, [StoreUID])
        do {
            result = try await context.blocking {
                defer { registry.release(folder) }
                // RFC 9208 §4.3.1: the whole command (MULTIAPPEND included) is checked
                // against the quota before anything reaches cur/; refused, every
                // message is removed from tmp/ (commitAll's rollback, or the abort
                // below when the check itself refuses).
                let added = QuotaUsage(
                    bytes: messages.reduce(0) { $0 + Int64($1.transaction.size) }, messages: Int64(messages.count))
                do {
                    return try quota.reserve(bytes: added.bytes, messages: added.messages) {
                        (try Self.commitAll(messages, to: folder), added)
                    }
                } catch let error as Quota.Exceeded {
                    for message in messages { message.transaction.abort() }
                    throw error
                }
            }
        } catch {
            sendStoreFailure(stream.tag, error, name: stream.name)
            return .done
        }
        let (validity, uids) = result
        // The selected folder's changes (also its disappearance) are reported with the
        // completion, as after NOOP; cheap when nothing changed on disk.
        await synchronizeSelected()
        await finish(
            stream.tag, .ok, .appendUID(validity.wire, mergedRanges(uids.map(\.rawValue))), "Append completed.")
        return .done
    }

    /// The command turned out malformed: drop its messages; the decoder's BAD follows.
    func appendAborted() -> CommandOutcome {
        discardAppendStream()
        return .done
    }

    /// Drops a streamed APPEND in progress (also when the connection closes).
    func discardAppendStream() {
        guard let stream = endAppend() else { return }
        for message in stream.messages { message.transaction.abort() }
        context.registry.release(stream.folder)
    }

    /// Answers NO for the APPEND in progress and drops its messages.
    private func failAppend(_ stream: AppendStream, _ error: Error) -> CommandOutcome {
        discardAppendStream()
        sendStoreFailure(stream.tag, error, name: stream.name)
        return .skipAppend
    }

    /// Commits every message written to tmp/, in order (blocking work); all or none.
    private static func commitAll(_ messages: [PendingAppend], to folder: SharedFolder) throws
        -> (StoreUIDValidity, [StoreUID])
    {
        var committed: [StoreUID] = []
        var done = false
        defer {
            if !done {
                for message in messages.dropFirst(committed.count) { message.transaction.abort() }
                if !committed.isEmpty { _ = try? folder.expunge(committed) }
            }
        }
        for message in messages {
            let record = try folder.commitAppend(
                message.transaction, flags: message.flags, internalDate: message.internalDate)
            committed.append(record.uid)
        }
        done = true
        return (folder.snapshot.uidValidity, committed)
    }
}

/// A streamed APPEND between decoder events: the folder stays open (registry
/// reference) until the command ends; `within` is the state it returns to.
struct AppendStream {
    let tag: String
    let name: MailboxName
    let folder: SharedFolder
    let within: LoggedIn
    let started: ContinuousClock.Instant
    var messages: [PendingAppend] = []
}

/// One message of an APPEND, being written to tmp/.
struct PendingAppend: Sendable {
    let transaction: AppendTransaction
    let flags: MessageFlags
    let internalDate: Int64?
}
