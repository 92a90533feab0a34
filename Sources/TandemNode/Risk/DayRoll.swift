import TandemCore

/// The node's session calendar for risk: the trading day rolls at one UTC time of day
/// (`risk.dayRollUTC`, default 00:00), when the daily loss and drawdown limits start over.
///
/// Sans-I/O: ``day(of:)`` numbers the trading day a timestamp falls in, so the caller detects a
/// roll by comparing two numbers and no clock is read here. A roll at 21:00 puts 20:59 on day N and
/// 21:00 on day N + 1 (the roll instant belongs to the new day).
public struct DayRoll: Sendable, Hashable, CustomStringConvertible {
    /// Minutes after midnight UTC, 0–1439.
    public let minuteOfDay: Int

    public static let midnight = DayRoll(uncheckedMinuteOfDay: 0)

    private init(uncheckedMinuteOfDay: Int) { minuteOfDay = uncheckedMinuteOfDay }

    /// `"HH:MM"`, 24-hour UTC, two digits each (`"00:00"`, `"21:30"`); nil for anything else.
    public init?(_ text: String) {
        let b = Array(text.utf8)
        guard b.count == 5, b[2] == UInt8(ascii: ":"),
              let h = Self.twoDigits(b[0], b[1]), let m = Self.twoDigits(b[3], b[4]), h < 24, m < 60 else { return nil }
        minuteOfDay = h * 60 + m
    }

    private static func twoDigits(_ a: UInt8, _ b: UInt8) -> Int? {
        guard (0x30...0x39).contains(a), (0x30...0x39).contains(b) else { return nil }
        return Int(a - 0x30) * 10 + Int(b - 0x30)
    }

    private static let nanosecondsPerDay: Int64 = 86_400 * 1_000_000_000

    /// The number of the trading day `t` falls in (floor division, so times before 1970 work too).
    public func day(of t: Timestamp) -> Int64 {
        let shifted = t.nanosecondsSinceEpoch.subtractingReportingOverflow(Int64(minuteOfDay) * 60 * 1_000_000_000)
        let ns = shifted.overflow ? Int64.min : shifted.partialValue
        let (q, r) = ns.quotientAndRemainder(dividingBy: Self.nanosecondsPerDay)
        return r < 0 ? q - 1 : q
    }

    public var description: String {
        let h = minuteOfDay / 60, m = minuteOfDay % 60
        return "\(h < 10 ? "0" : "")\(h):\(m < 10 ? "0" : "")\(m)"
    }
}
