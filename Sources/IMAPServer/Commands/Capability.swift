import IMAPProtocol

extension IMAPSession {
    /// RFC 9051 §6.1.1 CAPABILITY.
    func handleCapability(tag: String) async {
        writer.untagged(.capability(capabilities))
        await finish(tag, "Capability completed.")
    }
}
