/// A UTC instant as integer nanoseconds since the Unix epoch (1970-01-01T00:00:00Z).
///
/// Core never reads a clock: every timestamp comes from the caller (the event source or journal).
public struct Timestamp: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var nanosecondsSinceEpoch: Int64

    @inlinable public init(nanosecondsSinceEpoch: Int64) {
        self.nanosecondsSinceEpoch = nanosecondsSinceEpoch
    }

    public static let epoch = Timestamp(nanosecondsSinceEpoch: 0)
    public static let nanosecondsPerSecond: Int64 = 1_000_000_000
    public static let nanosecondsPerDay: Int64 = 86_400 * nanosecondsPerSecond

    public static func < (lhs: Timestamp, rhs: Timestamp) -> Bool {
        lhs.nanosecondsSinceEpoch < rhs.nanosecondsSinceEpoch
    }

    /// Days since the epoch (floor), and nanoseconds into that UTC day.
    public var utcDay: (day: Int64, nanosecondOfDay: Int64) {
        let d = nanosecondsSinceEpoch.quotientAndRemainder(dividingBy: Timestamp.nanosecondsPerDay)
        return d.remainder < 0 ? (d.quotient - 1, d.remainder + Timestamp.nanosecondsPerDay) : d
    }

    public var description: String { "\(nanosecondsSinceEpoch)ns" }
}
