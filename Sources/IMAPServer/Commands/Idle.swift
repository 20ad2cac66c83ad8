import IMAPProtocol

extension IMAPSession {
    /// RFC 2177 IDLE (part of RFC 9051, §6.3.13): changes are pushed as the folder
    /// reports them; the folder is also rescanned every `idlePollSeconds` so changes
    /// made by other programs arrive even without another session's help, and a
    /// keep-alive `* OK Still here` goes out about every two minutes so NAT boxes keep
    /// the connection.
    func handleIdle(tag: String) async -> CommandOutcome {
        let poll = max(1, context.config.idlePollSeconds)
        let keepaliveEvery = max(1, 120 / poll)
        let timer = Task { [weak self] in
            var rounds = 0
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(poll))
                guard !Task.isCancelled, let self else { return }
                rounds += 1
                await self.idlePoll(keepalive: rounds % keepaliveEvery == 0)
            }
        }
        guard beginIdle(tag: tag, timer: timer) else {
            timer.cancel()
            return serverBug(tag, "IDLE outside the logged-in states")
        }
        writer.send(.continuation("idling"))
        reportUpdates(allowExpunge: true)
        sendHighestModSeqIfDue()
        state.selected?.inbox.setWaker { [weak self] in
            Task { await self?.idleWake() }
        }
        return .idling
    }

    /// The folder reported changes while idling: push them now.
    func idleWake() async {
        guard case .idling = state else { return }
        reportUpdates(allowExpunge: true)
        sendHighestModSeqIfDue()
        if await byeIfSelectedMailboxGone() { return }
        flushOutputWithoutWaiting()
    }

    private func idlePoll(keepalive: Bool) async {
        guard case .idling(let idling) = state else { return }
        await synchronizeSelected()
        // The actor ran other work during the rescan: the IDLE may have ended and the
        // next command begun (a FETCH whose responses carry sequence numbers taken
        // before). Pushing EXPUNGE now would renumber under it (RFC 9051 §7.5.1).
        guard case .idling(let now) = state, now.tag == idling.tag, now.started == idling.started else { return }
        reportUpdates(allowExpunge: true)
        sendHighestModSeqIfDue()
        if await byeIfSelectedMailboxGone() { return }
        if keepalive { writer.untagged(.status(.ok, code: nil, text: "Still here")) }
        await flushOutput()
    }

    /// The line ending IDLE: `DONE` (case-insensitive), anything else is a BAD.
    func finishIdle(_ idling: Idling, line: Secret) async -> CommandOutcome {
        endIdle()
        if String(decoding: line.bytes, as: UTF8.self).uppercased() == "DONE" {
            await finish(idling.tag, "Idle completed.")
        } else {
            fail(idling.tag, .expectedDone)
        }
        return .done
    }
}
