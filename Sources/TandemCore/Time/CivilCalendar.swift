/// Days since the Unix epoch ⇄ proleptic Gregorian dates (Howard Hinnant's civil-calendar
/// algorithms, exact for every day an `Int64` of nanoseconds can reach). The one copy every text
/// form of a `Timestamp` uses: FIX UTCTimestamp, the venue's CSV and state file, JSON log lines.
public enum CivilCalendar {
    /// Days from 1970-01-01 to `year-month-day` (month 1–12, day 1–31).
    @inlinable
    public static func days(year y0: Int, month m: Int, day d: Int) -> Int {
        let y = m <= 2 ? y0 - 1 : y0
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    /// The date `days` after 1970-01-01 (negative: before).
    @inlinable
    public static func date(days z0: Int64) -> (year: Int, month: Int, day: Int) {
        let z = Int(z0) + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
    }
}
