/// When an instrument trades. The caller supplies it (exchange calendars, holiday files); Core only
/// asks it questions about timestamps it is given, never the current time.
public protocol TradingCalendar: Sendable {
    /// Whether continuous trading is open at `instant`.
    func isOpen(at instant: Timestamp) -> Bool
    /// The end of the session that contains `instant` (where DAY orders expire), or nil when closed.
    func sessionEnd(containing instant: Timestamp) -> Timestamp?
}

/// Trades around the clock (crypto venues); sessions end at UTC midnight.
public struct AlwaysOpenCalendar: TradingCalendar, Hashable {
    public init() {}
    public func isOpen(at instant: Timestamp) -> Bool { true }
    public func sessionEnd(containing instant: Timestamp) -> Timestamp? {
        Timestamp(nanosecondsSinceEpoch: (instant.utcDay.day + 1) * Timestamp.nanosecondsPerDay)
    }
}

/// One session per UTC day on chosen weekdays, minus listed holidays. Simple, exact, and enough for
/// tests and backtests; production calendars implement ``TradingCalendar`` themselves.
public struct WeeklySessionCalendar: TradingCalendar, Hashable {
    /// Nanoseconds after UTC midnight at which the session opens and closes (`open < close`).
    public var open: Int64
    public var close: Int64
    /// ISO weekdays that trade: 1 = Monday … 7 = Sunday.
    public var weekdays: Set<Int>
    /// Days since the epoch that do not trade.
    public var holidays: Set<Int64>

    public init(open: Int64, close: Int64, weekdays: Set<Int> = [1, 2, 3, 4, 5], holidays: Set<Int64> = []) {
        self.open = open
        self.close = close
        self.weekdays = weekdays
        self.holidays = holidays
    }

    /// ISO weekday of a day number; 1970-01-01 was a Thursday (4).
    static func weekday(ofDay day: Int64) -> Int {
        let r = (day + 3) % 7
        return Int(r < 0 ? r + 7 : r) + 1
    }

    private func trades(day: Int64) -> Bool {
        weekdays.contains(Self.weekday(ofDay: day)) && !holidays.contains(day)
    }

    public func isOpen(at instant: Timestamp) -> Bool {
        let (day, t) = instant.utcDay
        return trades(day: day) && t >= open && t < close
    }

    public func sessionEnd(containing instant: Timestamp) -> Timestamp? {
        guard isOpen(at: instant) else { return nil }
        return Timestamp(nanosecondsSinceEpoch: instant.utcDay.day * Timestamp.nanosecondsPerDay + close)
    }
}
