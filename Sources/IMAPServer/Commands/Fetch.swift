import IMAPProtocol
import MaildirStore

extension IMAPSession {
    /// RFC 9051 §6.4.5 FETCH and §6.4.8 UID FETCH, with RFC 7162's MODSEQ item and
    /// CHANGEDSINCE / VANISHED modifiers.
    func handleFetch(
        tag: String, mailbox: SelectedMailbox, set: MessageSet, attributes: [FetchAttribute], modifiers: FetchModifiers,
        spec: CommandSpec
    ) async {
        // RFC 7162 §3.2.6: VANISHED only with UID FETCH and CHANGEDSINCE, after ENABLE QRESYNC.
        if modifiers.vanished && !(qresyncEnabled && set.isUID && modifiers.changedSince != nil) {
            fail(tag, .vanishedMisused)
            return
        }
        var attributes = attributes
        if modifiers.changedSince != nil {
            // §3.1.4: CHANGEDSINCE implies the MODSEQ item.
            if !attributes.contains(.modSeq) { attributes.append(.modSeq) }
        }
        // §3.1: both are CONDSTORE-enabling.
        if attributes.contains(.modSeq) { enableCondstore() }
        await synchronizeSelected()
        guard let numbers = mailbox.view.resolve(set, saved: mailbox.savedSearch) else {
            fail(tag, .invalidMessageSet(in: set.isUID ? "UID FETCH" : "FETCH"))
            return
        }
        var plan = FetchPlan(attributes: attributes, isUID: set.isUID)
        if mailbox.readOnly { plan.setsSeen = false }
        plan.reportsModSeq = condstoreEnabled
        let messages = fetchMessages(mailbox, numbers, plan: plan, set: set, modifiers: modifiers)
        // What the responses' MODSEQ items can reach (Condstore.swift): one pass over
        // what this FETCH already walks.
        if attributes.contains(.modSeq), let highest = messages.highestModSeq { noteModSeqSent(highest) }

        // Everything already buffered goes out first: the job's output follows it.
        await flushOutput()
        let job = FetchJob(
            plan: plan, messages: messages, folder: mailbox.folder, uidValidity: mailbox.view.uidValidity,
            cache: context.messageCache, listing: context.listingCache, view: mailbox.view, encoder: writer.encoder,
            logger: logger)
        let result: FetchJob.Result
        do {
            result = try await stream(job)
        } catch is ChannelOutput.Closed {
            // The client went away: the connection's close path ends the session.
            return
        } catch {
            guard !(error is FetchJob.MessageShrank) && !job.isInsideResponse else {
                // A literal already announced cannot be completed: close, as Dovecot
                // does when a mail gives fewer bytes than it announced (FetchJob).
                logger.error("fetch failed; closing the connection", metadata: ["error": .client("\(error)")])
                try? await output.channel.close()
                return
            }
            fail(tag, .serverFault("fetch failed: \(error)"))
            return
        }
        if result.unknownCTE {
            // RFC 3516 §4.3. \Seen may already be set on messages whose responses were
            // not sent: the view keeps the old flags, so the change is reported as an
            // ordinary flag update.
            await finish(
                tag, .no, .unknownCTE, "Unknown Content-Transfer-Encoding.", reportExpunge: spec.mayReportExpunge)
            return
        }
        // \Seen set by this FETCH was already reported in the FETCH responses; record
        // it in the view so the observer's copy of the change is not reported again.
        for change in result.newFlags {
            if condstoreEnabled { noteModSeqSent(change.modSeq) }
            if let n = mailbox.view.sequenceNumber(of: change.uid) {
                mailbox.view.setFlags(change, forSequenceNumber: n)
            }
        }
        if result.shrunk > 0 {
            // Nothing of those messages was sent (FetchJob): the file changed under us.
            await finish(
                tag, .no, .corruption, "Some of the requested messages changed on disk while being read.",
                reportExpunge: spec.mayReportExpunge)
        } else if result.missing > 0 {
            await finish(
                tag, .no, .expungeIssued, "Some of the requested messages no longer exist.",
                reportExpunge: spec.mayReportExpunge)
        } else {
            await finish(tag, "Fetch completed.", reportExpunge: spec.mayReportExpunge)
        }
    }
}

extension IMAPSession {
    /// The messages `numbers` as the job reads them: for a FETCH the records answer
    /// alone, from the view as each response is written; else listed, without those
    /// CHANGEDSINCE excludes (whose VANISHED, when asked for, goes out now).
    private func fetchMessages(
        _ mailbox: SelectedMailbox, _ numbers: [SequenceNumber], plan: FetchPlan, set: MessageSet,
        modifiers: FetchModifiers
    ) -> FetchJob.Messages {
        let view = mailbox.view
        let recent = reportsRecent && !mailbox.recent.isEmpty ? mailbox.recent : nil
        guard plan.isRecordOnly && modifiers.changedSince == nil else {
            var messages = numbers.map { view.fetchMessage(at: $0) }
            if let changedSince = modifiers.changedSince {
                messages.removeAll { $0.modSeq.rawValue <= changedSince }
                if modifiers.vanished, case .uids(let uids) = set {
                    sendVanishedEarlier(mailbox, since: ModSeq(changedSince), uids: uids)
                }
            }
            if let recent {
                for index in messages.indices { messages[index].recent = recent.contains(messages[index].uid) }
            }
            return .listed(messages)
        }
        return .fromView(view, numbers, recent: recent)
    }

