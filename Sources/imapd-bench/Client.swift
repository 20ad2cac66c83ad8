// One IMAP client connection over SwiftNIO (NIOAsyncChannel), as the scenarios use it:
// send a tagged command, read responses up to its tagged status, check what came back.
//
// Protocol errors noticed here (issue 6: any of them counts as an error): a tagged
// status with another tag than the command's, an untagged BAD, a line that is no IMAP
// response, the connection closing before the tagged status.
import NIOCore
import NIOPosix

enum BenchError: Error, CustomStringConvertible {
    case closed(during: String)
    case tagMismatch(expected: String, got: String)
    case unexpectedStatus(command: String, status: ResponseStatus, text: String)
    case greeting(String)
    case continuationExpected(command: String, got: String)
    case setup(String)

    var description: String {
        switch self {
        case .closed(let during): return "connection closed during \(during)"
        case .tagMismatch(let expected, let got): return "tag mismatch: sent \(expected), got \(got)"
        case .unexpectedStatus(let command, let status, let text): return "\(command): \(status.rawValue): \(text)"
        case .greeting(let text): return "bad greeting: \(text)"
        case .continuationExpected(let command, let got): return "\(command): expected a continuation, got \(got)"
        case .setup(let text): return text
        }
    }
}

/// The tagged status of a command and what arrived before it.
struct CommandResult: Sendable {
    var status: ResponseStatus
    var text: String
    var untaggedCount: Int
    var literalBytes: Int
}

/// Monotonic nanoseconds (CLOCK_MONOTONIC through NIO).
@inline(__always) func now() -> UInt64 { NIODeadline.now().uptimeNanoseconds }

struct IMAPClient {
    private var iterator: NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator
    private let outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>
    private var framer = ResponseFramer()
    private var tagNumber = 0
    /// Messages in the selected mailbox as the server reported them (EXISTS, EXPUNGE).
    private(set) var exists = 0
    /// The last `* OK [UIDNEXT n]` of a SELECT (RFC 9051 §7.1), 0 before.
    private(set) var uidNext = 0
    /// Numbers in the last `* SORT` or `* THREAD` response (RFC 5256 §4): as many as
    /// messages listed, to check a whole-folder SORT or THREAD answered for every message.
    var listed = 0
    /// Untagged BAD responses seen since the last `takeProtocolErrors`.
    private var protocolErrors: [String] = []
    /// Called for every `* n EXISTS`, with its arrival time (IDLE scenarios).
    var onExists: ((Int, UInt64) -> Void)?

    init(inbound: NIOAsyncChannelInboundStream<ByteBuffer>, outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>) {
        self.iterator = inbound.makeAsyncIterator()
        self.outbound = outbound
    }

    mutating func takeProtocolErrors() -> [String] {
        defer { protocolErrors = [] }
        return protocolErrors
    }

    /// The next complete response; tracks EXISTS/EXPUNGE and untagged BAD.
    mutating func next(during context: String) async throws -> IMAPResponse {
        while true {
            if let response = try framer.next() {
                observe(response)
                return response
            }
            guard let bytes = try await iterator.next() else { throw BenchError.closed(during: context) }
            framer.append(bytes)
        }
    }

    private mutating func observe(_ response: IMAPResponse) {
        guard response.kind == .untagged else { return }
        // `* n FETCH` is by far the most frequent: nothing to note.
        if response.untaggedNumber("FETCH") != nil { return }
        if let count = response.untaggedNumber("EXISTS") {
            exists = count
            onExists?(count, now())
        } else if response.untaggedNumber("EXPUNGE") != nil {
            exists = max(0, exists - 1)
        } else if response.isUntaggedBAD {
            protocolErrors.append(response.excerpt)
        } else if let value = response.responseCode("UIDNEXT") {
            uidNext = value
        } else if response.isUntagged("SORT") || response.isUntagged("THREAD") || response.isUntagged("SEARCH") {
            listed = response.numberCount
        }
    }

    /// RFC 9051 §7.1.1: the greeting must be `* OK` (or PREAUTH, which we never ask for).
    mutating func readGreeting() async throws {
        let greeting = try await next(during: "greeting")
        guard greeting.isUntaggedOK else { throw BenchError.greeting(greeting.excerpt) }
    }

    mutating func makeTag() -> String {
        tagNumber += 1
        return "b\(tagNumber)"
    }

    mutating func send(_ text: String) async throws {
        try await outbound.write(ByteBuffer(string: text))
    }

