import ArgumentParser
import IMAPProtocol
import IMAPServer
import Logging
import NIOCore

#if canImport(Glibc)
    import Glibc
#endif

/// The command line merged over the configuration file, then checked. Everything the
/// server gets is decided here, once, before any socket is opened.
struct Settings {
    var server: ServerConfiguration
    var logLevel: Logger.Level
    var copyRoot: Bool
    var runAsUser: String?
    var metricsListen: ListenAddress?

    init(command c: Serve, file: ConfigFile?) throws {
        func value(_ cli: String?, _ name: String) -> String? { cli ?? file?.last(name) }
        func path(_ cli: String?, _ name: String) -> String? {
            if let cli { return cli }
            guard let file, let text = file.last(name) else { return nil }
            return file.resolve(text)
        }
        /// The error for a bad value: `FILE:LINE: name: problem` when the value came from
        /// the configuration file, `--name: problem` when from the command line.
        func problem(_ name: String, fromFile: Bool, _ text: String, line: Int? = nil) -> ValidationError {
            guard fromFile, let file else { return ValidationError("--\(name): \(text)") }
            return file.problem(name, text, line: line)
        }
        func flag(_ cli: Bool, _ name: String) throws -> Bool {
            if cli { return true }
            guard let text = file?.last(name) else { return false }
            switch text.lowercased() {
            case "yes", "true", "on", "1": return true
            case "no", "false", "off", "0": return false
            default: throw problem(name, fromFile: true, "expected yes or no, got \(text)")
            }
        }
        /// A whole-number option, from the command line or else the file, checked the same
        /// way from both: at least `minimum` (1 for counts and timeouts; 0 where 0 means
        /// "off", as for message-cache-size).
        func number(_ cli: Int?, _ name: String, minimum: Int = 1) throws -> Int? {
            let n: Int
            if let cli {
                n = cli
            } else if let text = file?.last(name) {
                guard let parsed = Int(text) else {
                    throw problem(name, fromFile: true, "expected a number, got \(text)")
                }
                n = parsed
            } else {
                return nil
            }
            guard n >= minimum else {
                throw problem(name, fromFile: cli == nil, "expected a number of at least \(minimum)")
            }
            return n
        }

        guard let root = path(c.root, "root") else {
            throw ValidationError("--root is required (or `root = DIR` in the --config file)")
        }
        let anyPassword = try flag(c.anyPassword, "any-password")
        let passwd = path(c.passwd, "passwd")
        guard passwd != nil || anyPassword else {
            throw ValidationError("--passwd is required (or --any-password for local testing)")
        }
        var config = ServerConfiguration(root: root, passwdFile: anyPassword ? nil : passwd)
        /// A repeatable option's values with their lines (nil: from the command line).
        func values(_ cli: [String], _ name: String) -> [(text: String, line: Int?)] {
            cli.isEmpty ? (file?.entries(name).map { ($0.value, $0.line) } ?? []) : cli.map { ($0, nil) }
        }
        func addresses(_ cli: [String], _ name: String) throws -> [ListenAddress] {
            try values(cli, name).map { text, line in
                guard let address = ListenAddress(parsing: text) else {
                    throw problem(name, fromFile: line != nil, "expected HOST:PORT, got \(text)", line: line)
                }
                return address
            }
        }
        let listen = try addresses(c.listen, "listen")
        if !listen.isEmpty { config.listen = listen }
        config.tlsListen = try addresses(c.tlsListen, "tls-listen")
        config.tlsCertificate = try Settings.certificate(
            cert: path(c.tlsCert, "tls-cert"), key: path(c.tlsKey, "tls-key"),
            pkcs12: path(c.tlsPkcs12, "tls-pkcs12"), password: path(c.tlsPkcs12PasswordFile, "tls-pkcs12-password-file")
        )
        if !config.tlsListen.isEmpty && config.tlsCertificate == nil {
            throw ValidationError("--tls-listen needs --tls-cert and --tls-key, or --tls-pkcs12")
        }
        config.anyPassword = anyPassword
        config.createUsers = try flag(c.createUsers, "create-users")
        config.allowPlaintextAuth = try flag(c.allowPlaintextAuth, "allow-plaintext-auth")
        for (text, line) in values(c.proxyProtocolFrom, "proxy-protocol-from") {
            // Compared with the peer's ipAddress: keep the spelling SocketAddress gives.
            guard let address = try? SocketAddress(ipAddress: text, port: 0), let canonical = address.ipAddress else {
                throw problem(
                    "proxy-protocol-from", fromFile: line != nil, "expected an IP address, got \(text)", line: line)
            }
            config.proxyProtocolFrom.append(canonical)
        }
        if let n = try number(c.proxyHeaderTimeout, "proxy-header-timeout") { config.proxyHeaderTimeoutSeconds = n }
        config.authHTTPListen = try value(c.authHttpListen, "auth-http-listen").map { text in
            guard let address = ListenAddress(parsing: text) else {
                throw problem("auth-http-listen", fromFile: c.authHttpListen == nil, "expected HOST:PORT, got \(text)")
            }
            return address
        }
        config.authHTTPTLS = try flag(c.authHttpTls, "auth-http-tls")
        config.shardMapFile = path(c.shardMap, "shard-map")
        if let n = try number(c.maxAuthHttpConnections, "max-auth-http-connections") {
            config.maxAuthHTTPConnections = n
        }
        if config.anyPassword, let open = config.listen.first(where: { !$0.isLoopback }) {
            throw ValidationError(
                "--any-password accepts any password: refusing to listen on \(open), only on loopback")
        }
        if config.createUsers && !config.anyPassword {
            throw ValidationError("--create-users only works together with --any-password")
        }
        if let template = value(c.userPath, "user-path") {
            if let reason = ServerConfiguration.userPathTemplateProblem(template) {
                throw problem("user-path", fromFile: c.userPath == nil, "\(template): \(reason)")
            }
            config.userPathTemplate = template
        }
        if let delimiter = value(c.delimiter, "delimiter") {
            guard delimiter == "/" || delimiter == "." else {
                throw problem("delimiter", fromFile: c.delimiter == nil, "expected / or ., got \(delimiter)")
            }
            config.delimiter = Character(delimiter)
        }
        for (text, line) in values(c.specialUse, "special-use") {
            guard let (name, attribute) = Settings.specialUse(text) else {
                let known = MailboxAttribute.specialUse.map(\.rawValue).joined(separator: " ")
                throw problem(
                    "special-use", fromFile: line != nil, "expected NAME=ATTRIBUTE with one of \(known), got \(text)",
                    line: line)
            }
            config.specialUse[name] = attribute
        }
        for (text, line) in values(c.quotaRule, "quota-rule") {
            if let reason = ServerConfiguration.quotaRuleProblem(text) {
                throw problem("quota-rule", fromFile: line != nil, reason, line: line)
            }
            config.quotaRules.append(text)
        }
        config.serverName = value(c.serverName, "server-name") ?? Settings.hostName()
        if let n = try number(c.idleTimeout, "idle-timeout") { config.idleTimeoutSeconds = n }
        if let n = try number(c.tlsHandshakeTimeout, "tls-handshake-timeout") { config.tlsHandshakeTimeoutSeconds = n }
        if let n = try number(c.loginTimeout, "login-timeout") { config.loginTimeoutSeconds = n }
        if let n = try number(c.maxConnections, "max-connections") { config.maxConnections = n }
        if let n = try number(c.maxConnectionsPerUser, "max-connections-per-user") { config.maxConnectionsPerUser = n }
        if let n = try number(c.maxConnectionsPerUserAddress, "max-connections-per-user-address") {
            config.maxConnectionsPerUserAddress = n
        }
        if let n = try number(c.maxLineLength, "max-line-length") { config.decoderLimits.maxLineLength = n }
        if let n = try number(c.maxLiteralSize, "max-literal-size") { config.decoderLimits.maxLiteralSize = n }
        if let n = try number(c.shutdownTimeout, "shutdown-timeout") { config.shutdownTimeoutSeconds = n }
        if let n = try number(c.maxConnectionsPerAddress, "max-connections-per-address") {
            config.maxConnectionsPerAddress = n
        }
        if let n = try number(c.maxCommandLiteralBytes, "max-command-literal-bytes") {
            config.decoderLimits.maxCommandLiteralBytes = n
        }
        if let n = try number(c.maxQueuedInput, "max-queued-input") { config.maxQueuedInputBytes = n }
        if let n = try number(c.maxBufferedLiteralBytes, "max-buffered-literal-bytes") {
            config.maxBufferedLiteralBytes = n
        }
        if let n = try number(c.messageCacheSize, "message-cache-size", minimum: 0) { config.messageCacheBytes = n }
        runAsUser = value(c.user, "user")
        metricsListen = try value(c.metricsListen, "metrics-listen").map { text in
            guard let address = ListenAddress(parsing: text) else {
                throw problem("metrics-listen", fromFile: c.metricsListen == nil, "expected HOST:PORT, got \(text)")
            }
            return address
        }
        server = config

        let level = value(c.logLevel, "log-level") ?? "info"
        guard let parsed = Logger.Level(rawValue: level.lowercased()) else {
            throw problem(
                "log-level", fromFile: c.logLevel == nil,
                "expected trace, debug, info, notice, warning or error, got \(level)")
        }
        logLevel = parsed
        copyRoot = try flag(c.copyRoot, "copy-root")
    }

