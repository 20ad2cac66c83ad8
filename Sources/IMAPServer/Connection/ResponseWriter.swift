import IMAPProtocol
import NIOCore

/// Collects encoded responses and hands them to the channel. Responses are buffered
/// and written once per command (or whenever the buffer passes `flushThreshold`), and
/// `flush()` waits for the write, which gives a long FETCH natural backpressure: it
/// never runs ahead of the client by more than one buffer.
struct ResponseWriter {
    let channel: Channel
    var encoder: ResponseEncoder
    private(set) var buffer: ByteBuffer
    static let flushThreshold = 256 * 1024

    init(channel: Channel) {
        self.channel = channel
        self.encoder = ResponseEncoder()
        self.buffer = channel.allocator.buffer(capacity: 4096)
    }

    mutating func send(_ response: Response) {
        encoder.encode(response, into: &buffer)
    }

    mutating func untagged(_ response: UntaggedResponse) {
        encoder.encode(.untagged(response), into: &buffer)
    }

    /// The status of the last tagged response written (for the command metrics).
    var lastTaggedStatus: ResponseStatus?

    mutating func tagged(_ tag: String, _ status: ResponseStatus, _ code: ResponseCode? = nil, _ text: String) {
        lastTaggedStatus = status
        encoder.encode(.tagged(tag: tag, status: status, code: code, text: text), into: &buffer)
    }

    /// Direct access for streamed FETCH output.
    mutating func withBuffer<R>(_ body: (inout ByteBuffer, ResponseEncoder) throws -> R) rethrows -> R {
        try body(&buffer, encoder)
    }

    var needsFlush: Bool { buffer.readableBytes >= ResponseWriter.flushThreshold }

    /// Takes what is buffered, leaving the buffer empty.
    mutating func take() -> ByteBuffer? {
        guard buffer.readableBytes > 0 else { return nil }
        defer { buffer = channel.allocator.buffer(capacity: 4096) }
        return buffer
    }
}
