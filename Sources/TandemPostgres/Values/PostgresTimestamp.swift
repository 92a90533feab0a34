/// A `timestamptz`: an instant in UTC, as integer nanoseconds since the Unix epoch (Tandem's one time unit).
///
/// PostgreSQL stores microseconds, so a round trip truncates the last three digits toward negative
/// infinity. Encoding writes ISO 8601 with an explicit `+00` offset, so the session's TimeZone setting
/// cannot change the instant; decoding accepts any offset the server prints.
public struct PostgresTimestamp: Hashable, Sendable, Comparable, CustomStringConvertible {
    public var nanosecondsSinceEpoch: Int64

    public init(nanosecondsSinceEpoch: Int64) {
        self.nanosecondsSinceEpoch = nanosecondsSinceEpoch
    }

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.nanosecondsSinceEpoch < rhs.nanosecondsSinceEpoch }

    /// `YYYY-MM-DD HH:MM:SS.ffffff+00`
    public var description: String {
        let micros = floorDiv(nanosecondsSinceEpoch, 1_000)
        let days = floorDiv(micros, 86_400_000_000)
        var rest = micros - days * 86_400_000_000
        let (y, m, d) = civilFromDays(days)
        let hour = rest / 3_600_000_000; rest %= 3_600_000_000
        let minute = rest / 60_000_000; rest %= 60_000_000
        let second = rest / 1_000_000
        let fraction = rest % 1_000_000
        return "\(pad(y, 4))-\(pad(m, 2))-\(pad(d, 2)) \(pad(hour, 2)):\(pad(minute, 2)):\(pad(second, 2)).\(pad(fraction, 6))+00"
    }

    /// Parses the server's text output: `YYYY-MM-DD HH:MM:SS[.f…]±HH[:MM[:SS]]`.
    public init?(text: String) {
        let bytes = Array(text.utf8)
        var index = 0
        func number(_ digits: Int) -> Int64? {
            guard index + digits <= bytes.count else { return nil }
            var value: Int64 = 0
            for _ in 0..<digits {
                let c = bytes[index]
                guard c >= 48 && c <= 57 else { return nil }
                value = value * 10 + Int64(c - 48)
                index += 1
            }
            return value
        }
        func expect(_ c: Character) -> Bool {
            guard index < bytes.count, bytes[index] == c.asciiValue else { return false }
            index += 1
            return true
        }
        guard let year = number(4), expect("-"), let month = number(2), expect("-"), let day = number(2),
              expect(" ") || expect("T"),
              let hour = number(2), expect(":"), let minute = number(2), expect(":"), let second = number(2),
              (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 61
        else { return nil }
        var nanos: Int64 = 0
        if expect(".") {
            var scale: Int64 = 100_000_000
            var digits = 0
            while index < bytes.count, bytes[index] >= 48, bytes[index] <= 57 {
                nanos += Int64(bytes[index] - 48) * scale
                scale /= 10
                index += 1
                digits += 1
            }
            guard digits > 0, digits <= 9 else { return nil }
        }
        var offsetSeconds: Int64 = 0
        if index < bytes.count {
            let sign: Int64
            if expect("+") { sign = 1 } else if expect("-") { sign = -1 } else if expect("Z") { sign = 0 } else { return nil }
            if sign != 0 {
                guard let oh = number(2) else { return nil }
                var om: Int64 = 0
                var os: Int64 = 0
                if expect(":") { guard let m = number(2) else { return nil }; om = m }
                if expect(":") { guard let s = number(2) else { return nil }; os = s }
                offsetSeconds = sign * (oh * 3600 + om * 60 + os)
            }
            guard index == bytes.count else { return nil }
        }
        let days = daysFromCivil(year, month, day)
        let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offsetSeconds
        let (total, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        guard !overflow else { return nil }
        self.nanosecondsSinceEpoch = total + nanos
    }
}

extension PostgresTimestamp: PostgresEncodable {
    public var postgresParameter: PostgresParameter { .text(description) }
}

extension PostgresTimestamp: PostgresDecodable {
    public init(postgresText text: String, type: PostgresTypeOID) throws(PostgresDecodingError) {
        guard type == .timestamptz else {
            throw PostgresDecodingError(expected: "timestamptz", found: "a \(type) column")
        }
        guard let value = PostgresTimestamp(text: text) else {
            throw PostgresDecodingError(expected: "a timestamptz like 2026-01-02 03:04:05.678+00", found: "\"\(text.prefix(40))\"")
        }
        self = value
    }
}

private func floorDiv(_ a: Int64, _ b: Int64) -> Int64 {
    let q = a / b
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q
}

private func pad(_ value: Int64, _ width: Int) -> String {
    let digits = String(value)
    return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
private func daysFromCivil(_ year: Int64, _ month: Int64, _ day: Int64) -> Int64 {
    let y = month <= 2 ? year - 1 : year
    let era = (y >= 0 ? y : y - 399) / 400
    let yoe = y - era * 400
    let doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
    return era * 146_097 + doe - 719_468
}

private func civilFromDays(_ days: Int64) -> (Int64, Int64, Int64) {
    let z = days + 719_468
    let era = (z >= 0 ? z : z - 146_096) / 146_097
    let doe = z - era * 146_097
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
    let mp = (5 * doy + 2) / 153
    let d = doy - (153 * mp + 2) / 5 + 1
    let m = mp < 10 ? mp + 3 : mp - 9
    return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
}
