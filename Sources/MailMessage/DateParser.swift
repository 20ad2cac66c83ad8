import IMAPProtocol

/// RFC 5322 §3.3 `date-time`, with the obsolete forms of §4.3 tolerated: optional
/// day of week, comments anywhere, 2- and 3-digit years (§4.3: 00–49 → 20xx, 50–999
/// → +1900), missing seconds, dashes around the month, alphabetic zones (UT, GMT, Z,
/// the US zones; military letters are -0000 as §4.3 advises) and a missing zone
/// (taken as UTC).
enum RFC5322Date {
    private static let months = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
    private static let days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    /// Obsolete zone names and their offsets in minutes (RFC 5322 §4.3).
    private static let zones: [String: Int] = [
        "ut": 0, "gmt": 0, "z": 0, "utc": 0,
        "est": -300, "edt": -240, "cst": -360, "cdt": -300,
        "mst": -420, "mdt": -360, "pst": -480, "pdt": -420,
    ]

    /// The date as written in its own zone, and the instant in seconds since the epoch.
    static func parse(_ value: [UInt8]) -> (date: IMAPDate, seconds: Int64)? {
        var lexer = RFC822Lexer(value)
        _ = lexer.skipCFWS()
        // [ day-of-week "," ]
        let start = lexer.pos
        if let word = alphaWord(&lexer), days.contains(String(word.prefix(3))) {
            _ = lexer.skipCFWS()
            if lexer.current == ASCII.comma {
                lexer.pos += 1
                _ = lexer.skipCFWS()
            }
        } else {
            lexer.pos = start
        }
        guard let day = number(&lexer, maxDigits: 2) else { return nil }
        skipSeparators(&lexer)
        guard let monthWord = alphaWord(&lexer), monthWord.count >= 3,
            let monthIndex = months.firstIndex(of: String(monthWord.prefix(3)))
        else { return nil }
        skipSeparators(&lexer)
        guard let (rawYear, yearDigits) = numberWithDigits(&lexer, maxDigits: 4) else { return nil }
        let year =
            yearDigits == 2
            ? (rawYear < 50 ? 2000 + rawYear : 1900 + rawYear) : yearDigits == 3 ? 1900 + rawYear : rawYear
        _ = lexer.skipCFWS()
        var hour = 0
        var minute = 0
        var second = 0
        if let h = number(&lexer, maxDigits: 2) {
            guard lexer.current == ASCII.colon else { return nil }
            lexer.pos += 1
            guard let m = number(&lexer, maxDigits: 2) else { return nil }
            hour = h
            minute = m
            if lexer.current == ASCII.colon {
                lexer.pos += 1
                guard let s = number(&lexer, maxDigits: 2) else { return nil }
                second = s
            }
            _ = lexer.skipCFWS()
        }
        var zone = 0
        let sign = lexer.current
        if sign == ASCII.plus || sign == ASCII.hyphen {
            lexer.pos += 1
            guard let (hhmm, digits) = numberWithDigits(&lexer, maxDigits: 4), digits == 4, hhmm % 100 < 60 else {
                return nil
            }
            zone = (hhmm / 100 * 60 + hhmm % 100) * (sign == ASCII.hyphen ? -1 : 1)
        } else if let word = alphaWord(&lexer) {
            // Military letters other than Z, and unknown names: -0000 (unknown offset).
            zone = zones[word] ?? 0
        }
        let month = monthIndex + 1
        guard year >= 1, year <= 9999, day >= 1, day <= daysIn(month: month, year: year), hour <= 23,
            minute <= 59, second <= 60
        else { return nil }
        let date = IMAPDate(year: year, month: month, day: day)
        let local = Int64(date.daysSinceEpoch) * 86400 + Int64(hour * 3600 + minute * 60 + second)
        return (date, local - Int64(zone * 60))
    }

    private static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    private static func skipSeparators(_ lexer: inout RFC822Lexer) {
        _ = lexer.skipCFWS()
        while lexer.current == ASCII.hyphen {
            lexer.pos += 1
            _ = lexer.skipCFWS()
        }
    }

    private static func alphaWord(_ lexer: inout RFC822Lexer) -> String? {
        var word = ""
        while !lexer.atEnd, ASCII.isAlpha(lexer.current), word.count < 16 {
            word.unicodeScalars.append(Unicode.Scalar(ASCII.lowercased(lexer.current)))
            lexer.pos += 1
        }
        return word.isEmpty ? nil : word
    }

    private static func number(_ lexer: inout RFC822Lexer, maxDigits: Int) -> Int? {
        numberWithDigits(&lexer, maxDigits: maxDigits)?.0
    }

    private static func numberWithDigits(_ lexer: inout RFC822Lexer, maxDigits: Int) -> (Int, Int)? {
        var value = 0
        var digits = 0
        while !lexer.atEnd, ASCII.isDigit(lexer.current) {
            guard digits < maxDigits else { return nil }
            value = value * 10 + Int(lexer.current - ASCII.zero)
            digits += 1
            lexer.pos += 1
        }
        return digits == 0 ? nil : (value, digits)
    }
}
