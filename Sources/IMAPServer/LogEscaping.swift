// Client-sent text in log lines (issue 11 item 8). A user name sent as a literal may hold
// CR, LF or any other byte; logged raw, `a LOGIN {40}\r\nx\r\n… peer=203.0.113.9 …
// authentication failed` forges a second log line that fail2ban acts on. Every string a
// client chose (user names, tags, mailbox names, ID fields, SASL mechanisms, …) goes
// through `LogEscaping.escape` (or `.client(…)` for metadata) before it reaches a logger;
// the executable's log handler escapes again whatever else reaches it.
import Logging

public enum LogEscaping {
    /// Characters of client text kept in one log value; the rest is cut (with a mark),
    /// so a 60 KB name cannot flood the log.
    public static let maxCharacters = 256
    static let truncationMark = "…"
    static let backslash: Unicode.Scalar = "\\"

    /// `text` with every control character (C0, DEL, C1) and Unicode line or paragraph
    /// separator written as an escape (`\r`, `\n`, `\t`, `\x07`, `\u{2028}`), `\` doubled
    /// so an escape cannot be forged, cut to `limit` characters. The result is one line.
    /// `doublingBackslashes` false: only control characters are escaped (the log
    /// handler's second pass over text already escaped where it was logged).
    public static func escape(
        _ text: some StringProtocol, limit: Int = maxCharacters, doublingBackslashes: Bool = true
    ) -> String {
        var out = ""
        var count = 0
        for scalar in text.unicodeScalars {
            if count == limit {
                out += truncationMark
                break
            }
            count += 1
            switch scalar {
            case "\r": out += "\\r"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case backslash: out += doublingBackslashes ? "\\\\" : "\\"
            case _ where scalar.value < 0x20 || (0x7f...0x9f).contains(scalar.value):
                out += "\\x" + hex(scalar.value, digits: 2)
            case "\u{2028}", "\u{2029}":
                out += "\\u{" + hex(scalar.value, digits: 4) + "}"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    private static func hex(_ value: UInt32, digits: Int) -> String {
        let text = String(value, radix: 16)
        return String(repeating: "0", count: max(0, digits - text.count)) + text
    }
}

extension Logger.MetadataValue {
    /// A client-chosen string as a log value, escaped (LogEscaping).
    public static func client(_ text: some StringProtocol) -> Logger.MetadataValue {
        .string(LogEscaping.escape(text))
    }
}
