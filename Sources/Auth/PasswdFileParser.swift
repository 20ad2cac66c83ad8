/// Parser for Dovecot's passwd-file format (Dovecot docs "Passwd-file";
/// src/auth/db-passwd-file.c):
///
///     user:password:uid:gid:gecos:home:shell:extra_fields
///
/// Only user and password are required. Blank lines and lines whose first non-blank
/// character is `#` are ignored. Fields are split on every `:`; the extra fields are
/// everything after the 7th `:` (so their values may contain `:`), a space-separated
/// list of `key=value` or bare `key`. Dovecot's older form, an empty 8th field followed
/// by a mail location, becomes `userdb_mail=<location>` as in Dovecot.
///
/// Lenient where Dovecot is lenient: a line without `:` is skipped with a warning, a
/// repeated user keeps its first line (Dovecot does the same). Strict where guessing
/// would silently lock a user out or let the wrong one in: invalid UTF-8, NUL bytes, an
/// empty user name, a uid/gid that is neither a number nor a known name, and an extra
/// field without a name make the whole file invalid (`PasswdFileSyntaxError`).
///
/// Nothing here may put line contents into a warning or error: lines hold passwords.
enum PasswdFileParser {
    static let lineFeed = UInt8(ascii: "\n")
    static let carriageReturn = UInt8(ascii: "\r")
    static let fieldSeparator = UInt8(ascii: ":")
    static let commentMarker = UInt8(ascii: "#")
    static let space = UInt8(ascii: " ")
    static let tab = UInt8(ascii: "\t")
    static let extraFieldSeparator = UInt8(ascii: " ")
    static let keyValueSeparator = UInt8(ascii: "=")
    static let nul: UInt8 = 0
    /// Dovecot's name for the mail location in the old 9-field form.
    static let legacyMailKey = "userdb_mail"

    /// Field positions, 0-based.
    private enum Field {
        static let user = 0
        static let password = 1
        static let uid = 2
        static let gid = 3
        static let gecos = 4
        static let home = 5
        static let shell = 6
        static let extra = 7
    }

    struct Warning: Equatable, Sendable {
        enum Kind: Equatable, Sendable {
            case missingSeparator
            /// The user already appeared on `firstLine`; this line is ignored.
            case duplicateUser(firstLine: Int)
            /// The password's `{SCHEME}` is not one this server can check: that user
            /// cannot log in (said at load time, not at the first failed login).
            case unsupportedScheme(String)
        }
        var line: Int
        var kind: Kind

        /// Log text; line numbers only.
        var message: String {
            switch kind {
            case .missingSeparator:
                return "passwd file line \(line) has no ':' and is ignored"
            case .duplicateUser(let firstLine):
                return "passwd file line \(line) repeats the user of line \(firstLine) and is ignored"
            case .unsupportedScheme(let scheme):
                return
                    "passwd file line \(line) uses the unsupported password scheme {\(scheme)}; that user cannot log in"
            }
        }
    }

    struct Failure: Error, Equatable, Sendable {
        var line: Int
        var reason: String
    }

    struct Parsed: Sendable {
        var entries: [String: PasswdEntry]
        var warnings: [Warning]
    }

    /// Resolves a non-numeric uid or gid field (a user or group name); nil when unknown.
    struct NameResolver: Sendable {
        var userID: @Sendable (String) -> UInt32?
        var groupID: @Sendable (String) -> UInt32?

        static let system = NameResolver(userID: systemUserID(named:), groupID: systemGroupID(named:))
    }

    static func parse(_ contents: [UInt8], resolver: NameResolver = .system) -> Result<Parsed, Failure> {
        var entries: [String: PasswdEntry] = [:]
        var firstLineOfUser: [String: Int] = [:]
        var warnings: [Warning] = []
        var lineNumber = 0
        for rawLine in contents.split(separator: lineFeed, omittingEmptySubsequences: false) {
            lineNumber += 1
            var line = rawLine[...]
            if line.last == carriageReturn { line = line.dropLast() }
            if isBlankOrComment(line) { continue }
            guard !line.contains(nul) else {
                return .failure(Failure(line: lineNumber, reason: "contains a NUL byte"))
            }
            guard line.contains(fieldSeparator) else {
                warnings.append(Warning(line: lineNumber, kind: .missingSeparator))
                continue
            }
            let entry: PasswdEntry
            switch parseLine(line, resolver: resolver) {
            case .success(let parsed): entry = parsed
            case .failure(let reason): return .failure(Failure(line: lineNumber, reason: reason.text))
            }
            if let firstLine = firstLineOfUser[entry.user] {
                warnings.append(Warning(line: lineNumber, kind: .duplicateUser(firstLine: firstLine)))
                continue
            }
            firstLineOfUser[entry.user] = lineNumber
            entries[entry.user] = entry
            if case .unsupported(let scheme) = StoredPassword(parsing: entry.password) {
                warnings.append(Warning(line: lineNumber, kind: .unsupportedScheme(scheme)))
            }
        }
        return .success(Parsed(entries: entries, warnings: warnings))
    }

