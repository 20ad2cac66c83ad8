// Where a user's Maildir is: the passwd entry's home when it has one, else the
// `--user-path` template (Dovecot's %u, %n, %d) expanded under `--root`.
//
// Attack handled here (issue 11 item 1): a login name chosen so that the template
// expands outside the spool. `%d/%n` with `alice@` once gave `/alice` (the empty domain
// made the result absolute), `@` gave `/` itself, and a passwd user without a domain
// `/rtproof`. Like Dovecot, which refuses user names with characters outside
// auth_username_chars and keeps expanded passwd-file paths inside their static prefix,
// every field is checked before it is used and the result is checked again as a whole:
// - each field (%u, %n, %d) must be non-empty, not `.` or `..`, without `/`, NUL or
//   any control character, and at most one path component long;
// - every component of the expansion must be non-empty and not `.` or `..` (fields
//   glued together, `%n%d` = `.` + `.`, would otherwise make `..`);
// - the template itself is relative (checked at startup, and again here), so the
//   result is always strictly inside the root;
// - a passwd home is the administrator's choice and may be anywhere, but it must be
//   absolute, not `/`, and without `.`/`..` components or control characters.
// A refusal is an ordinary authentication failure for the client; the reason is logged.

/// Why a user's Maildir path was not made (logged; the client only sees a failed login).
struct UserPathRefusal: Error, CustomStringConvertible {
    let description: String
}

enum UserDirectory {
    /// Longest file name on Linux (NAME_MAX): a longer component could never be created.
    static let maxComponentBytes = 255
    static let pathSeparator: Character = "/"
    static let variableMarker: Character = "%"

    /// Login names that cannot be used at all, whatever the template (checked before
    /// the password, so a hostile name costs no crypt(3)).
    static func isAcceptableUsername(_ name: String) -> Bool {
        guard !name.isEmpty, name.utf8.count <= maxComponentBytes, !name.hasPrefix("."), name != ".." else {
            return false
        }
        return !name.unicodeScalars.contains { $0 == "/" || isControl($0) }
    }

    /// The user's Maildir: `home` when the passwd entry has one, else the template
    /// expanded under the root.
    static func path(for username: String, home: String, config: ServerConfiguration) -> Result<
        String, UserPathRefusal
    > {
        if !home.isEmpty { return checkedHome(home) }
        return expand(config.userPathTemplate, username: username).map { relative in
            config.root.hasSuffix("/") ? config.root + relative : config.root + "/" + relative
        }
    }

    /// The template with the user's fields filled in: a relative path whose every
    /// component is a plain name.
    static func expand(_ template: String, username: String) -> Result<String, UserPathRefusal> {
        if let problem = templateProblem(template) { return .failure(UserPathRefusal(description: problem)) }
        let at = username.lastIndex(of: "@")
        let local = at.map { String(username[..<$0]) } ?? username
        let domain = at.map { String(username[username.index(after: $0)...]) } ?? ""
        var result = ""
        var iterator = template.makeIterator()
        while let c = iterator.next() {
            guard c == variableMarker else {
                result.append(c)
                continue
            }
            let value: String
            let variable = iterator.next()
            switch variable {
            case "u": value = username
            case "n": value = local
            case "d": value = domain
            case "%":
                result.append(variableMarker)
                continue
            default:
                // `templateProblem` let no other variable through.
                return .failure(UserPathRefusal(description: "unknown variable in the template"))
            }
            if let problem = fieldProblem(value) {
                return .failure(UserPathRefusal(description: "%\(variable.map(String.init) ?? "") \(problem)"))
            }
            result += value
        }
        if let problem = componentsProblem(result) {
            return .failure(UserPathRefusal(description: "the expanded path \(problem)"))
        }
        return .success(result)
    }

    /// Why `template` cannot be a `--user-path`, or nil when it can: it must be a
    /// relative path of plain components using only %u, %n, %d and %%.
    static func templateProblem(_ template: String) -> String? {
        guard !template.isEmpty else { return "is empty" }
        guard !template.hasPrefix(String(pathSeparator)) else { return "must be relative to --root" }
        guard !template.unicodeScalars.contains(where: isControl) else { return "contains a control character" }
        var iterator = template.makeIterator()
        while let c = iterator.next() {
            guard c == variableMarker else { continue }
            switch iterator.next() {
            case "u", "n", "d", "%": continue
            default: return "uses an unknown variable (only %u, %n, %d and %% are known)"
            }
        }
        // Literal parts are checked as they stand (variables never hold `/`; the
        // expansion is checked again).
        return componentsProblem(template).map { "path \($0)" }
    }

    /// Why one field's value cannot go into a path, or nil.
    static func fieldProblem(_ value: String) -> String? {
        if value.isEmpty { return "is empty" }
        if value == "." || value == ".." { return "is \(value)" }
        if value.utf8.count > maxComponentBytes { return "is too long" }
        if value.contains(pathSeparator) { return "contains /" }
        if value.unicodeScalars.contains(where: isControl) { return "contains a control character" }
        return nil
    }

    /// Why a relative path is not a list of plain components, or nil.
    private static func componentsProblem(_ path: String) -> String? {
        for component in path.split(separator: pathSeparator, omittingEmptySubsequences: false) {
            if component.isEmpty { return "has an empty component" }
            if component == "." || component == ".." { return "has a \(component) component" }
            if component.utf8.count > maxComponentBytes { return "has a component over 255 bytes" }
        }
        return nil
    }

    /// A passwd home, used as the Maildir as it is when it is a plain absolute path.
    private static func checkedHome(_ home: String) -> Result<String, UserPathRefusal> {
        func refuse(_ reason: String) -> Result<String, UserPathRefusal> {
            .failure(UserPathRefusal(description: "passwd home \(reason)"))
        }
        guard home.hasPrefix(String(pathSeparator)) else { return refuse("is not an absolute path") }
        guard !home.unicodeScalars.contains(where: isControl) else { return refuse("contains a control character") }
        let components = home.split(separator: pathSeparator)
        guard !components.isEmpty else { return refuse("is /") }
        guard !components.contains(where: { $0 == "." || $0 == ".." }) else { return refuse("has a . or .. component") }
        return .success(home)
    }

    private static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value < 0x20 || scalar.value == 0x7f
    }
}

extension ServerConfiguration {
    /// Why `template` cannot be `userPathTemplate` (for the executable's checks at
    /// startup), or nil when it can.
    public static func userPathTemplateProblem(_ template: String) -> String? {
        UserDirectory.templateProblem(template)
    }
}
