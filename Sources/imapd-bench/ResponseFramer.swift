// Framing of IMAP server responses (RFC 9051 §7, §4.3 literals) for the load generator.
//
// A response is one line, or several lines glued by literals: a line ending in `{N}`
// (or `~{N}`, RFC 3516 literal8) is followed by N bytes, then the response continues.
// Literal bytes are counted, never stored, so a 50 MB BODY[] costs no memory here.
import NIOCore

/// What the first token of a response says it is.
enum ResponseKind: Equatable, Sendable {
    case tagged(tag: String, status: ResponseStatus)
    case untagged
    case continuation
}

/// The status of a tagged response (RFC 9051 §7.1).
enum ResponseStatus: String, Equatable, Sendable {
    case ok = "OK"
    case no = "NO"
    case bad = "BAD"
}

/// One complete server response: its text with every literal left out (the `{N}`
/// markers stay), and how many literal bytes it carried.
struct IMAPResponse: Equatable, Sendable {
    var kind: ResponseKind
    var text: [UInt8]
    var literalBytes: Int

    /// `* <n> <keyword>` (EXISTS, EXPUNGE, RECENT, FETCH): n, else nil.
    /// Scans bytes in place (no split, no allocation): it runs for every response of a
    /// 100,000-line FETCH.
    func untaggedNumber(_ keyword: String) -> Int? {
        guard kind == .untagged, text.count > 2 else { return nil }
        var i = 2
        var number = 0
        while i < text.count, text[i] >= ASCII.zero, text[i] <= ASCII.nine, i < 20 {
            number = number * 10 + Int(text[i] - ASCII.zero)
            i += 1
        }
        guard i > 2, i < text.count, text[i] == ASCII.space else { return nil }
        i += 1
        var matched = 0
        for expected in keyword.utf8 {
            guard i + matched < text.count, ASCII.upper(text[i + matched]) == expected else { return nil }
            matched += 1
        }
        guard i + matched == text.count || text[i + matched] == ASCII.space else { return nil }
        return number
    }

    /// `* BAD …`: an error whatever command runs (issue 6: counted as a protocol error).
    var isUntaggedBAD: Bool { kind == .untagged && hasWord("BAD", at: 1) }
    /// `* BYE …`.
    var isBYE: Bool { kind == .untagged && hasWord("BYE", at: 1) }
    /// `* OK …` (the greeting, among others).
    var isUntaggedOK: Bool { kind == .untagged && hasWord("OK", at: 1) }

    /// `* <keyword> …` (SORT, THREAD, SEARCH).
    func isUntagged(_ keyword: String) -> Bool { kind == .untagged && hasWord(keyword, at: 1) }

    /// `* OK [<code> n] …`: n (UIDNEXT, UIDVALIDITY), else nil.
    func responseCode(_ code: String) -> Int? {
        let open = Array(("[" + code + " ").utf8)
        guard isUntaggedOK, text.count > 5 + open.count, Array(text[5..<(5 + open.count)]) == open else { return nil }
        let digits = text[(5 + open.count)...].prefix { $0 >= ASCII.zero && $0 <= ASCII.nine }
        return Int(decimal: digits)
    }

    /// How many runs of digits the response holds after its first two words: the
    /// message numbers of `* SORT 3 1 2` or `* THREAD (1 2)(3)`.
    var numberCount: Int {
        var count = 0
        var inNumber = false
        var words = 0
        for byte in text {
            if words < 2 {
                if byte == ASCII.space { words += 1 }
                continue
            }
            let digit = byte >= ASCII.zero && byte <= ASCII.nine
            if digit && !inNumber { count += 1 }
            inNumber = digit
        }
        return count
    }

    /// Word number `index` (0-based, single spaces) is `word`, case-insensitively.
    private func hasWord(_ word: String, at index: Int) -> Bool {
        var start = 0
        for _ in 0..<index {
            guard let space = text[start...].firstIndex(of: ASCII.space) else { return false }
            start = space + 1
        }
        var matched = 0
        for expected in word.utf8 {
            guard start + matched < text.count, ASCII.upper(text[start + matched]) == expected else { return false }
            matched += 1
        }
        return start + matched == text.count || text[start + matched] == ASCII.space
    }

    /// The text as a String, shortened for error messages.
    var excerpt: String {
        let limit = 120
        let head = String(decoding: text.prefix(limit), as: UTF8.self)
        return text.count > limit ? head + "…" : head
    }
}

enum ASCII {
    static let space = UInt8(ascii: " ")
    static let cr = UInt8(ascii: "\r")
    static let lf = UInt8(ascii: "\n")
    static let openBrace = UInt8(ascii: "{")
    static let closeBrace = UInt8(ascii: "}")
    static let plus = UInt8(ascii: "+")
    static let star = UInt8(ascii: "*")
    static let zero = UInt8(ascii: "0")
    static let nine = UInt8(ascii: "9")