    /// One `NAME=\\Attr` pair (an RFC 6154 §2 attribute, any case) → lowercased name
    /// without outer slashes and the attribute as RFC 6154 spells it; nil when it is not one.
    static func specialUse(_ text: String) -> (name: String, attribute: String)? {
        guard let equals = text.lastIndex(of: "=") else { return nil }
        var name = Substring(text[..<equals])
        while name.hasSuffix("/") { name = name.dropLast() }
        while name.hasPrefix("/") { name = name.dropFirst() }
        let given = String(text[text.index(after: equals)...])
        guard !name.isEmpty,
            let attribute = MailboxAttribute(specialUse: given)?.rawValue
        else { return nil }
        return (name.lowercased(), attribute)
    }

    /// PEM pair or PKCS#12 bundle, never both, never half of one.
    static func certificate(cert: String?, key: String?, pkcs12: String?, password: String?) throws
        -> TLSCertificateSource?
    {
        switch (cert, key, pkcs12, password) {
        case (nil, nil, nil, nil): return nil
        case (let cert?, let key?, nil, nil): return .pem(certificateFile: cert, keyFile: key)
        case (nil, nil, let bundle?, let password?): return .pkcs12(file: bundle, passwordFile: password)
        default:
            throw ValidationError(
                "TLS: give --tls-cert with --tls-key, or --tls-pkcs12 with --tls-pkcs12-password-file")
        }
    }

