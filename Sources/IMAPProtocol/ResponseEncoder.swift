import NIOCore

/// Turns `Response`s into wire bytes (RFC 9051 §7 and the §9 grammar). Strings become
/// atoms, quoted strings or literals as their content needs: a quoted string cannot
/// hold CR, LF or NUL, nor 8-bit bytes unless the client enabled UTF8=ACCEPT or
/// IMAP4rev2 (then UTF-8 may be quoted).
public struct ResponseEncoder: Sendable {
    public struct Options: Sendable {
        /// The client enabled IMAP4rev2 or UTF8=ACCEPT: UTF-8 may appear in quoted strings.
        public var utf8: Bool
        /// The client enabled IMAP4rev2: BODY[]/BINARY labels and ESEARCH forms follow rev2.
        public var imap4rev2: Bool
        public init(utf8: Bool = false, imap4rev2: Bool = false) {
            self.utf8 = utf8
            self.imap4rev2 = imap4rev2
        }
    }
    public var options: Options
    public init(options: Options = Options()) { self.options = options }

    /// What a streamed FETCH body is labelled with before its literal.
    public enum StreamedLabel: Sendable {
        case bodySection(SectionSpec, origin: Int?)
        case binary(part: [Int], origin: Int?)
        case rfc822
        case rfc822Header
        case rfc822Text
    }
}

extension ResponseEncoder {
    /// Appends the complete wire form of `response`, CRLF included. Strings are written
    /// as atoms, quoted strings or literals by the rules in Encoder/WireStrings.swift;
    /// the few things that have no valid wire form (a VANISHED with an empty set, a
    /// response code with an empty set or a non-atom name, a keyword that is not an
    /// atom) are left out rather than sent malformed.
    public func encode(_ response: Response, into buffer: inout ByteBuffer) {
        switch response {
        case .tagged(let tag, let status, let code, let text):
            writeTaggedStatus(tag: tag, status: status, code: code, text: text, into: &buffer)
        case .untagged(let untagged):
            writeUntagged(untagged, into: &buffer)
        case .continuation(let text):
            writeContinuation(text, into: &buffer)
        }
    }

    /// Convenience for tests/logs: encode to [UInt8].
    public func bytes(of response: Response) -> [UInt8] {
        var buffer = ByteBufferAllocator().buffer(capacity: 128)
        encode(response, into: &buffer)
        return Array(buffer.readableBytesView)
    }
}
