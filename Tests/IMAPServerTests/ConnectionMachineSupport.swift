import IMAPProtocol
import NIOCore
import XCTest

@testable import IMAPServer

/// Drives a `ConnectionMachine` with a fake clock, the way IMAPConnectionHandler and
/// its event loop do: armed timers are kept from the returned actions and fire, in
/// deadline order, when the test advances the clock past them. Actions come back as
/// readable lines ("write * BYE …", "arm inactivity +60s", "close inactivity").
struct MachineDriver {
    var machine: ConnectionMachine
    private(set) var now = NIODeadline.uptimeNanoseconds(0)
    private var armed: [ConnectionMachine.Timer: NIODeadline] = [:]
    private let encoder = ResponseEncoder()

    init(implicitTLS: Bool = false, configure: (inout ServerConfiguration) -> Void = { _ in }) {
        var config = ServerConfiguration(root: "/nonexistent", passwdFile: nil)
        configure(&config)
        machine = ConnectionMachine(configuration: .init(config), implicitTLS: implicitTLS)
    }

    /// Connects and lets the greeting finish: the machine waits for a command.
    static func greeted(
        implicitTLS: Bool = false, configure: (inout ServerConfiguration) -> Void = { _ in }
    ) -> MachineDriver {
        var driver = MachineDriver(implicitTLS: implicitTLS, configure: configure)
        _ = driver.send(.connected)
        _ = driver.send(.finished(.done))
        return driver
    }

    /// A LOGIN that succeeds.
    mutating func logIn() {
        decoded("l LOGIN alice secret\r\n")
        send(.finished(.loggedIn))
    }

    @discardableResult
    mutating func send(_ event: ConnectionMachine.Event) -> [String] {
        let actions = machine.handle(event, now: now)
        return actions.map { apply($0) }
    }

    /// Decodes `text` with a fresh decoder and sends its first event.
    @discardableResult
    mutating func decoded(_ text: String) -> [String] {
        var decoder = CommandDecoder()
        decoder.append(ByteBuffer(string: text))
        guard let event = decoder.next() else {
            XCTFail("no decoder event for \(text)")
            return []
        }
        return send(.decoded(event))
    }

    /// Moves the clock forward by `seconds`, firing every timer that falls due on the
    /// way at its own deadline; returns what the firings did.
    mutating func advance(seconds: Int64) -> [String] {
        let target = now + .seconds(seconds)
        var lines: [String] = []
        while let (timer, deadline) = armed.filter({ $0.value <= target }).min(by: { $0.value < $1.value }) {
            armed[timer] = nil
            now = deadline
            lines += send(.timerFired(timer))
        }
        now = target
        return lines
    }

    private mutating func apply(_ action: ConnectionMachine.Action) -> String {
        switch action {
        case .arm(let timer, let deadline):
            armed[timer] = deadline
            let seconds = (deadline.uptimeNanoseconds - now.uptimeNanoseconds) / 1_000_000_000
            return "arm \(timer) +\(seconds)s"
        case .cancel(let timer):
            armed[timer] = nil
            return "cancel \(timer)"
        case .write(let response):
            var buffer = ByteBuffer()
            encoder.encode(response, into: &buffer)
            return "write " + String(buffer: buffer).trimmingCharacters(in: .newlines)
        case .runSession(let input): return "run \(Self.name(input))"
        case .close(let reason): return "close \(reason)"
        case .buffer(let bytes): return "buffer \(bytes.readableBytes)"
        case .useDecoderLimits(let limits): return "limits literal \(limits.maxLiteralSize)"
        case .decode, .read, .expectContinuationLine, .abandonAppend, .discardBufferedInput, .startTLS,
            .startCompression:
            return "\(action)"
        }
    }

    private static func name(_ input: ConnectionMachine.SessionInput) -> String {
        switch input {
        case .command(let command): return "command \(command.tag)"
        case .appendData(let bytes): return "appendData \(bytes.readableBytes)"
        default: return "\(input)".components(separatedBy: "(").first ?? ""
        }
    }
}
