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
            chain = try NIOSSLCertificate.fromPEMFile(certificateFile).map { .certificate($0) }
            key = .privateKey(try NIOSSLPrivateKey(file: keyFile, format: .pem))
        case .pkcs12(let file, let passwordFile):
            let password = try readFirstLine(passwordFile)
            let bundle = try NIOSSLPKCS12Bundle(file: file, passphrase: Array(password.utf8))
            chain = bundle.certificateChain.map { .certificate($0) }
            key = .privateKey(bundle.privateKey)
        }
        guard !chain.isEmpty else { throw TLSSetupError.noCertificate }
        var configuration = TLSConfiguration.makeServerConfiguration(certificateChain: chain, privateKey: key)
        configuration.minimumTLSVersion = .tlsv12
        return try NIOSSLContext(configuration: configuration)
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

    var description: String {
        switch self {
        case .noCertificate: return "the TLS certificate file holds no certificate"
        case .unreadable(let path): return "cannot read \(path)"
        }
    }
}
