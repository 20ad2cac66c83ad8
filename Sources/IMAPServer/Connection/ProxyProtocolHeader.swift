import NIOCore

/// The PROXY protocol header (HAProxy's proxy-protocol.txt, versions 1 and 2) that a
/// listed proxy such as nginx (`proxy_protocol on`) sends before the first IMAP byte,
/// carrying the real client's address (issue 17). Parsing is pure and bounded: it looks
/// at no more than `maximumLength` bytes, so a peer that never ends its header costs a
/// fixed amount of memory; the caller adds the read deadline.
struct ProxyProtocolHeader: Equatable {
    /// The real client (source) address; nil for a v2 LOCAL command or v1 `UNKNOWN`,
    /// where the connection's own peer address stands.
    var source: SocketAddress?

    /// v1 is at most 107 bytes (spec §2.1). v2 is 16 bytes plus a length; addresses
    /// take at most 216 bytes, and we allow TLVs up to this total and refuse more.
    static let maximumV1Length = 107
    static let maximumLength = 16 + 512

    /// v2's 12-byte signature (spec §2.2).
    static let v2Signature: [UInt8] = [0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A]

    enum ParseResult: Equatable {
        /// More bytes are needed; nothing was consumed.
        case needMoreData
        /// A header of `length` bytes; the bytes after it belong to IMAP.
        case header(ProxyProtocolHeader, length: Int)
        /// Not a valid header: the connection is to be closed without reading further.
        case invalid
    }

    /// Parses the start of `bytes` without consuming it.
    static func parse(_ bytes: ByteBuffer) -> ParseResult {
        let view = bytes.readableBytesView
        let signature = v2Signature
        let v1Prefix = Array("PROXY ".utf8)
        // Decide the version as soon as the first bytes disagree with one of them.
        let v2Possible = view.starts(with: signature.prefix(view.count))
        let v1Possible = view.starts(with: v1Prefix.prefix(view.count))
        if v2Possible && view.count >= signature.count { return parseV2(Array(view.prefix(maximumLength))) }
        if v1Possible && view.count >= v1Prefix.count { return parseV1(Array(view.prefix(maximumV1Length))) }
        return v1Possible || v2Possible ? .needMoreData : .invalid
    }

    // MARK: Version 1: "PROXY TCP4 src dst sport dport\r\n"

    private static func parseV1(_ bytes: [UInt8]) -> ParseResult {
        // The line ends at CRLF; a bare LF (or any control byte) is not a header.
        guard let cr = bytes.firstIndex(where: { $0 == 0x0D || $0 == 0x0A }) else {
            return bytes.count >= maximumV1Length ? .invalid : .needMoreData
        }
        guard bytes[cr] == 0x0D else { return .invalid }
        guard cr + 1 < bytes.count else { return .needMoreData }
        guard bytes[cr + 1] == 0x0A, bytes[..<cr].allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) else { return .invalid }
        let line = String(decoding: bytes[..<cr], as: UTF8.self)
        let fields = line.split(separator: " ", omittingEmptySubsequences: false).map(String.init)
        let length = cr + 2
        if fields.count >= 2 && fields[1] == "UNKNOWN" {
            return .header(ProxyProtocolHeader(source: nil), length: length)
        }
        guard fields.count == 6, fields[1] == "TCP4" || fields[1] == "TCP6",
            let sourcePort = port(fields[4]), port(fields[5]) != nil,
            isAddress(fields[2], v6: fields[1] == "TCP6"), isAddress(fields[3], v6: fields[1] == "TCP6"),
            let source = try? SocketAddress(ipAddress: fields[2], port: sourcePort)
        else { return .invalid }
        return .header(ProxyProtocolHeader(source: source), length: length)
    }

    /// Decimal 0...65535 without sign or leading zeros (spec §2.1).
    private static func port(_ text: String) -> Int? {
        guard !text.isEmpty, text.count <= 5, text.allSatisfy(\.isASCII), text.allSatisfy(\.isNumber),
            text == "0" || !text.hasPrefix("0"), let value = Int(text), value <= 65535
        else { return nil }
        return value
    }

    private static func isAddress(_ text: String, v6: Bool) -> Bool {
        guard let address = try? SocketAddress(ipAddress: text, port: 0) else { return false }
        switch address {
        case .v4: return !v6
        case .v6: return v6
        default: return false
        }
    }

    // MARK: Version 2: binary

    private static func parseV2(_ bytes: [UInt8]) -> ParseResult {
        guard bytes.count >= 16 else { return .needMoreData }
        let versionCommand = bytes[12]
        let family = bytes[13]
        let declared = Int(bytes[14]) << 8 | Int(bytes[15])
        guard versionCommand >> 4 == 2, versionCommand & 0x0F <= 1 else { return .invalid }
        let length = 16 + declared
        guard length <= maximumLength else { return .invalid }
        guard bytes.count >= length else { return .needMoreData }
        // LOCAL (health checks by the proxy itself): keep the connection's own address.
        if versionCommand & 0x0F == 0 { return .header(ProxyProtocolHeader(source: nil), length: length) }
        let body = bytes[16..<length]
        switch family {
        case 0x11:  // TCP over IPv4: src(4) dst(4) sport(2) dport(2)
            guard declared >= 12 else { return .invalid }
            let a = Array(body.prefix(4))
            let port = Int(body[body.startIndex + 8]) << 8 | Int(body[body.startIndex + 9])
            guard let source = try? SocketAddress(ipAddress: a.map(String.init).joined(separator: "."), port: port)
            else { return .invalid }
            return .header(ProxyProtocolHeader(source: source), length: length)
        case 0x21:  // TCP over IPv6: src(16) dst(16) sport(2) dport(2)
            guard declared >= 36 else { return .invalid }
            let a = Array(body.prefix(16))
            let groups = stride(from: 0, to: 16, by: 2).map { String(Int(a[$0]) << 8 | Int(a[$0 + 1]), radix: 16) }
            let port = Int(body[body.startIndex + 32]) << 8 | Int(body[body.startIndex + 33])
            guard let source = try? SocketAddress(ipAddress: groups.joined(separator: ":"), port: port)
            else { return .invalid }
            return .header(ProxyProtocolHeader(source: source), length: length)
        case 0x00:  // UNSPEC with PROXY: the receiver must use its own address (§2.2).
            return .header(ProxyProtocolHeader(source: nil), length: length)
        default:
            return .invalid
        }
    }
}