    private struct LineError: Error {
        var text: String
    }

    private static func isBlankOrComment(_ line: ArraySlice<UInt8>) -> Bool {
        guard let first = line.first(where: { $0 != space && $0 != tab }) else { return true }
        return first == commentMarker
    }

    private static func parseLine(_ line: ArraySlice<UInt8>, resolver: NameResolver) -> Result<PasswdEntry, LineError> {
        // Split on bytes, not Characters: a ':' followed by a combining mark would form
        // one Character and hide the separator.
        let rawFields = line.split(separator: fieldSeparator, omittingEmptySubsequences: false)
        var fields: [String] = []
        fields.reserveCapacity(rawFields.count)
        for raw in rawFields {
            guard let text = String(validating: raw, as: UTF8.self) else {
                return .failure(LineError(text: "is not valid UTF-8"))
            }
            fields.append(text)
        }
        func field(_ index: Int) -> String { index < fields.count ? fields[index] : "" }

        let user = field(Field.user)
        guard !user.isEmpty else { return .failure(LineError(text: "has an empty user name")) }
        var entry = PasswdEntry(user: user, password: field(Field.password))

        switch parseID(field(Field.uid), resolve: resolver.userID) {
        case .success(let uid): entry.uid = uid
        case .failure(let error): return .failure(LineError(text: "has an invalid uid (\(error.text))"))
        }
        switch parseID(field(Field.gid), resolve: resolver.groupID) {
        case .success(let gid): entry.gid = gid
        case .failure(let error): return .failure(LineError(text: "has an invalid gid (\(error.text))"))
        }
        entry.gecos = field(Field.gecos)
        entry.home = field(Field.home)
        entry.shell = field(Field.shell)

        if fields.count > Field.extra {
            let rest = fields[Field.extra...]
            if rest.count > 1 && rest.first == "" {
                // Old form: `…:shell::mail_location` (the location may contain ':').
                entry.extraFields[legacyMailKey] = rest.dropFirst().joined(separator: ":")
            } else {
                switch parseExtraFields(rest.joined(separator: ":")) {
                case .success(let extra): entry.extraFields = extra
                case .failure(let error): return .failure(error)
                }
            }
        }
        return .success(entry)
    }

    /// Empty → nil; decimal digits → the number (must fit UInt32); otherwise a name.
    private static func parseID(
        _ text: String, resolve: (String) -> UInt32?
    ) -> Result<UInt32?, LineError> {
        if text.isEmpty { return .success(nil) }
        let isDecimal = text.utf8.allSatisfy { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }
        if isDecimal {
            guard let value = UInt32(text) else { return .failure(LineError(text: "number out of range")) }
            return .success(value)
        }
        guard let value = resolve(text) else { return .failure(LineError(text: "neither a number nor a known name")) }
        return .success(value)
    }

    private static func parseExtraFields(_ text: String) -> Result<[String: String], LineError> {
        var result: [String: String] = [:]
        // Split at ASCII bytes only, so every piece is still valid UTF-8.
        for item in Array(text.utf8).split(separator: extraFieldSeparator) {
            let equals = item.firstIndex(of: keyValueSeparator)
            let key = item[..<(equals ?? item.endIndex)]
            let value = equals.map { item[($0 + 1)...] } ?? []
            guard !key.isEmpty else { return .failure(LineError(text: "has an extra field without a name")) }
            // A later duplicate wins, as Dovecot's auth_fields_add replaces.
            result[String(decoding: key, as: UTF8.self)] = String(decoding: value, as: UTF8.self)
        }
        return .success(result)
    }
}