    /// Runs `job` step by step on the content pool, each step's bytes written before
    /// the next starts, and only once the connection can take them (ChannelOutput):
    /// a client that stops reading leaves the job suspended, holding no thread.
    func stream(_ job: FetchJob) async throws -> FetchJob.Result {
        // FLAGS, UID and the like of a few messages: encoding only, done here (no
        // pool hop for the commonest cheap FETCH).
        let inline = !job.plan.needsFile && !job.plan.needsDetails && job.messages.count <= FetchJob.inlineMessages
        while true {
            let step = inline ? try job.step() : try await context.content { try job.step() }
            if step.bytes.readableBytes > 0 {
                ServerMetrics.bytesSent.increment(by: step.bytes.readableBytes)
                try await output.write(step.bytes)
            }
            if let result = step.finished { return result }
        }
    }
}

/// What a FETCH asks for, decided once for all messages.
struct FetchPlan: Sendable {
    var attributes: [FetchAttribute]
    /// Any item that needs the message file (ENVELOPE, BODY…, sections).
    var needsFile: Bool
    /// Any item that needs the file's bytes, not only what the caches hold (sections
    /// other than the top-level HEADER.FIELDS ones, RFC822*, BINARY).
    var needsRawBytes: Bool
    /// The top-level `HEADER.FIELDS` / `HEADER.FIELDS.NOT` sections asked for, with
    /// their `SectionSpec.headerKey` made once: bytes the caches keep per message (a
    /// webmail's or a mail client's list asks for the same fields of every message).
    var headerSections: [HeaderSection] = []

    struct HeaderSection: Sendable {
        var spec: SectionSpec
        var key: String
    }
    var needsEnvelope: Bool
    /// BODY or BODYSTRUCTURE.
    var needsStructure: Bool
    /// Any non-PEEK body item: the message gains \Seen (RFC 9051 §6.4.5).
    var setsSeen: Bool
    var includesFlags: Bool
    /// INTERNALDATE or RFC822.SIZE: details a scan leaves unread (MessageRecord).
    var needsDetails: Bool
    /// The records answer every item (UID, FLAGS, MODSEQ) and nothing sets \Seen.
    var isRecordOnly: Bool { !needsFile && !needsDetails && !setsSeen }
    /// CONDSTORE is enabled: a message this FETCH sets \Seen on reports its new
    /// MODSEQ too (RFC 7162 §3.1).
    var reportsModSeq = false

    init(attributes: [FetchAttribute], isUID: Bool) {
        var attributes = attributes
        // §6.4.8: UID FETCH always returns UID; Dovecot puts it first.
        if isUID && !attributes.contains(.uid) { attributes.insert(.uid, at: 0) }
        self.attributes = attributes
        needsFile = attributes.contains { $0.needsFile }
        needsEnvelope = attributes.contains(.envelope)
        needsStructure = attributes.contains(.body) || attributes.contains(.bodyStructure)
        var headerSections: [HeaderSection] = []
        needsRawBytes = attributes.contains {
            guard $0.needsFile && $0 != .envelope && $0 != .body && $0 != .bodyStructure else { return false }
            guard case .bodySection(let spec, _, _) = $0, let key = spec.headerKey else { return true }
            if !headerSections.contains(where: { $0.spec == spec }) {
                headerSections.append(HeaderSection(spec: spec, key: key))
            }
            return false
        }
        setsSeen = attributes.contains { $0.setsSeen }
        includesFlags = attributes.contains(.flags)
        needsDetails = attributes.contains(.internalDate) || attributes.contains(.rfc822Size)
        self.headerSections = headerSections
    }
}

extension FetchPlan {
    /// ENVELOPE, BODYSTRUCTURE (BODY) and top-level HEADER.FIELDS sections are the only
    /// items that need the file: the listing cache can answer it (ListingCache).
    var isListing: Bool { needsFile && !needsRawBytes }

    /// The key of `spec` when it is one of `headerSections` (no key made per message).
    func headerKey(of spec: SectionSpec) -> String? { headerSections.first { $0.spec == spec }?.key }

    /// Everything this FETCH needs of the message is in `parsed`: no file to open.
    func isServed(by parsed: ParsedMessage) -> Bool {
        !needsRawBytes && (!needsEnvelope || parsed.envelope != nil)
            && (!needsStructure || parsed.bodyStructure != nil)
            && headerSections.allSatisfy { parsed.headerSections[$0.key] != nil }
    }
}

extension SectionSpec {
    /// Top-level `HEADER.FIELDS (…)` and `HEADER.FIELDS.NOT (…)`: what the caches keep
    /// the bytes of, under this key (the field names upper-cased, sorted: the bytes do
    /// not depend on their case or order). nil for any other section.
    var headerKey: String? {
        guard part.isEmpty else { return nil }
        switch text {
        case .headerFields(let names): return "F " + names.map { $0.uppercased() }.sorted().joined(separator: " ")
        case .headerFieldsNot(let names): return "N " + names.map { $0.uppercased() }.sorted().joined(separator: " ")
        default: return nil
        }
    }
}

extension FetchAttribute {
    var needsFile: Bool {
        switch self {
        case .uid, .flags, .internalDate, .rfc822Size, .modSeq: return false
        default: return true
        }
    }

    var setsSeen: Bool {
        switch self {
        case .rfc822, .rfc822Text: return true
        case .bodySection(_, _, let peek), .binary(_, _, let peek): return !peek
        default: return false
        }
    }
}
