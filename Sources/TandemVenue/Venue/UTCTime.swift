import TandemCore

/// ISO-8601 UTC text for the venue's state file, logon text and replay CSV: exact integer
/// arithmetic (Howard Hinnant's civil-calendar algorithms), no Foundation, no floating point.
public enum UTCTime {
    /// `2026-11-25T23:48:40.123456789Z` (nanoseconds).
    public static func format(_ t: Timestamp) -> String {
        let perDay: Int64 = 86_400_000_000_000
        var day = t.nanosecondsSinceEpoch / perDay
        var ns = t.nanosecondsSinceEpoch % perDay
        if ns < 0 { day -= 1; ns += perDay }
        let (y, m, d) = CivilCalendar.date(days: day)
        let sec = ns / 1_000_000_000
        func pad(_ v: Int64, _ n: Int) -> String {
            let s = String(v)
            return String(repeating: "0", count: max(0, n - s.count)) + s
        }
        return "\(pad(Int64(y), 4))-\(pad(Int64(m), 2))-\(pad(Int64(d), 2))T\(pad(sec / 3600, 2)):\(pad(sec / 60 % 60, 2)):"
            + "\(pad(sec % 60, 2)).\(pad(ns % 1_000_000_000, 9))Z"
    }

    /// `YYYY-MM-DDTHH:MM:SS[.f{1,9}]Z` (or `+00:00`; `T` or a space between date and time); nil on anything else.
    public static func parse(_ text: Substring) -> Timestamp? {
        let b = Array(text.utf8)
        func digits(_ at: Int, _ n: Int) -> Int? {
            guard at + n <= b.count else { return nil }
            var v = 0
            for i in at..<(at + n) {
                let c = b[i] &- 48
                guard c < 10 else { return nil }
                v = v * 10 + Int(c)
            }
            return v
        }
        guard b.count >= 20, b[4] == UInt8(ascii: "-"), b[7] == UInt8(ascii: "-"),
              b[10] == UInt8(ascii: "T") || b[10] == UInt8(ascii: " "), b[13] == UInt8(ascii: ":"), b[16] == UInt8(ascii: ":"),
              let y = digits(0, 4), let mo = digits(5, 2), let d = digits(8, 2),
              let h = digits(11, 2), let mi = digits(14, 2), let s = digits(17, 2),
              (1...12).contains(mo), (1...daysIn(y, mo)).contains(d), h < 24, mi < 60, s < 60 else { return nil }
        var i = 19
        var nanos: Int64 = 0
        if b[i] == UInt8(ascii: ".") {
            i += 1
            var n = 0
            while i < b.count, b[i] &- 48 < 10 {
                guard n < 9 else { return nil }
                nanos = nanos * 10 + Int64(b[i] - 48)
                n += 1
                i += 1
            }
            guard n > 0 else { return nil }
            for _ in n..<9 { nanos *= 10 }
        }
        let rest = b[i...]
        guard rest.elementsEqual("Z".utf8) || rest.elementsEqual("+00:00".utf8) else { return nil }
        let seconds = Int64(CivilCalendar.days(year: y, month: mo, day: d)) * 86_400 + Int64(h * 3600 + mi * 60 + s)
        let (ns, o1) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        let (total, o2) = ns.addingReportingOverflow(nanos)
        return o1 || o2 ? nil : Timestamp(nanosecondsSinceEpoch: total)
    }

    private static func daysIn(_ y: Int, _ m: Int) -> Int {
        switch m {
        case 2: (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

}