    static func upper(_ byte: UInt8) -> UInt8 {
        byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z") ? byte - 32 : byte
    }
}

extension Int {
    /// A non-negative decimal number, digits only (no sign), that fits in an Int.
    init?<C: Collection>(decimal digits: C) where C.Element == UInt8 {
        guard !digits.isEmpty, digits.count <= 18 else { return nil }
        var value = 0
        for digit in digits {
            guard digit >= ASCII.zero && digit <= ASCII.nine else { return nil }
            value = value * 10 + Int(digit - ASCII.zero)
        }
        self = value
    }
}

/// A response the framer cannot accept.
enum FramingError: Error, Equatable, CustomStringConvertible {
    case lineTooLong(Int)
    case malformed(String)

    var description: String {
        switch self {
        case .lineTooLong(let n): return "response line longer than \(n) bytes"
        case .malformed(let line): return "malformed response: \(line)"
        }
    }
}

/// Incremental framer: `append` bytes as they arrive, then call `next` until nil.
struct ResponseFramer {
    /// Longest response text (literals excluded) accepted; a `UID FETCH 1:*` answer is
    /// many responses, each short, so this only stops a runaway line.
    static let maxTextLength = 16 * 1024 * 1024

    private var input = ByteBuffer()
    private var text: [UInt8] = []
    private var literalRemaining = 0
    private var literalTotal = 0

    mutating func append(_ bytes: ByteBuffer) {
        var bytes = bytes
        if input.readableBytes == 0 { input.clear() }
        input.writeBuffer(&bytes)
    }

    mutating func append(_ bytes: [UInt8]) {
        append(ByteBuffer(bytes: bytes))
    }

    /// The next complete response, or nil when more bytes are needed.
    mutating func next() throws -> IMAPResponse? {
        while true {
            if literalRemaining > 0 {
                let skip = min(literalRemaining, input.readableBytes)
                input.moveReaderIndex(forwardBy: skip)
                literalRemaining -= skip
                if literalRemaining > 0 { return nil }
            }
            let view = input.readableBytesView
            guard let lf = view.firstIndex(of: ASCII.lf) else {
                if text.count + view.count > Self.maxTextLength { throw FramingError.lineTooLong(Self.maxTextLength) }
                return nil
            }
            var end = lf
            if end > view.startIndex && view[end - 1] == ASCII.cr { end -= 1 }
            text.append(contentsOf: view[view.startIndex..<end])
            input.moveReaderIndex(forwardBy: lf - view.startIndex + 1)
            if text.count > Self.maxTextLength { throw FramingError.lineTooLong(Self.maxTextLength) }
            if input.readerIndex > 1 << 20 { input.discardReadBytes() }
            if let size = Self.trailingLiteralSize(text) {
                literalRemaining = size
                literalTotal += size
                continue
            }
            let response = try Self.classify(text, literalBytes: literalTotal)
            text.removeAll(keepingCapacity: true)
            literalTotal = 0
            return response
        }
    }

    /// `{N}`, `{N+}` or `~{N}` at the end of a line: N.
    static func trailingLiteralSize(_ line: [UInt8]) -> Int? {
        guard line.last == ASCII.closeBrace, let open = line.lastIndex(of: ASCII.openBrace) else { return nil }
        var digits = line[(open + 1)..<(line.count - 1)]
        if digits.last == ASCII.plus { digits = digits.dropLast() }
        return Int(decimal: digits)
    }

    /// RFC 9051 §2.2.2: `+` continuation, `*` untagged, else `tag SP (OK|NO|BAD)`.
    static func classify(_ text: [UInt8], literalBytes: Int) throws -> IMAPResponse {
        guard let first = text.first else { throw FramingError.malformed("(empty line)") }
        if first == ASCII.plus { return IMAPResponse(kind: .continuation, text: text, literalBytes: literalBytes) }
        if first == ASCII.star && text.count >= 2 && text[1] == ASCII.space {
            return IMAPResponse(kind: .untagged, text: text, literalBytes: literalBytes)
        }
        let words = text.split(separator: ASCII.space, maxSplits: 2, omittingEmptySubsequences: false)
        guard words.count >= 2, !words[0].isEmpty,
            let status = ResponseStatus(rawValue: String(decoding: words[1].map(ASCII.upper), as: UTF8.self))
        else {
            throw FramingError.malformed(String(decoding: text.prefix(120), as: UTF8.self))
        }
        return IMAPResponse(
            kind: .tagged(tag: String(decoding: words[0], as: UTF8.self), status: status), text: text,
            literalBytes: literalBytes)
    }
}
