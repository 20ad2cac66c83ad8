import Auth
import Logging
import NIOCore

extension IMAPServer {
    /// The auth_http endpoint of the configuration, checked: loopback unless TLS, a
    /// passwd file to check against, the shard map readable now (a broken map at start
    /// is an error; later ones keep the last good map).
    static func makeAuthHTTP(
        configuration: ServerConfiguration, context: ServerContext, logger: Logger
    ) throws -> AuthHTTPEndpoint? {
        guard let address = configuration.authHTTPListen else {
            guard configuration.shardMapFile == nil else { throw IMAPServerError.shardMapWithoutAuthHTTP }
            return nil
        }
        guard configuration.passwdFile != nil, !configuration.anyPassword else {
            throw IMAPServerError.authHTTPWithoutPasswd
        }
        if configuration.authHTTPTLS {
            guard configuration.tlsCertificate != nil else { throw IMAPServerError.tlsListenWithoutCertificate }
        } else if !address.isLoopback {
            throw IMAPServerError.authHTTPWithoutTLSOffLoopback(address)
        }
        let shardMap = try configuration.shardMapFile.map { try ShardMapFile(path: $0, logger: logger) }
        let service = AuthHTTPService(context: context, shardMap: shardMap, logger: logger)
        return AuthHTTPEndpoint(
            service: service, maximumConnections: configuration.maxAuthHTTPConnections,
            requestTimeout: configuration.authHTTPRequestTimeout)
    }

    /// Where the auth_http endpoint listens (port 0 resolved), once bound.
    public var authHTTPAddress: SocketAddress? { authHTTPChannel.withLock { $0?.localAddress } }

    /// Binds the auth_http listener (accepting starts with the others).
    func bindAuthHTTP() async throws {
        guard let authHTTP, let address = configuration.authHTTPListen else { return }
        let channel: Channel
        do {
            channel = try await authHTTP.bind(
                group: group, address: address, tls: configuration.authHTTPTLS ? tls : nil)
        } catch {
            throw ListenFailure(address: address, kind: "auth_http", error: error)
        }
        channels.withLock { $0.append(channel) }
        authHTTPChannel.withLock { $0 = channel }
        context.logger.info(
            "auth_http listening",
            metadata: ["address": "\(channel.localAddress?.description ?? "?")", "tls": "\(configuration.authHTTPTLS)"])
    }
}
