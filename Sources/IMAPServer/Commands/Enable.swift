import IMAPProtocol

extension IMAPSession {
    /// RFC 5161 ENABLE (part of RFC 9051 §6.3.1): IMAP4rev2, UTF8=ACCEPT (RFC 6855),
    /// CONDSTORE and QRESYNC (RFC 7162 §3.2.3: QRESYNC implies CONDSTORE). Only valid
    /// once authenticated; unknown names are ignored, as the RFC says.
    func handleEnable(tag: String, names: [String]) async {
        guard state.user != nil else {
            fail(tag, .notBeforeLogin("ENABLE"))
            return
        }
        var newly: [String] = []
        for name in names {
            let upper = name.uppercased()
            guard Capability.enableable.contains(upper), !enabled.contains(upper) else { continue }
            if upper == "CONDSTORE" || upper == "QRESYNC" { enableCondstore() }
            enabled.insert(upper)
            newly.append(upper == "IMAP4REV2" ? Capability.imap4rev2 : upper)
        }
        writer.encoder.options = ResponseEncoder.Options(utf8: utf8Enabled, imap4rev2: rev2Enabled)
        writer.untagged(.enabled(newly))
        await finish(tag, "ENABLE completed.")
    }
}
