import IMAPServer
import Metrics
import NIOCore
import NIOPosix
import Prometheus

/// `--metrics-listen HOST:PORT`: Prometheus text format over plain HTTP/1.1 at any
/// path (`/metrics` by convention). Bootstraps swift-metrics with the Prometheus
/// registry, so the server's counters (ServerMetrics) land here. The watcher counters
/// are read from the server at each scrape.
final class MetricsEndpoint: Sendable {
    let registry: PrometheusCollectorRegistry
    private let group: MultiThreadedEventLoopGroup
    private let channel: Channel
    static let requestEnd: [UInt8] = Array("\r\n\r\n".utf8)
    static let maxRequestBytes = 16 * 1024

    /// Bootstraps the metrics backend; call before the server is created.
    static func bootstrap() -> PrometheusCollectorRegistry {
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        return registry
    }

    init(registry: PrometheusCollectorRegistry, address: ListenAddress, server: IMAPServer) async throws {
        self.registry = registry
        let events = registry.makeGauge(name: "imap_watcher_events")
        let rescans = registry.makeGauge(name: "imap_watcher_rescans")
        let open = registry.makeGauge(name: "imap_connections_open")
        let render: @Sendable () -> [UInt8] = {
            events.set(Double(server.watcherEvents))
            rescans.set(Double(server.watcherRescans))
            open.set(Double(server.openConnections))
            var out: [UInt8] = []
            registry.emit(into: &out)
            return out
        }
        group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(MetricsHTTPHandler(render: render))
                }
            }
            .bind(host: address.host, port: address.port).get()
    }

    var localAddress: SocketAddress? { channel.localAddress }

    func shutdown() async {
        try? await channel.close()
        try? await group.shutdownGracefully()
    }
}

/// Reads one request head, answers 200 with the metrics, closes.
final class MetricsHTTPHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    private var request: [UInt8] = []
    private let render: @Sendable () -> [UInt8]

    init(render: @escaping @Sendable () -> [UInt8]) { self.render = render }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = unwrapInboundIn(data)
        request += buffer.readBytes(length: buffer.readableBytes) ?? []
        guard request.count <= MetricsEndpoint.maxRequestBytes else {
            context.close(promise: nil)
            return
        }
        guard Self.contains(request, MetricsEndpoint.requestEnd) else { return }
        let body = render()
        let head =
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: \(body.count)\r\nConnection: close\r\n\r\n"
        var out = context.channel.allocator.buffer(capacity: head.utf8.count + body.count)
        out.writeString(head)
        out.writeBytes(body)
        context.writeAndFlush(wrapOutboundOut(out)).whenComplete { _ in context.close(promise: nil) }
    }

    static func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
        guard haystack.count >= needle.count else { return false }
        for start in 0...(haystack.count - needle.count)
        where haystack[start..<start + needle.count].elementsEqual(needle) {
            return true
        }
        return false
    }
}
