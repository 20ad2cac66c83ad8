import IMAPProtocol

extension IMAPSession {
    /// CREATE, DELETE, RENAME, SUBSCRIBE, UNSUBSCRIBE, LSUB, APPEND, COPY and MOVE
    /// change the folder tree or add messages. They are not available in this build:
    /// the server answers NO with the reason instead of pretending, and does not
    /// advertise the capabilities (UIDPLUS, MOVE, SPECIAL-USE…) that depend on them.
    func handleMailboxManagement(tag: String, _ command: Command) async {
        writer.tagged(tag, .no, .cannot, "\(command.name) is not available on this server yet.")
    }

    func handleLsub(tag: String, reference: MailboxName, pattern: String) async {
        writer.tagged(tag, .no, .cannot, "LSUB is not available on this server yet.")
    }
}
