import NIOCore

/// A session's way to its socket, with back-pressure from the channel's writability.
///
/// Why: a client that stops reading must hold only its own memory and no thread
/// (issue 12). A writer waits here, suspended (no thread held), until the channel's
/// pending output drops below its low-water mark; the producer of a long response
/// (FetchJob) makes its next chunk only then. So a connection never has more than one
/// write-buffer high-water mark (64 KiB, NIO's default) plus the chunk just written
/// (`FetchJob.stepBytes`) queued in the process, however large the response.
///
/// Thread-safety: `waiters` lives on the channel's event loop; the session (an actor)
/// reaches it through `eventLoop.execute`, the connection handler calls
/// `writabilityChanged` and `closed` on the loop. Writes issued by one session reach
/// the loop in the order the session issued them.
final class ChannelOutput: Sendable {
    let channel: Channel
    private let waiters: NIOLoopBoundBox<[EventLoopPromise<Void>]>

    init(channel: Channel) {
        self.channel = channel
        self.waiters = NIOLoopBoundBox([], eventLoop: channel.eventLoop)
    }

    /// The channel is closed: nothing more can be written.
    struct Closed: Error {}

    /// Writes and flushes `buffer`, then returns as soon as the channel can take more
    /// (at once for a small response to a reading client). Throws `Closed` when the
    /// connection is gone.
    func write(_ buffer: ByteBuffer) async throws {
        let loop = channel.eventLoop
        if loop.inEventLoop {
            // Already on the loop: no hop, and no suspension unless the client
            // stopped reading.
            guard channel.isActive else { throw Closed() }
            channel.writeAndFlush(buffer, promise: nil)
            guard !channel.isWritable else { return }
            let promise = loop.makePromise(of: Void.self)
            waiters.value.append(promise)
            try await promise.futureResult.get()
            return
        }
        let promise = loop.makePromise(of: Void.self)
        loop.execute { [self] in
            guard channel.isActive else {
                promise.fail(Closed())
                return
            }
            channel.writeAndFlush(buffer, promise: nil)
            if channel.isWritable {
                promise.succeed()
            } else {
                waiters.value.append(promise)
            }
        }
        try await promise.futureResult.get()
    }

    /// On the event loop: the channel's writability changed (ChannelHandler).
    func writabilityChanged() {
        guard channel.isWritable, !waiters.value.isEmpty else { return }
        let ready = waiters.value
        waiters.value = []
        for promise in ready { promise.succeed() }
    }

    /// On the event loop: the channel closed; every waiting writer learns it.
    func closed() {
        let waiting = waiters.value
        waiters.value = []
        for promise in waiting { promise.fail(Closed()) }
    }
}