    static func hostName() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "localhost" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// The `--config` file: `name = value` lines with the long option names. `#` starts a
/// comment at the start of a line or after whitespace (`root = mail  # the spool`), so a
/// value may still hold a `#` inside a word. Refused, with `FILE:LINE: name: problem`:
/// a line without `=`, an unknown name (with the nearest known one), a value-less line,
/// and a single-valued name given twice (only `listen`, `tls-listen`, `special-use`, `proxy-protocol-from`
/// and `quota-rule` may repeat).
struct ConfigFile {
    struct Entry {
        var name: String
        var value: String
        var line: Int
    }

    let path: String
    let directory: String
    let entries: [Entry]

    static let repeatable: Set<String> = ["listen", "tls-listen", "special-use", "proxy-protocol-from", "quota-rule"]
    /// Every setting the file may hold: the long options of `Serve` but `config`.
    static let knownNames: [String] = [
        "root", "passwd", "listen", "tls-listen", "tls-cert", "tls-key", "tls-pkcs12", "tls-pkcs12-password-file",
        "user-path", "delimiter", "special-use", "server-name", "any-password", "create-users",
        "allow-plaintext-auth", "copy-root", "idle-timeout", "tls-handshake-timeout", "login-timeout",
        "max-connections", "max-connections-per-user", "max-connections-per-user-address", "max-line-length",
        "max-literal-size", "max-connections-per-address", "max-command-literal-bytes",
        "max-buffered-literal-bytes", "max-queued-input", "message-cache-size", "metrics-listen", "user",
        "shutdown-timeout", "log-level", "proxy-protocol-from", "proxy-header-timeout", "auth-http-listen",
        "auth-http-tls", "shard-map", "max-auth-http-connections", "quota-rule",
    ]

