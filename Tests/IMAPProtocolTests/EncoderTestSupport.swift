import NIOCore
import XCTest

@testable import IMAPProtocol

/// Helpers shared by the Encoder*Tests files (namespaced: the decoder's tests live in
/// the same target).
enum EncoderFixture {
    static func encoder(utf8: Bool = false) -> ResponseEncoder {
        ResponseEncoder(options: .init(utf8: utf8))
    }

    /// The wire bytes of `response`.
    static func bytes(_ response: Response, utf8: Bool = false) -> [UInt8] {
        encoder(utf8: utf8).bytes(of: response)
    }

    /// The wire form of `response` as text (only for ASCII expectations).
    static func text(_ response: Response, utf8: Bool = false) -> String {
        String(decoding: bytes(response, utf8: utf8), as: UTF8.self)
    }

    /// What `body` writes into an empty buffer.
    static func written(utf8: Bool = false, _ body: (ResponseEncoder, inout ByteBuffer) -> Void) -> [UInt8] {
        var buffer = ByteBufferAllocator().buffer(capacity: 64)
        body(encoder(utf8: utf8), &buffer)
        return Array(buffer.readableBytesView)
    }

    static func writtenText(utf8: Bool = false, _ body: (ResponseEncoder, inout ByteBuffer) -> Void) -> String {
        String(decoding: written(utf8: utf8, body), as: UTF8.self)
    }

    static func b(_ text: String) -> [UInt8] { Array(text.utf8) }
}
