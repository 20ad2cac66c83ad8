import ArgumentParser
import IMAPProtocol
import IMAPServer
import Logging

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
        func flag(_ cli: Bool, _ name: String) throws -> Bool {
            if cli { return true }
            guard let text = file?.last(name) else { return false }
            switch text.lowercased() {
            case "yes", "true", "on", "1": return true
            case "no", "false", "off", "0": return false
            default: throw ValidationError("\(name): expected yes or no, got \(text)")
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
                guard let parsed = Int(text) else { throw ValidationError("\(name): expected a number, got \(text)") }
                n = parsed
            } else {
                return nil
            }
            guard n >= minimum else { throw ValidationError("\(name): expected a number of at least \(minimum)") }
            return n
        }

        guard let root = path(c.root, "root") else { throw ValidationError("--root is required") }
        let anyPassword = try flag(c.anyPassword, "any-password")
        let passwd = path(c.passwd, "passwd")
        guard passwd != nil || anyPassword else {
            throw ValidationError("--passwd is required (or --any-password for local testing)")
        }
        var config = ServerConfiguration(root: root, passwdFile: anyPassword ? nil : passwd)
        let listenTexts = c.listen.isEmpty ? (file?.all("listen") ?? []) : c.listen
        if !listenTexts.isEmpty {
            config.listen = try listenTexts.map { text in
                guard let address = ListenAddress(parsing: text) else {
                    throw ValidationError("--listen: expected HOST:PORT, got \(text)")
                }
                return address
            }
        }
        let tlsListenTexts = c.tlsListen.isEmpty ? (file?.all("tls-listen") ?? []) : c.tlsListen
        config.tlsListen = try tlsListenTexts.map { text in
            guard let address = ListenAddress(parsing: text) else {
                throw ValidationError("--tls-listen: expected HOST:PORT, got \(text)")
            }
            return address
        }
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
        if config.anyPassword, let open = config.listen.first(where: { !$0.isLoopback }) {
            throw ValidationError(
                "--any-password accepts any password: refusing to listen on \(open), only on loopback")
        }
        if config.createUsers && !config.anyPassword {
            throw ValidationError("--create-users only works together with --any-password")
        }
        if let template = value(c.userPath, "user-path") {
            if let problem = ServerConfiguration.userPathTemplateProblem(template) {
                throw ValidationError("--user-path \(template): \(problem)")
            }
            config.userPathTemplate = template
        }
        if let delimiter = value(c.delimiter, "delimiter") {
            guard delimiter == "/" || delimiter == "." else { throw ValidationError("--delimiter: / or .") }
            config.delimiter = Character(delimiter)
        }
        let specialUseTexts = c.specialUse.isEmpty ? (file?.all("special-use") ?? []) : c.specialUse
        config.specialUse = try Settings.specialUse(specialUseTexts)
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
                throw ValidationError("--metrics-listen: expected HOST:PORT, got \(text)")
            }
            return address
        }
        server = config

        let level = value(c.logLevel, "log-level") ?? "info"
        guard let parsed = Logger.Level(rawValue: level.lowercased()) else {
            throw ValidationError("--log-level: trace, debug, info, notice, warning or error")
        }
        logLevel = parsed
        copyRoot = try flag(c.copyRoot, "copy-root")
    }

    /// `NAME=\\Attr` pairs (RFC 6154 §2 attributes) → lowercased name → attribute.
    static func specialUse(_ texts: [String]) throws -> [String: String] {
        var result: [String: String] = [:]
        for text in texts {
            guard let equals = text.lastIndex(of: "=") else {
                throw ValidationError("--special-use: expected NAME=\\Sent, got \(text)")
            }
            var name = Substring(text[..<equals])
            while name.hasSuffix("/") { name = name.dropLast() }
            while name.hasPrefix("/") { name = name.dropFirst() }
            let given = String(text[text.index(after: equals)...])
            guard !name.isEmpty,
                let attribute = ServerConfiguration.specialUseAttributes.first(where: {
                    $0.lowercased() == given.lowercased()
                })
            else {
                throw ValidationError(
                    "--special-use \(text): NAME=ATTRIBUTE with one of \(ServerConfiguration.specialUseAttributes.joined(separator: " "))"
                )
            }
            result[name.lowercased()] = attribute
        }
        return result
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

/// `name = value` lines; `#` starts a comment line; a name may repeat (`listen`).
struct ConfigFile {
    let directory: String
    let entries: [(String, String)]

    init(path: String) throws {
        guard let file = fopen(path, "r") else { throw ValidationError("cannot read --config \(path)") }
        defer { fclose(file) }
        var entries: [(String, String)] = []
        var lineNumber = 0
        while let line = readLine(from: file) {
            lineNumber += 1
            let text = line.trimmingWhitespace()
            if text.isEmpty || text.hasPrefix("#") { continue }
            guard let equals = text.firstIndex(of: "=") else {
                throw ValidationError("\(path):\(lineNumber): expected name = value")
            }
            let name = String(text[..<equals]).trimmingWhitespace()
            let value = String(text[text.index(after: equals)...]).trimmingWhitespace()
            entries.append((name, value))
        }
        self.entries = entries
        let slash = path.lastIndex(of: "/")
        directory = slash.map { String(path[..<$0]) } ?? "."
    }

    func last(_ name: String) -> String? { entries.last { $0.0 == name }?.1 }
    func all(_ name: String) -> [String] { entries.filter { $0.0 == name }.map(\.1) }

    /// Relative paths in the file are relative to the file's own directory.
    func resolve(_ path: String) -> String { path.hasPrefix("/") ? path : directory + "/" + path }
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
