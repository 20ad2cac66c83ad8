// Realistic, varied messages for the benchmark spools: plain text, quoted-printable,
// multipart/alternative, multipart/mixed with a base64 attachment, a forwarded
// message/rfc822, RFC 2047 subjects; sizes from about 1 KB to a few hundred KB. Lines
// end in LF, as MDAs store them. Deterministic for a seed.

struct MessageFactory: Sendable {
    static let words = [
        "meeting", "report", "quarterly", "invoice", "project", "deadline", "review", "budget", "draft",
        "schedule", "update", "release", "server", "mailbox", "question", "answer", "thanks", "regards",
        "tomorrow", "yesterday", "attached", "please", "confirm", "agenda", "notes", "summary", "customer",
        "order", "shipping", "delivery", "payment", "account", "holiday", "office", "team", "lunch",
    ]
    static let names = ["Alice Martin", "Bob Keller", "Chloé Dubois", "Dmitri Ivanov", "Eva Nowak", "Farid Haddad"]
    /// Leading seconds of generated file names and INTERNALDATEs (2023-11-14).
    static let epoch = 1_700_000_000

    enum Kind: CaseIterable {
        case plain, quotedPrintable, alternative, attachment, forwarded
    }

    /// How the mixed spool is drawn: mostly plain and alternative, some attachments.
    static func kind(forDraw draw: UInt64, small: Bool) -> Kind {
        let point = draw % 100
        if small { return point < 60 ? .plain : .alternative }
        switch point {
        case 0..<40: return .plain
        case 40..<55: return .quotedPrintable
        case 55..<80: return .alternative
        case 80..<95: return .attachment
        default: return .forwarded
        }
    }

    static func sentence<R: RandomNumberGenerator>(_ rng: inout R, words count: Int) -> String {
        var out: [String] = []
        for _ in 0..<count { out.append(words[Int(rng.next() % UInt64(words.count))]) }
        return out.joined(separator: " ")
    }

    static func paragraph<R: RandomNumberGenerator>(_ rng: inout R, bytes: Int) -> String {
        var text = ""
        while text.utf8.count < bytes { text += sentence(&rng, words: 8 + Int(rng.next() % 6)) + ".\n" }
        return text
    }

    static func headers<R: RandomNumberGenerator>(index: Int, rng: inout R, contentType: String) -> String {
        let from = names[index % names.count]
        let to = names[(index + 1) % names.count]
        let subject: String
        if rng.next() % 10 == 0 {
            subject = "=?UTF-8?B?UsOpc3Vtw6k=?= \(sentence(&rng, words: 3))"  // "Résumé"
        } else {
            subject = sentence(&rng, words: 3 + Int(rng.next() % 5))
        }
        let seconds = epoch + index * 37
        return "Return-Path: <s\(index)@example.org>\n"
            + "Received: from mx.example.org by mail.example.net; \(date(seconds))\n"
            + "From: \(from) <\(from.split(separator: " ")[0].lowercased())@example.org>\n"
            + "To: \(to) <\(to.split(separator: " ")[0].lowercased())@example.net>\n"
            + (index % 3 == 0 ? "Cc: team@example.net\n" : "")
            + "Subject: \(subject)\n" + "Date: \(date(seconds))\n" + "Message-ID: <\(index).\(seconds)@example.org>\n"
            + (index % 4 == 0 ? "In-Reply-To: <\(index - 1).\(seconds - 37)@example.org>\n" : "")
            + "MIME-Version: 1.0\n" + "Content-Type: \(contentType)\n"
    }

    /// RFC 5322 date of `seconds` since the epoch (UTC; days computed, not looked up).
    static func date(_ seconds: Int) -> String {
        let days = seconds / 86400
        let rest = seconds % 86400
        let weekday = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"][days % 7]
        // Civil-from-days (Howard Hinnant).
        let z = days + 719_468
        let era = z / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yoe + era * 400 + (month <= 2 ? 1 : 0)
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        func two(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
        return
            "\(weekday), \(day) \(months[month - 1]) \(year) \(two(rest / 3600)):\(two(rest / 60 % 60)):\(two(rest % 60)) +0000"
    }

    /// Base64 lines (76 characters) of `count` pseudo-random bytes.
    static func base64<R: RandomNumberGenerator>(_ rng: inout R, bytes count: Int) -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(count * 4 / 3 + count / 57 + 4)
        var column = 0
        for _ in 0..<(count + 2) / 3 {
            let word = rng.next()
            for shift in stride(from: 18, through: 0, by: -6) {
                out.append(alphabet[Int((word >> UInt64(shift)) & 63)])
            }
            column += 4
            if column == 76 {
                out.append(ASCII.lf)
                column = 0
            }
        }
        if column > 0 { out.append(ASCII.lf) }
        return String(decoding: out, as: UTF8.self)
    }

