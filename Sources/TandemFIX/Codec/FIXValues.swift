import TandemCore

/// Byte-level conversions for FIX value types, so neither parse nor encode builds a `String` for a
/// number. Decimal text follows the core's grammar (`-?[0-9]+(\.[0-9]+)?`, exact, never rounded).
enum FIXValues {
    static let soh: UInt8 = 0x01
    static let equals: UInt8 = 0x3D

    static let powersOfTen: [Int64] = (0...18).map { n in (0..<n).reduce(Int64(1)) { acc, _ in acc * 10 } }

    /// Unsigned decimal integer; nil when empty, not all digits, or above `Int64.max`.
    static func parseInt(_ b: borrowing [UInt8], _ range: Range<Int>) -> Int? {
        guard !range.isEmpty, range.count <= 18 else { return range.count > 18 ? parseIntSlow(b, range) : nil }
        var v = 0
        for i in range {
            let d = b[i] &- 48
            guard d < 10 else { return nil }
            v = v &* 10 &+ Int(d)
        }
        return v
    }

    private static func parseIntSlow(_ b: borrowing [UInt8], _ range: Range<Int>) -> Int? {
        var v = 0
        for i in range {
            let d = b[i] &- 48
            guard d < 10 else { return nil }
            let (m, o1) = v.multipliedReportingOverflow(by: 10)
            let (s, o2) = m.addingReportingOverflow(Int(d))
            if o1 || o2 { return nil }
            v = s
        }
        return v
    }

    static func appendInt(_ value: Int, to out: inout [UInt8]) {
        if value < 0 { out.append(UInt8(ascii: "-")) }
        appendUInt(value.magnitude, to: &out)
    }

    /// Writes the digits straight into the array's new tail: one capacity check per number, not per
    /// digit, and only divisions by the constant 10 (which compile to multiplications).
    static func appendUInt(_ value: UInt, to out: inout [UInt8]) {
        if value < 10 { out.append(48 &+ UInt8(value)); return }
        var reversed = InlineArray<20, UInt8>(repeating: 0)
        var count = 0
        var v = value
        while v > 0 {
            reversed[count] = 48 &+ UInt8(truncatingIfNeeded: v % 10)
            v /= 10
            count += 1
        }
        out.append(addingCapacity: count) { span in
            var i = count
            while i > 0 { i -= 1; span.append(reversed[i]) }
        }
    }

    // MARK: UTCTimestamp `YYYYMMDD-HH:MM:SS.sss`

    static func appendTimestamp(_ t: Timestamp, to out: inout [UInt8]) {
        let (day, ns) = t.utcDay
        let (y, m, d) = civil(fromDays: day)
        let ms = Int(ns / 1_000_000)
        let sec = ms / 1000
        // 21 bytes, written in one go: `YYYYMMDD-HH:MM:SS.sss`.
        out.append(addingCapacity: 21) { span in
            func digits(_ v: Int, _ width: Int) {
                var div = 1
                for _ in 1..<width { div *= 10 }
                var v = v
                while div > 0 { span.append(48 &+ UInt8(truncatingIfNeeded: v / div % 10)); v %= div; div /= 10 }
            }
            digits(y, 4); digits(m, 2); digits(d, 2)
            span.append(UInt8(ascii: "-"))
            digits(sec / 3600, 2); span.append(UInt8(ascii: ":"))
            digits(sec / 60 % 60, 2); span.append(UInt8(ascii: ":"))
            digits(sec % 60, 2); span.append(UInt8(ascii: "."))
            digits(ms % 1000, 3)
        }
    }

    /// Accepts `YYYYMMDD-HH:MM:SS` with an optional fraction of 1–9 digits; nil on anything else.
    static func parseTimestamp(_ b: borrowing [UInt8], _ range: Range<Int>) -> Timestamp? {
        guard range.count >= 17 else { return nil }
        let s = range.lowerBound
        func num(_ at: Int, _ width: Int) -> Int? {
            var v = 0
            for i in at..<(at + width) {
                let d = b[i] &- 48
                guard d < 10 else { return nil }
                v = v * 10 + Int(d)
            }
            return v
        }
        guard b[s + 8] == UInt8(ascii: "-"), b[s + 11] == UInt8(ascii: ":"), b[s + 14] == UInt8(ascii: ":"),
              let y = num(s, 4), let mo = num(s + 4, 2), let d = num(s + 6, 2),
              let h = num(s + 9, 2), let mi = num(s + 12, 2), let sec = num(s + 15, 2),
              (1...12).contains(mo), (1...31).contains(d), h < 24, mi < 60, sec <= 60 else { return nil }
        var nanos: Int64 = 0
        if range.count > 17 {
            let fracDigits = range.count - 18
            guard b[s + 17] == UInt8(ascii: "."), (1...9).contains(fracDigits), let f = num(s + 18, fracDigits) else { return nil }
            nanos = Int64(f) * powersOfTen[9 - fracDigits]
        }
        let days = Int64(daysFromCivil(y, mo, d))
        let seconds = days * 86_400 + Int64(h * 3600 + mi * 60 + sec)
        let (ns, o1) = seconds.multipliedReportingOverflow(by: Timestamp.nanosecondsPerSecond)
        let (total, o2) = ns.addingReportingOverflow(nanos)
        return o1 || o2 ? nil : Timestamp(nanosecondsSinceEpoch: total)
    }

    // Howard Hinnant's civil-calendar algorithms (proleptic Gregorian, exact for all Int64 days used here).
    static func daysFromCivil(_ y0: Int, _ m: Int, _ d: Int) -> Int {
        let y = m <= 2 ? y0 - 1 : y0
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    static func civil(fromDays z0: Int64) -> (Int, Int, Int) {
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
