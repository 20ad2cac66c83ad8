import IMAPProtocol
import MaildirStore

/// QRESYNC (RFC 7162 §3.2): what SELECT/EXAMINE (QRESYNC …) and UID FETCH (CHANGEDSINCE
/// n VANISHED) send beyond an ordinary SELECT or FETCH.
extension IMAPSession {
    /// §3.2.5: `* VANISHED (EARLIER)` for the known UIDs expunged since the client's
    /// mod-sequence, then `FETCH (UID FLAGS MODSEQ)` of the known messages changed since.
    func resynchronize(_ mailbox: SelectedMailbox, _ request: QResyncRequest) async {
        let view = mailbox.view
        let ranges = request.knownUIDs.compactMap { range -> ClosedRange<UInt32>? in
            range.upperBound < request.firstUID ? nil : max(range.lowerBound, request.firstUID)...range.upperBound
        }
        writer.untagged(
            .vanished(earlier: true, view.vanishedSince(request.modSeq, within: ranges, folder: mailbox.folder)))
        var changed: [FetchJob.Message] = []
        var r = 0
        for index in 0..<view.count {
            let uid = view.uid(atIndex: index).rawValue
            while r < request.knownUIDs.count, request.knownUIDs[r].upperBound < uid { r += 1 }
            guard r < request.knownUIDs.count else { break }
            let n = MailboxView.sequenceNumber(atIndex: index)
            guard request.knownUIDs[r].contains(uid), view.modSeq(at: n) > request.modSeq else { continue }
            changed.append(view.fetchMessage(at: n))
        }
        guard !changed.isEmpty else { return }
        await sendFetchResponses(mailbox, changed, plan: FetchPlan(attributes: [.uid, .flags, .modSeq], isUID: true))
    }

    /// §3.2.6: `* VANISHED (EARLIER)` for the UIDs of `uids` expunged since `modSeq`,
    /// sent before the FETCH responses. `$` names no expunged message.
    func sendVanishedEarlier(_ mailbox: SelectedMailbox, since modSeq: ModSeq, uids: SequenceSet<UID>) {
        let view = mailbox.view
        guard let ranges = uids.resolvedRanges(largest: max(view.uidNext.rawValue, 1) - 1) else { return }
        writer.untagged(
            .vanished(
                earlier: true,
                view.vanishedSince(modSeq, within: view.clampedToAssigned(ranges), folder: mailbox.folder)))
    }

    /// FETCH responses of `messages` without their files (flags and the like), written
    /// after what is buffered. A failure is logged: the command itself goes on.
    func sendFetchResponses(_ mailbox: SelectedMailbox, _ messages: [FetchJob.Message], plan: FetchPlan) async {
        var messages = messages
        if reportsRecent && !mailbox.recent.isEmpty {
            for index in messages.indices { messages[index].recent = mailbox.recent.contains(messages[index].uid) }
        }
        await flushOutput()
        let job = FetchJob(
            plan: plan, messages: .listed(messages), folder: mailbox.folder, uidValidity: mailbox.view.uidValidity,
            cache: context.messageCache, encoder: writer.encoder, logger: logger)
        do {
            _ = try await stream(job)
        } catch is ChannelOutput.Closed {
            return
        } catch {
            logger.error("QRESYNC fetch failed", metadata: ["error": .client("\(error)")])
        }
    }
}

/// A SELECT's QRESYNC parameter resolved against the new view (RFC 7162 §3.2.5).
struct QResyncRequest {
    /// The client's mod-sequence: what changed after it is reported.
    let modSeq: ModSeq
    /// known-uids, or 1:UIDNEXT-1 when absent (§3.2.5), cut to assigned UIDs.
    let knownUIDs: [ClosedRange<UInt32>]
    /// VANISHED need only cover UIDs from here on (seq-match-data, §3.2.5.2).
    let firstUID: UInt32

    init(_ parameter: QResyncParameter, view: MailboxView) {
        modSeq = ModSeq(parameter.modSeq)
        let last = max(view.uidNext.rawValue, 1) - 1
        let known = parameter.knownUIDs?.resolvedRanges(largest: last) ?? (last >= 1 ? [1...last] : [])
        knownUIDs = view.clampedToAssigned(known)
        if let numbers = parameter.knownSequenceNumbers?.resolvedRanges(largest: UInt32(view.count)),
            let uids = parameter.knownSequenceUIDs?.resolvedRanges(largest: last)
        {
            firstUID = view.firstUnmatchedUID(sequenceNumbers: numbers, uids: uids)
        } else {
            firstUID = 1
        }
    }

    /// Checks that need no folder: no `$` (there is no saved search before SELECT),
    /// and seq-match-data's two sets of the same size (§3.2.5.2).
    static func isWellFormed(_ parameter: QResyncParameter) -> Bool {
        if let known = parameter.knownUIDs, known.resolvedRanges(largest: .max) == nil { return false }
        guard let numbers = parameter.knownSequenceNumbers, let uids = parameter.knownSequenceUIDs else { return true }
        guard let n = numbers.resolvedRanges(largest: .max), let u = uids.resolvedRanges(largest: .max) else {
            return false
        }
        return RangeWalker.count(n) == RangeWalker.count(u)
    }
}