    static func message<R: RandomNumberGenerator>(index: Int, small: Bool, rng: inout R) -> [UInt8] {
        let boundary = "=_b\(index)_\(rng.next() % 100_000)"
        let textSize = small ? 300 + Int(rng.next() % 2500) : 500 + Int(rng.next() % 6000)
        let text: String
        switch kind(forDraw: rng.next(), small: small) {
        case .plain:
            text =
                headers(index: index, rng: &rng, contentType: "text/plain; charset=us-ascii") + "\n"
                + paragraph(&rng, bytes: textSize)
        case .quotedPrintable:
            text =
                headers(index: index, rng: &rng, contentType: "text/plain; charset=utf-8")
                + "Content-Transfer-Encoding: quoted-printable\n\n" + "Bonjour =C3=A0 tous,\n"
                + paragraph(&rng, bytes: textSize)
        case .alternative:
            let body = paragraph(&rng, bytes: textSize)
            text =
                headers(index: index, rng: &rng, contentType: "multipart/alternative; boundary=\"\(boundary)\"")
                + "\n--\(boundary)\nContent-Type: text/plain; charset=us-ascii\n\n\(body)"
                + "\n--\(boundary)\nContent-Type: text/html; charset=us-ascii\n\n<html><body><p>\n\(body)</p></body></html>\n"
                + "--\(boundary)--\n"
        case .attachment:
            let attachment = 8000 + Int(rng.next() % 120_000)
            text =
                headers(index: index, rng: &rng, contentType: "multipart/mixed; boundary=\"\(boundary)\"")
                + "\n--\(boundary)\nContent-Type: text/plain; charset=us-ascii\n\n" + paragraph(&rng, bytes: textSize)
                + "\n--\(boundary)\nContent-Type: application/pdf; name=\"report-\(index).pdf\"\n"
                + "Content-Disposition: attachment; filename=\"report-\(index).pdf\"\n"
                + "Content-Transfer-Encoding: base64\n\n" + base64(&rng, bytes: attachment) + "--\(boundary)--\n"
        case .forwarded:
            var inner = SplitMix64(seed: rng.next())
            let forwarded = String(decoding: message(index: index + 1, small: true, rng: &inner), as: UTF8.self)
            text =
                headers(index: index, rng: &rng, contentType: "multipart/mixed; boundary=\"\(boundary)\"")
                + "\n--\(boundary)\nContent-Type: text/plain; charset=us-ascii\n\nForwarded message below.\n"
                + "\n--\(boundary)\nContent-Type: message/rfc822\n\n" + forwarded + "\n--\(boundary)--\n"
        }
        return Array(text.utf8)
    }

    /// A large message: short headers, then a base64 attachment filling it to about
    /// `size` bytes.
    static func large(size: Int, seed: UInt64) -> [UInt8] {
        var rng = SplitMix64(seed: seed)
        let head =
            headers(index: 0, rng: &rng, contentType: "multipart/mixed; boundary=\"big\"")
            + "\n--big\nContent-Type: text/plain\n\nA large attachment.\n\n--big\n"
            + "Content-Type: application/octet-stream; name=\"big.bin\"\nContent-Transfer-Encoding: base64\n\n"
        let tail = "--big--\n"
        let payload = max(0, (size - head.utf8.count - tail.utf8.count) * 57 / 77)
        return Array((head + base64(&rng, bytes: payload) + tail).utf8)
    }

    /// `,W=`: the size with every LF counted as CRLF (RFC822.SIZE).
    static func virtualSize(_ bytes: [UInt8]) -> Int {
        var size = bytes.count
        var previous: UInt8 = 0
        for byte in bytes {
            if byte == ASCII.lf && previous != ASCII.cr { size += 1 }
            previous = byte
        }
        return size
    }
}
