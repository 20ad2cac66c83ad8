import IMAPProtocol

extension IMAPSession {
    /// RFC 9051 §6.1.2 NOOP: the client polls for changes, so rescan the selected
    /// folder and report everything before the tagged OK.
    func handleNoop(tag: String) async {
        await synchronizeSelected()
        await finish(tag, "NOOP completed.")
    }

    /// RFC 9051 §6.4.1 CHECK: nothing is buffered (every change is on disk before its
    /// OK), so CHECK is a NOOP that reports changes.
    func handleCheck(tag: String) async {
        await synchronizeSelected()
        await finish(tag, "CHECK completed.")
    }
}
