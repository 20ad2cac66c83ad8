import NIOCore

/// COMPRESS=DEFLATE (RFC 4978) on one connection: inflates what the client sends
/// before the IMAP handler frames it, deflates what the server writes. It sits right
/// in front of `IMAPConnectionHandler` (after TLS, when there is TLS).
///
/// Output: every write is deflated at once; every flush is a Z_SYNC_FLUSH. The server
/// flushes each response burst it finishes (a tagged response, untagged updates, a
/// `+`, IDLE's updates; ChannelOutput and the connection handler write-and-flush), so
/// nothing waits in the compressor for more output (the trap that stalled iOS Mail,
/// which waits for each tagged response before it sends more).
///
/// Input: a few KB can inflate to gigabytes, so input is inflated on demand, one piece
/// of at most `inflateStep` bytes per read the IMAP handler lets through, exactly as
/// a plain socket delivers one read per read request: the IMAP handler's limits (line
/// length, literal sizes, queued input) and its read back-pressure apply to inflated
/// bytes as to plain ones. Compressed bytes wait here (at most one socket read; no
/// read goes to the socket while some wait). On top of that, input that expands more
/// than `maxExpansion` times past `expansionAllowance` ends the connection: that is a
/// deflate bomb, which would otherwise cost CPU without limit for little bandwidth.
final class CompressionHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// Deflate's window (2^windowBits) and hash memory (memLevel) are allocated for
    /// the connection's life: 2^(12+2) + 2^(5+9) = 32 KiB instead of zlib's default
    /// 256 KiB (15, 8). Chosen on a FETCH ENVELOPE BODYSTRUCTURE listing, which lost
    /// a few per cent of its compression (README, "COMPRESS").
    static let deflateWindowBits: Int32 = 12
    static let deflateMemLevel: Int32 = 5
    /// Inflated bytes delivered per read.
    static let inflateStep = 16 * 1024
    /// The inflated total may exceed this plus `maxExpansion` times the compressed total.
    static let expansionAllowance = 4 << 20
    static let maxExpansion = 256
    static let expansionText = "Compressed input expands too far."

    private let deflater: DeflateStream
    private let inflater: InflateStream
    /// Compressed input not yet inflated.
    private var pending: ByteBuffer
    private var pumpScheduled = false
    private var failed = false
    private var compressedTotal = 0
    private var inflatedTotal = 0
    /// Promises of writes whose compressed bytes have not yet been passed on.
    private var heldPromises: [EventLoopPromise<Void>] = []

    /// `leftover`: compressed bytes that arrived with or right after COMPRESS.
    init(leftover: ByteBuffer) throws(Zlib.Failure) {
        deflater = try DeflateStream(windowBits: Self.deflateWindowBits, memLevel: Self.deflateMemLevel)
        inflater = try InflateStream()
        pending = leftover
        compressedTotal = leftover.readableBytes
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if hasInput { schedulePump(context: context) }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        let promises = heldPromises
        heldPromises = []
        for promise in promises { promise.fail(ChannelError.ioOnClosedChannel) }
    }

    // MARK: Input

    private var hasInput: Bool { pending.readableBytes > 0 || inflater.mayHaveOutput }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !failed else { return }
        let bytes = unwrapInboundIn(data)
        compressedTotal += bytes.readableBytes
        if pending.readableBytes == 0 {
            pending = bytes
        } else {
            pending.writeImmutableBuffer(bytes)
        }
    }

    /// The socket read a read request let through has ended: deliver its first piece.
    func channelReadComplete(context: ChannelHandlerContext) {
        if hasInput { pump(context: context) }
    }

    /// The IMAP handler wants input: a piece of what is waiting, or a socket read.
    func read(context: ChannelHandlerContext) {
        guard !failed else { return }
        if hasInput {
            schedulePump(context: context)
        } else {
            context.read()
        }
    }

    /// Delivered on a later turn of the loop, not from inside the read request.
    private func schedulePump(context: ChannelHandlerContext) {
        guard !pumpScheduled else { return }
        pumpScheduled = true
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        context.eventLoop.execute {
            let (handler, context) = bound.value
            handler.pumpScheduled = false
            handler.pump(context: context)
        }
    }

    /// Inflates one piece and passes it on; then, as autoRead does after a socket read,
    /// asks the pipeline for the next read, which the IMAP handler holds back while
    /// its input is full (a second request while one is pending changes nothing).
    private func pump(context: ChannelHandlerContext) {
        guard !failed, context.channel.isActive else { return }
        let piece: ByteBuffer
        do {
            piece = try inflater.inflate(&pending, limit: Self.inflateStep, allocator: context.channel.allocator)
        } catch {
            fail(error.message, context: context)
            return
        }
        inflatedTotal += piece.readableBytes
        if inflatedTotal - Self.expansionAllowance > compressedTotal * Self.maxExpansion {
            fail(Self.expansionText, context: context)
            return
        }
        if pending.readableBytes == 0 { pending = ByteBuffer() }
        guard piece.readableBytes > 0 else {
            // All compressed input used up: this read request goes to the socket.
            context.read()
            return
        }
        context.fireChannelRead(wrapInboundOut(piece))
        context.fireChannelReadComplete()
        // Always, as autoRead does: with input waiting it comes back here as a pump,
        // without, it goes on to the socket (else nothing would read it again).
        context.pipeline.syncOperations.read()
    }

    /// No more input is taken; the IMAP handler says BYE (ConnectionMachine).
    private func fail(_ message: String, context: ChannelHandlerContext) {
        failed = true
        pending = ByteBuffer()
        context.fireUserInboundEventTriggered(CompressionFailure(message: message))
    }

    // MARK: Output

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        var output = context.channel.allocator.buffer(capacity: 0)
        deflater.compress(unwrapOutboundIn(data), syncFlush: false, into: &output)
        if let promise { heldPromises.append(promise) }
        if output.readableBytes > 0 { pass(output, context: context) }
    }

    func flush(context: ChannelHandlerContext) {
        var output = context.channel.allocator.buffer(capacity: 0)
        deflater.compress(ByteBuffer(), syncFlush: true, into: &output)
        pass(output, context: context)
        context.flush()
    }

    /// Writes compressed bytes; the promises of the writes they hold complete with it.
    private func pass(_ output: ByteBuffer, context: ChannelHandlerContext) {
        guard !heldPromises.isEmpty else {
            context.write(wrapOutboundOut(output), promise: nil)
            return
        }
        let promises = heldPromises
        heldPromises = []
        let promise = context.eventLoop.makePromise(of: Void.self)
        for held in promises { promise.futureResult.cascade(to: held) }
        context.write(wrapOutboundOut(output), promise: promise)
    }
}

/// The compressed input could not be used; the connection ends with BYE `message`.
struct CompressionFailure: Sendable {
    let message: String
}
