import NIOCore

/// What a listed proxy said about the client (issue 17). `address` is nil when the
/// header names none (v2 LOCAL, v1 UNKNOWN): the proxy's own address stands.
struct ProxiedClient: Sendable {
    var address: SocketAddress?
}

/// First handler of a connection from a listed proxy (issue 17): reads the PROXY
/// protocol header, then adds the IMAP handler built for the real client address and
/// steps aside. Limits before memory: at most `ProxyProtocolHeader.maximumLength`
/// bytes are buffered and the header must arrive within `deadline`; anything else
/// closes the connection without reading further and without a greeting (the proxy,
/// not a person, is on the other end).
final class ProxyProtocolHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    /// Adds the handlers that serve the connection (TLS, IMAP) at the end of the
    /// pipeline, where this handler is the only one, once the client is known.
    private let addNext: (ProxiedClient, ChannelPipeline.SynchronousOperations) throws -> Void
    private let deadline: TimeAmount
    private var buffered: ByteBuffer?
    private var timeout: Scheduled<Void>?
    private var done = false

    init(
        deadline: TimeAmount,
        addNext: @escaping (ProxiedClient, ChannelPipeline.SynchronousOperations) throws -> Void
    ) {
        self.deadline = deadline
        self.addNext = addNext
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { startDeadline(context: context) }
    }

    /// Held back: the IMAP handler sees channelActive once it exists.
    func channelActive(context: ChannelHandlerContext) {
        startDeadline(context: context)
    }

    private func startDeadline(context: ChannelHandlerContext) {
        guard timeout == nil else { return }
        let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        timeout = context.eventLoop.scheduleTask(in: deadline) {
            loopBound.value.close(promise: nil)
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !done else { return }
        var incoming = unwrapInboundIn(data)
        if buffered == nil {
            buffered = incoming
        } else {
            buffered!.writeBuffer(&incoming)
        }
        guard let bytes = buffered else { return }
        switch ProxyProtocolHeader.parse(bytes) {
        case .needMoreData:
            // parse refuses a header past its maximum, so this stays bounded.
            return
        case .invalid:
            fail(context: context)
        case .header(let header, let length):
            done = true
            timeout?.cancel()
            var rest = bytes
            rest.moveReaderIndex(forwardBy: length)
            buffered = nil
            hand(context: context, to: header.source, rest: rest)
        }
    }

    private func fail(context: ChannelHandlerContext) {
        done = true
        timeout?.cancel()
        buffered = nil
        context.close(promise: nil)
    }

    /// Adds the IMAP handler (and TLS) after this one, lets it see the connection open and any
    /// bytes that came with the header (a pipelined first command), then leaves.
    private func hand(context: ChannelHandlerContext, to source: SocketAddress?, rest: ByteBuffer) {
        do {
            try addNext(ProxiedClient(address: source), context.pipeline.syncOperations)
        } catch {
            context.close(promise: nil)
            return
        }
        context.fireChannelActive()
        if rest.readableBytes > 0 {
            context.fireChannelRead(wrapInboundOut(rest))
            context.fireChannelReadComplete()
        }
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        timeout?.cancel()
        // Before the header the IMAP handler does not exist: nothing to tell it.
        if done { context.fireChannelInactive() }
    }
}
