import NIOSSL
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The server's TLS context, replaceable at run time (SIGHUP). Each new connection
/// takes `current` once, when its `NIOSSLServerHandler` is created; a reload swaps the
/// context under the lock, so connections already running keep the certificate they
/// were handshaken with and new ones get the new certificate.
final class TLSContextHolder: Sendable {
    let source: TLSCertificateSource
    private let context: Mutex<NIOSSLContext>

    init(source: TLSCertificateSource) throws {
        self.source = source
        self.context = Mutex(try Self.makeContext(source))
    }

    var current: NIOSSLContext { context.withLock { $0 } }

    /// Reads the certificate and key again. On error the old context stays in use.
    func reload() throws {
        let fresh = try Self.makeContext(source)
        context.withLock { $0 = fresh }
    }

    /// Server configuration: TLS 1.2 minimum (RFC 8314 §4.1 asks for 1.2 or later),
    /// NIOSSL's default cipher suites, no client certificates.
    static func makeContext(_ source: TLSCertificateSource) throws -> NIOSSLContext {
        let chain: [NIOSSLCertificateSource]
        let key: NIOSSLPrivateKeySource
        switch source {
        case .pem(let certificateFile, let keyFile):
            try checkPEM(certificateFile, option: "--tls-cert", kind: "CERTIFICATE")
            try checkPEM(keyFile, option: "--tls-key", kind: "PRIVATE KEY")
            do {
                chain = try NIOSSLCertificate.fromPEMFile(certificateFile).map { .certificate($0) }
            } catch {
                throw TLSSetupError.file("--tls-cert", certificateFile, "not a usable PEM certificate (\(error))")
            }
            do {
                key = .privateKey(try NIOSSLPrivateKey(file: keyFile, format: .pem))
            } catch {
                throw TLSSetupError.file("--tls-key", keyFile, "not a usable PEM private key (\(error))")
            }
        case .pkcs12(let file, let passwordFile):
            try checkReadable(passwordFile, option: "--tls-pkcs12-password-file")
            try checkReadable(file, option: "--tls-pkcs12")
            let password = try readFirstLine(passwordFile)
            let bundle: NIOSSLPKCS12Bundle
            do {
                bundle = try NIOSSLPKCS12Bundle(file: file, passphrase: Array(password.utf8))
            } catch {
                throw TLSSetupError.file("--tls-pkcs12", file, "not a PKCS#12 bundle, or the password is wrong")
            }
            chain = bundle.certificateChain.map { .certificate($0) }
            key = .privateKey(bundle.privateKey)
        }
        guard !chain.isEmpty else { throw TLSSetupError.noCertificate }
        var configuration = TLSConfiguration.makeServerConfiguration(certificateChain: chain, privateKey: key)
        configuration.minimumTLSVersion = .tlsv12
        do {
            return try NIOSSLContext(configuration: configuration)
        } catch {
            throw TLSSetupError.mismatch("\(error)")
        }
    }

    /// Missing or unreadable files are named with the option that gave them.
    static func checkReadable(_ path: String, option: String) throws {
        guard let file = fopen(path, "r") else {
            throw TLSSetupError.file(option, path, String(cString: strerror(errno)))
        }
        fclose(file)
    }

    /// Readable and holding a PEM block of this kind (`-----BEGIN … CERTIFICATE-----`,
    /// `… PRIVATE KEY-----`): a swapped certificate and key are told apart here.
    static func checkPEM(_ path: String, option: String, kind: String) throws {
        guard let file = fopen(path, "r") else {
            throw TLSSetupError.file(option, path, String(cString: strerror(errno)))
        }
        defer { fclose(file) }
        var bytes = [UInt8](repeating: 0, count: 256 * 1024)
        let count = fread(&bytes, 1, bytes.count, file)
        let text = String(decoding: bytes.prefix(count), as: UTF8.self)
        var begins: [Substring] = []
        var rest = Substring(text)
        while let marker = rest.firstRange(of: "-----BEGIN ") {
            rest = rest[marker.upperBound...]
            begins.append(rest.prefix { $0 != "-" })
        }
        guard begins.contains(where: { $0.hasSuffix(kind) }) else {
            let found = begins.first.map { "holds a \($0), not a \(kind)" } ?? "is not PEM (no -----BEGIN line)"
            throw TLSSetupError.file(option, path, found)
        }
    }

    /// The password file's first line without its line ending. The password itself is
    /// never logged or put into an error.
    static func readFirstLine(_ path: String) throws -> String {
        guard let file = fopen(path, "r") else { throw TLSSetupError.unreadable(path) }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        while true {
            let c = fgetc(file)
            if c == EOF || c == 10 { break }
            bytes.append(UInt8(truncatingIfNeeded: c))
        }
        if bytes.last == 13 { bytes.removeLast() }
        return String(decoding: bytes, as: UTF8.self)
    }
}

enum TLSSetupError: Error, CustomStringConvertible {
    case noCertificate
    case unreadable(String)
    /// The option, the file, what is wrong with it.
    case file(String, String, String)
    /// NIOSSL refused the pair (typically: the key is not the certificate's).
    case mismatch(String)

    var description: String {
        switch self {
        case .noCertificate: return "the TLS certificate file holds no certificate"
        case .unreadable(let path): return "cannot read \(path)"
        case .file(let option, let path, let problem): return "\(option) \(path): \(problem)"
        case .mismatch(let error):
            return "TLS: the private key does not match the certificate, or cannot be used with it (\(error))"
        }
    }
}
