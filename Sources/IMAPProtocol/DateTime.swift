/// RFC 9051 `date` (SEARCH keys) and `date-time` (INTERNALDATE, APPEND).

/// `date = date-text / DQUOTE date-text DQUOTE`, `date-text = date-day "-" date-month "-" date-year`.
public struct IMAPDate: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var year: Int
    /// 1…12
    public var month: Int
    /// 1…31
    public var day: Int
    public init(year: Int, month: Int, day: Int) {
        self.year = year
        self.month = month
        self.day = day
    }
    public static func < (a: IMAPDate, b: IMAPDate) -> Bool {
        (a.year, a.month, a.day) < (b.year, b.month, b.day)
    }
    public static let monthNames = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ]
    /// `1-Feb-1994`
    public var description: String { "\(day)-\(monthName)-\(year)" }

    /// `date-month`. The memberwise init accepts any month, so an out-of-range value
    /// is clamped rather than indexing past the table (which would trap).
    public var monthName: String { IMAPDate.monthNames[min(max(month, 1), 12) - 1] }

    /// Days since 1970-01-01 (proleptic Gregorian), for comparisons and conversions.
    public var daysSinceEpoch: Int {
        // Howard Hinnant's days_from_civil.
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146097 + doe - 719468
    }

    public init(daysSinceEpoch z0: Int) {
        let z = z0 + 719468
        let era = (z >= 0 ? z : z - 146096) / 146097
        let doe = z - era * 146097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        self.init(year: yoe + era * 400 + (m <= 2 ? 1 : 0), month: m, day: d)
    }
}

/// `date-time = DQUOTE date-day-fixed "-" date-month "-" date-year SP time SP zone DQUOTE`
public struct IMAPDateTime: Hashable, Sendable, CustomStringConvertible {
    public var date: IMAPDate
    public var hour: Int
    public var minute: Int
    public var second: Int
    /// Offset from UTC in minutes (`+0100` is 60).
    public var zoneMinutes: Int

    public init(date: IMAPDate, hour: Int, minute: Int, second: Int, zoneMinutes: Int) {
        self.date = date
        self.hour = hour
        self.minute = minute
        self.second = second
        self.zoneMinutes = zoneMinutes
    }

    /// The instant as seconds since the Unix epoch.
    public var secondsSinceEpoch: Int64 {
        Int64(date.daysSinceEpoch) * 86400 + Int64(hour * 3600 + minute * 60 + second)
            - Int64(zoneMinutes * 60)
    }

    /// The instant `seconds` shown in the zone `zoneMinutes` east of UTC.
    public init(secondsSinceEpoch seconds: Int64, zoneMinutes: Int = 0) {
        let local = seconds + Int64(zoneMinutes * 60)
        var days = local / 86400
        var rest = local % 86400
        if rest < 0 {
            rest += 86400
            days -= 1
        }
        self.init(
            date: IMAPDate(daysSinceEpoch: Int(days)), hour: Int(rest / 3600),
            minute: Int(rest % 3600 / 60), second: Int(rest % 60), zoneMinutes: zoneMinutes)
    }

    /// `" 1-Feb-1994 21:52:25 -0800"` without the quotes (day space-padded).
    public var description: String {
        func two(_ v: Int) -> String { v < 10 ? "0\(v)" : "\(v)" }
        let day = date.day < 10 ? " \(date.day)" : "\(date.day)"
        let sign = zoneMinutes < 0 ? "-" : "+"
        let z = Int(clamping: zoneMinutes.magnitude)  // abs(Int.min) would trap
        return
            "\(day)-\(date.monthName)-\(date.year) \(two(hour)):\(two(minute)):\(two(second)) \(sign)\(two(z / 60))\(two(z % 60))"
    }
}