    init(path: String) throws {
        guard let file = fopen(path, "r") else {
            throw ValidationError("--config \(path): \(String(cString: strerror(errno)))")
        }
        defer { fclose(file) }
        self.path = path
        var entries: [Entry] = []
        var firstLine: [String: Int] = [:]
        var lineNumber = 0
        while let line = readLine(from: file) {
            lineNumber += 1
            let text = Self.withoutComment(line).trimmingWhitespace()
            if text.isEmpty { continue }
            func fail(_ problem: String) -> ValidationError { ValidationError("\(path):\(lineNumber): \(problem)") }
            guard let equals = text.firstIndex(of: "=") else { throw fail("expected name = value, got \(text)") }
            let name = String(text[..<equals]).trimmingWhitespace()
            let value = String(text[text.index(after: equals)...]).trimmingWhitespace()
            guard !name.isEmpty else { throw fail("expected name = value, got \(text)") }
            guard Self.knownNames.contains(name) else {
                let hint = Self.nearest(to: name).map { "; did you mean \($0)?" } ?? ""
                throw fail("\(name): unknown setting\(hint)")
            }
            guard !value.isEmpty else { throw fail("\(name): no value") }
            if let first = firstLine[name], !Self.repeatable.contains(name) {
                throw fail("\(name): given twice (first on line \(first)); only one is allowed")
            }
            firstLine[name] = firstLine[name] ?? lineNumber
            entries.append(Entry(name: name, value: value, line: lineNumber))
        }
        self.entries = entries
        let slash = path.lastIndex(of: "/")
        directory = slash.map { String(path[..<$0]) } ?? "."
    }

    func last(_ name: String) -> String? { entries.last { $0.name == name }?.value }
    func entries(_ name: String) -> [Entry] { entries.filter { $0.name == name } }
    func all(_ name: String) -> [String] { entries(name).map(\.value) }

    /// `FILE:LINE: name: problem` for a value of this file (its last line by default).
    func problem(_ name: String, _ text: String, line: Int? = nil) -> ValidationError {
        let at = line ?? entries.last { $0.name == name }?.line ?? 0
        return ValidationError("\(path):\(at): \(name): \(text)")
    }

    /// Relative paths in the file are relative to the file's own directory.
    func resolve(_ path: String) -> String { path.hasPrefix("/") ? path : directory + "/" + path }

    /// The line up to a `#` that starts it or follows whitespace.
    static func withoutComment(_ line: String) -> String {
        var previous: Character = " "
        for index in line.indices {
            let c = line[index]
            if c == "#" && (previous == " " || previous == "\t") { return String(line[..<index]) }
            previous = c
        }
        return line
    }

    /// The known name closest to `name` (edit distance at most 3, `_` read as `-`).
    static func nearest(to name: String) -> String? {
        let wanted = Array(name.lowercased().replacingUnderscores())
        let scored = knownNames.map { ($0, editDistance(wanted, Array($0))) }
        guard let best = scored.min(by: { $0.1 < $1.1 }), best.1 <= 3 else { return nil }
        return best.0
    }

    static func editDistance(_ a: [Character], _ b: [Character]) -> Int {
        var row = Array(0...b.count)
        for i in 1...max(1, a.count) where !a.isEmpty {
            var previousDiagonal = row[0]
            row[0] = i
            for j in 1...max(1, b.count) where !b.isEmpty {
                let saved = row[j]
                row[j] = min(row[j] + 1, row[j - 1] + 1, previousDiagonal + (a[i - 1] == b[j - 1] ? 0 : 1))
                previousDiagonal = saved
            }
        }
        return a.isEmpty ? b.count : row[b.count]
    }
}

extension String {
    fileprivate func replacingUnderscores() -> String { String(map { $0 == "_" ? "-" : $0 }) }
}

private func readLine(from file: UnsafeMutablePointer<FILE>) -> String? {
    var line: UnsafeMutablePointer<CChar>?
    var capacity = 0
    defer { free(line) }
    let n = getline(&line, &capacity, file)
    guard n >= 0, let line else { return nil }
    return String(cString: line)
}

extension String {
    func trimmingWhitespace() -> String {
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
            let last = scalars.lastIndex(where: { !$0.properties.isWhitespace })
        else { return "" }
        return String(scalars[first...last])
    }
}
