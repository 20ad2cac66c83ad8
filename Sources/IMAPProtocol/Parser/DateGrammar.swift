/// RFC 9051 §9 `date` (SEARCH) and `date-time` (APPEND).
extension GrammarParser {
    /// `date = date-text / DQUOTE date-text DQUOTE`
    mutating func date() throws(ParseError) -> IMAPDate {
        let quoted = consume(ASCII.dquote)
        let date = try dateText(dayMayBeSpacePadded: false)
        if quoted { try expect(ASCII.dquote) }
        return date
    }

    /// `date-text = date-day "-" date-month "-" date-year`; `date-day = 1*2DIGIT`;
    /// `date-year = 4DIGIT`. In date-time the day is `date-day-fixed = (SP DIGIT) /
    /// 2DIGIT`; a one-digit day without the space is accepted there too.
    private mutating func dateText(dayMayBeSpacePadded: Bool) throws(ParseError) -> IMAPDate {
        if dayMayBeSpacePadded { _ = consume(ASCII.space) }
        let day = try fixedDigits(minCount: 1, maxCount: 2)
        try expectInDate(ASCII.minus)
        let month = try month()
        try expectInDate(ASCII.minus)
        let year = try fixedDigits(minCount: 4, maxCount: 4)
        guard day >= 1, day <= GrammarParser.daysIn(month: month, year: year) else { throw .invalidDate }
        return IMAPDate(year: year, month: month, day: day)
    }

    /// `date-month = "Jan" / "Feb" / … / "Dec"` (case-insensitive), 1…12.
    private mutating func month() throws(ParseError) -> Int {
        let start = position
        guard position + 3 <= bytes.count else { throw .invalidDate }
        position += 3
        let name = uppercased(start..<position)
        guard let index = IMAPDate.monthNames.firstIndex(where: { $0.uppercased() == name }) else {
            throw .invalidDate
        }
        return index + 1
    }

    /// `date-time = DQUOTE date-day-fixed "-" date-month "-" date-year SP time SP zone DQUOTE`;
    /// `time = 2DIGIT ":" 2DIGIT ":" 2DIGIT`; `zone = ("+" / "-") 4DIGIT`.
    mutating func dateTime() throws(ParseError) -> IMAPDateTime {
        try expect(ASCII.dquote)
        let date = try dateText(dayMayBeSpacePadded: true)
        try expectInDate(ASCII.space)
        let hour = try fixedDigits(minCount: 2, maxCount: 2)
        try expectInDate(ASCII.colon)
        let minute = try fixedDigits(minCount: 2, maxCount: 2)
        try expectInDate(ASCII.colon)
        let second = try fixedDigits(minCount: 2, maxCount: 2)
        try expectInDate(ASCII.space)
        let sign: Int
        if consume(ASCII.plus) {
            sign = 1
        } else if consume(ASCII.minus) {
            sign = -1
        } else {
            throw .invalidDate
        }
        let zone = try fixedDigits(minCount: 4, maxCount: 4)
        try expectInDate(ASCII.dquote)
        // A leap second (60) is legal in RFC 5322 times.
        guard hour < 24, minute < 60, second <= 60, zone % 100 < 60 else { throw .invalidDate }
        return IMAPDateTime(
            date: date, hour: hour, minute: minute, second: second, zoneMinutes: sign * (zone / 100 * 60 + zone % 100))
    }

    private mutating func expectInDate(_ byte: UInt8) throws(ParseError) {
        guard consume(byte) else { throw .invalidDate }
    }

    /// `minCount`…`maxCount` digits as an Int.
    private mutating func fixedDigits(minCount: Int, maxCount: Int) throws(ParseError) -> Int {
        var value = 0
        var count = 0
        while count < maxCount, let b = peek(), ASCII.isDigit(b) {
            value = value * 10 + Int(b - ASCII.zero)
            count += 1
            position += 1
        }
        guard count >= minCount else { throw .invalidDate }
        return value
    }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }
}
