/// One line of a Dovecot passwd-file:
/// `user:password:uid:gid:gecos:home:shell:extra_fields` (fields after password
/// optional; blank lines and `#` comments ignored; extra_fields space-separated
/// key=value).
///
/// `password` is kept exactly as written (e.g. `{SHA512-CRYPT}$6$…`). It is a secret, so
/// `description`, `debugDescription` and the mirror (`dump`) all leave it out: an entry
/// interpolated into a log line by mistake does not leak it.
public struct PasswdEntry: Sendable, Hashable {
    public var user: String
    /// As in the file, e.g. "{SHA512-CRYPT}$6$...".
    public var password: String
    public var uid: UInt32?
    public var gid: UInt32?
    public var gecos: String
    /// "" when empty.
    public var home: String
    public var shell: String
    /// Space-separated `key=value` items of the 8th field; a bare `key` maps to "".
    /// Dovecot's old form (an empty 8th field followed by a mail location) appears as
    /// `userdb_mail`.
    public var extraFields: [String: String]

    public init(
        user: String, password: String, uid: UInt32? = nil, gid: UInt32? = nil, gecos: String = "",
        home: String = "", shell: String = "", extraFields: [String: String] = [:]
    ) {
        self.user = user
        self.password = password
        self.uid = uid
        self.gid = gid
        self.gecos = gecos
        self.home = home
        self.shell = shell
        self.extraFields = extraFields
    }

    /// True when the password is stored in clear text ({PLAIN} or {CLEARTEXT}).
    public var hasPlaintextPassword: Bool {
        if case .plain = StoredPassword(parsing: password) { return true }
        return false
    }
}

extension PasswdEntry: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// Every field except the password.
    public var description: String {
        let uidText = uid.map(String.init) ?? "-"
        let gidText = gid.map(String.init) ?? "-"
        return "PasswdEntry(user: \(user), password: <redacted>, uid: \(uidText), gid: \(gidText), "
            + "home: \(home), extraFields: \(extraFields.keys.sorted()))"
    }

    public var debugDescription: String { description }

    public var customMirror: Mirror {
        Mirror(
            self,
            children: [
                "user": user, "password": "<redacted>", "uid": uid as Any, "gid": gid as Any, "gecos": gecos,
                "home": home, "shell": shell, "extraFields": extraFields,
            ], displayStyle: .struct)
    }
}
