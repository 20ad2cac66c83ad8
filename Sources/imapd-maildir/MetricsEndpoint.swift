import IMAPServer
import Metrics
import NIOCore
import NIOPosix
import Prometheus
import Synchronization

/// `--metrics-listen HOST:PORT`: Prometheus text format over plain HTTP/1.1 at
/// `/metrics` (any other path is 404). Bootstraps swift-metrics with the Prometheus
/// registry, so the server's counters (ServerMetrics) land here. The watcher counters
/// are read from the server at each scrape. Every metric has `# HELP` and `# TYPE`
/// (README "Metrics" lists them).
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
        let events = registry.makeCounter(
            descriptor: MetricNameDescriptor(
                metricName: "imap_watcher_events", unitName: "total", helpText: Self.help["imap_watcher_events_total"]!)
        )
        let rescans = registry.makeCounter(
            descriptor: MetricNameDescriptor(
                metricName: "imap_watcher_rescans", unitName: "total",
                helpText: Self.help["imap_watcher_rescans_total"]!))
        let open = registry.makeGauge(
            descriptor: MetricNameDescriptor(
                metricName: "imap_connections_open", unitName: "", helpText: Self.help["imap_connections_open"]!))
        // The watcher's totals are read from the server; the counters get the difference.
        let seen = Mutex((events: 0, rescans: 0))
        let render: @Sendable () -> [UInt8] = {
            seen.withLock { seen in
                let (nowEvents, nowRescans) = (server.watcherEvents, server.watcherRescans)
                if nowEvents > seen.events { events.increment(by: Int64(nowEvents - seen.events)) }
                if nowRescans > seen.rescans { rescans.increment(by: Int64(nowRescans - seen.rescans)) }
                seen = (max(seen.events, nowEvents), max(seen.rescans, nowRescans))
            }
            open.set(Double(server.openConnections))
            var out: [UInt8] = []
            registry.emit(into: &out)
            return Self.addingHelp(to: out)
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

    /// `# HELP` of every metric. Those made through swift-metrics (ServerMetrics) have
    /// no help text in the registry, so the lines are added to the output here, before
    /// each metric's `# TYPE` line.
    static let help: [String: String] = [
        "imap_connections_total": "Client connections accepted.",
        "imap_sessions_active": "Sessions logged in now.",
        "imap_commands_total": "Commands answered, by command and result (ok, no, bad).",
        "imap_command_duration_seconds": "Time from a command's last byte to its tagged answer.",
        "imap_auth_attempts_total": "LOGIN and AUTHENTICATE attempts.",
        "imap_auth_failures_total": "LOGIN and AUTHENTICATE attempts that failed.",
        "imap_messages_sent_total": "FETCH responses sent.",
        "imap_bytes_sent_total": "Bytes sent to clients.",
        "imap_watcher_events_total": "inotify events read for open folders.",
        "imap_watcher_rescans_total": "Full rescans after an inotify queue overflow.",
        "imap_connections_open": "Client connections open now.",
    ]

    static func addingHelp(to text: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(text.count + 1024)
        var previous = ""
        for line in text.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            let string = String(decoding: line, as: UTF8.self)
            defer { previous = string }
            // Metrics made with a help text already have their # HELP line.
            if string.hasPrefix("# TYPE "), let name = string.split(separator: " ").dropFirst(2).first,
                !previous.hasPrefix("# HELP \(name) "), let help = help[String(name)]
            {
                out += Array("# HELP \(name) \(help)\n".utf8)
            }
            out += line
            out.append(UInt8(ascii: "\n"))
        }
        if text.last == UInt8(ascii: "\n") { out.removeLast() }
        return out
    }

    func shutdown() async {
        try? await channel.close()
        try? await group.shutdownGracefully()
    }
}

/// Reads one request head; answers 200 with the metrics for `GET /metrics` (a query
/// string allowed), 404 for any other path; closes.
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
        let target = String(decoding: request.prefix { $0 != UInt8(ascii: "\r") }, as: UTF8.self).split(separator: " ")
        let path = target.count >= 2 ? target[1].prefix { $0 != "?" } : ""
        let found = path == "/metrics"
        let body = found ? render() : Array("Not found: the metrics are at /metrics\n".utf8)
        let status = found ? "200 OK" : "404 Not Found"
        let type = found ? "text/plain; version=0.0.4" : "text/plain"
        let head =
            "HTTP/1.1 \(status)\r\nContent-Type: \(type)\r\nContent-Length: \(body.count)\r\nConnection: close\r\n\r\n"
        var out = context.channel.allocator.buffer(capacity: head.utf8.count + body.count)
        out.writeString(head)
        out.writeBytes(body)
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(out)).whenComplete { _ in channel.close(promise: nil) }
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
