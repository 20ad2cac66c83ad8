import IMAPProtocol

extension IMAPSession {
    /// RFC 9208 §4.1.3 SETQUOTA: limits come from the administrator's rules (passwd
    /// fields, `--quota-rule`), so a client may not change them. The command was parsed
    /// whole (a malformed one got BAD); this answers as Dovecot 2.3 does.
    func handleSetQuota(tag: String) {
        fail(tag, .quotaChangeNotPermitted)
    }
}