    mutating func send(_ buffer: ByteBuffer) async throws {
        try await outbound.write(buffer)
    }

    /// Sends `tag text` and reads to the tagged status. `expectOK`: NO/BAD throw.
    mutating func command(_ text: String, expectOK: Bool = true) async throws -> CommandResult {
        let tag = makeTag()
        try await send(tag + " " + text + "\r\n")
        return try await readTagged(tag, command: text, expectOK: expectOK)
    }

    /// Reads responses up to the tagged status of `tag`.
    mutating func readTagged(_ tag: String, command: String, expectOK: Bool = true) async throws -> CommandResult {
        var untagged = 0
        var literalBytes = 0
        while true {
            let response = try await next(during: command)
            literalBytes += response.literalBytes
            switch response.kind {
            case .untagged: untagged += 1
            case .continuation: throw BenchError.continuationExpected(command: command, got: response.excerpt)
            case .tagged(let got, let status):
                guard got == tag else { throw BenchError.tagMismatch(expected: tag, got: got) }
                if expectOK && status != .ok {
                    throw BenchError.unexpectedStatus(
                        command: Self.verb(command), status: status, text: response.excerpt)
                }
                return CommandResult(
                    status: status, text: response.excerpt, untaggedCount: untagged, literalBytes: literalBytes)
            }
        }
    }

    /// Waits for the `+` of a synchronizing literal or IDLE; a tagged answer instead
    /// (e.g. NO [TOOBIG]) is an error.
    mutating func awaitContinuation(_ tag: String, command: String) async throws {
        while true {
            let response = try await next(during: command)
            switch response.kind {
            case .continuation: return
            case .untagged: continue
            case .tagged(let got, let status):
                guard got == tag else { throw BenchError.tagMismatch(expected: tag, got: got) }
                throw BenchError.unexpectedStatus(command: Self.verb(command), status: status, text: response.excerpt)
            }
        }
    }

    /// RFC 9051 §6.3.12 APPEND with a synchronizing literal, sent in chunks so a large
    /// message is never copied whole once more.
    mutating func append(mailbox: String, flags: String, message: ByteBuffer) async throws -> CommandResult {
        let tag = makeTag()
        let command = "APPEND \(mailbox) (\(flags)) {\(message.readableBytes)}"
        try await send(tag + " " + command + "\r\n")
        try await awaitContinuation(tag, command: command)
        let chunk = 1 << 20
        var offset = 0
        while offset < message.readableBytes {
            let length = min(chunk, message.readableBytes - offset)
            if let slice = message.getSlice(at: message.readerIndex + offset, length: length) { try await send(slice) }
            offset += length
        }
        try await send("\r\n")
        return try await readTagged(tag, command: command)
    }

    /// RFC 2177 IDLE: the command, its continuation. `done()` ends it.
    mutating func startIdle() async throws -> String {
        let tag = makeTag()
        try await send(tag + " IDLE\r\n")
        try await awaitContinuation(tag, command: "IDLE")
        return tag
    }

    mutating func done(_ tag: String) async throws -> CommandResult {
        try await send("DONE\r\n")
        return try await readTagged(tag, command: "IDLE")
    }

    /// LOGOUT: `* BYE` then the tagged OK (RFC 9051 §6.1.3).
    mutating func logout() async throws {
        _ = try await command("LOGOUT")
    }

    static func verb(_ command: String) -> String {
        String(command.split(separator: " ", maxSplits: 2).prefix(2).joined(separator: " ").prefix(40))
    }
}

/// Where and how clients connect.
struct ServerAddress: Sendable {
    var host: String
    var port: Int
}

enum Connector {
    /// Connects, hands a client to `body`, closes when it returns or throws.
    static func withClient<R: Sendable>(
        _ address: ServerAddress, group: EventLoopGroup, _ body: (inout IMAPClient) async throws -> R
    ) async throws -> R {
        let channel = try await ClientBootstrap(group: group)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .connect(host: address.host, port: address.port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        return try await channel.executeThenClose { inbound, outbound in
            var client = IMAPClient(inbound: inbound, outbound: outbound)
            try await client.readGreeting()
            return try await body(&client)
        }
    }
}

/// IMAP quoted string (RFC 9051 §4.3) for user names and passwords.
func quoted(_ text: String) -> String {
    var out = "\""
    for character in text {
        if character == "\"" || character == "\\" { out.append("\\") }
        out.append(character)
    }
    return out + "\""
}
