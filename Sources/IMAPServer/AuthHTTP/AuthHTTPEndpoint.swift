import Auth
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import Synchronization

/// `--auth-http-listen HOST:PORT`: nginx's auth_http service (issue 17 item 1;
/// docs/nginx-proxy.md). Plain HTTP on a loopback address, or TLS with the server's
/// certificate (`--auth-http-tls`) anywhere else: nginx sends the passwords in it.
///
/// Bounds: a request head of at most `maximumHeaderBytes` (NIOHTTP1's decoder answers
/// 400 and closes past it), `maximumConnections` auth connections at once (more get 503
/// and are closed), and `requestDeadline` (`authHTTPRequestTimeout`) for a connection to send its request (not
/// for the answer, which the login throttle may hold longer). nginx
/// opens one connection per attempt and closes it after the answer.
final class AuthHTTPEndpoint: Sendable {
    static let maximumHeaderBytes = 8 * 1024
    static let maximumHeaderFields = 64

    let service: AuthHTTPService
    let maximumConnections: Int
    let requestDeadline: TimeAmount
    private let open = Atomic<Int>(0)

    init(service: AuthHTTPService, maximumConnections: Int, requestTimeout: Duration) {
        self.service = service
        self.maximumConnections = maximumConnections
        let (seconds, attoseconds) = requestTimeout.components
        requestDeadline = .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }

    /// Open auth connections now, for tests.
    var openConnections: Int { open.load(ordering: .relaxed) }

    /// Binds without accepting (the server's listeners start together).
    func bind(
        group: EventLoopGroup, address: ListenAddress, tls: TLSContextHolder?
    ) async throws -> Channel {
        try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .serverChannelOption(.autoRead, value: false)
            .childChannelOption(.autoRead, value: true)
            .childChannelInitializer { [self] channel in
                channel.eventLoop.makeCompletedFuture {
                    try self.configure(channel, tls: tls)
                }
            }
            .bind(host: address.host, port: address.port).get()
    }

    private func configure(_ channel: Channel, tls: TLSContextHolder?) throws {
        let admitted = open.add(1, ordering: .relaxed).newValue <= maximumConnections
        channel.closeFuture.whenComplete { [self] _ in _ = open.subtract(1, ordering: .relaxed) }
        let pipeline = channel.pipeline.syncOperations
        if let tls { try pipeline.addHandler(NIOSSLServerHandler(context: tls.current)) }
        var limits = NIOHTTPDecoderLimitConfiguration()
        limits.maxHeaderFieldSize = Self.maximumHeaderBytes
        limits.maxHeaderListSize = Self.maximumHeaderBytes
        limits.maxHeaderFieldCount = Self.maximumHeaderFields
        try pipeline.configureHTTPServerPipeline(
            withPipeliningAssistance: false, withErrorHandling: true, withEncoderConfiguration: .init(),
            withDecoderLimitConfiguration: limits)
        try pipeline.addHandler(AuthHTTPHandler(service: admitted ? service : nil, deadline: requestDeadline))
    }
}

/// One auth connection: reads one request, answers it, closes (nginx's auth_http
/// speaks HTTP/1.0, one request per connection). The password check runs in a task;
/// the answer goes back through the channel, so the handler keeps no state across it.
final class AuthHTTPHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    /// nil: over the connection limit, every request gets 503.
    private let service: AuthHTTPService?
    private var head: HTTPRequestHead?
    private var answered = false
    private let requestDeadline: TimeAmount
    private var deadline: Scheduled<Void>?

    init(service: AuthHTTPService?, deadline: TimeAmount) {
        self.service = service
        self.requestDeadline = deadline
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let channel = context.channel
        deadline = context.eventLoop.scheduleTask(in: requestDeadline) {
            channel.close(promise: nil)
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        deadline?.cancel()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let requestHead): head = requestHead
        case .body: break  // nginx sends none; ignored, never buffered
        case .end:
            guard !answered, let head else { return }
            answered = true
            // The deadline is for sending the request; the answer may rightly wait
            // longer (a guessed user's login penalty, up to 15 s).
            deadline?.cancel()
            respond(to: head, channel: context.channel)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        // HTTPServerProtocolErrorHandler has already answered 400 to a parser error.
        context.close(promise: nil)
    }

    private func respond(to head: HTTPRequestHead, channel: Channel) {
        guard let service else {
            return AuthHTTPResponse.send(.serviceUnavailable, HTTPHeaders(), version: head.version, on: channel)
        }
        guard head.method == .GET else {
            return AuthHTTPResponse.send(.methodNotAllowed, ["Allow": "GET"], version: head.version, on: channel)
        }
        let version = head.version
        guard let request = Self.accepted(head.headers, service: service, version: version, on: channel) else {
            return
        }
        Task {
            let answer = await service.answer(request)
            AuthHTTPResponse.send(.ok, answer.headers, version: version, on: channel)
        }
    }

    /// The request when it is one to check a password for; otherwise answers it.
    private static func accepted(
        _ headers: HTTPHeaders, service: AuthHTTPService, version: HTTPVersion, on channel: Channel
    ) -> AuthHTTPRequest? {
        let refusal: AuthHTTPRequest.Refusal
        switch AuthHTTPRequest.parse(headers) {
        case .success(let request): return request
        case .failure(let failure): refusal = failure
        }
        switch refusal {
        case .badRequest(let reason):
            service.logger.notice("auth_http: bad request", metadata: ["reason": .client(reason)])
            AuthHTTPResponse.send(.badRequest, HTTPHeaders(), version: version, on: channel)
        case .unsupportedMethod:
            AuthHTTPResponse.send(.ok, AuthHTTPAnswer.unsupportedMethod.headers, version: version, on: channel)
        case .unsupportedProtocol:
            AuthHTTPResponse.send(.ok, AuthHTTPAnswer.unsupportedProtocol.headers, version: version, on: channel)
        }
        return nil
    }
}

/// Writes a header-only answer and closes the connection (one request per connection).
enum AuthHTTPResponse {
    static func send(
        _ status: HTTPResponseStatus, _ headers: HTTPHeaders, version: HTTPVersion, on channel: Channel
    ) {
        var headers = headers
        headers.add(name: "Content-Length", value: "0")
        headers.add(name: "Connection", value: "close")
        let responseVersion = version.major == 1 && version.minor == 0 ? HTTPVersion.http1_0 : .http1_1
        let head = HTTPResponseHead(version: responseVersion, status: status, headers: headers)
        channel.write(HTTPServerResponsePart.head(head), promise: nil)
        channel.writeAndFlush(HTTPServerResponsePart.end(nil)).whenComplete { _ in
            channel.close(promise: nil)
        }
    }
}
