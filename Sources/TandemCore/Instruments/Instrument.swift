/// The system's compact key for an instrument; journal events and dictionaries use it, not symbols.
public struct InstrumentID: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var rawValue: UInt32
    @inlinable public init(_ rawValue: UInt32) { self.rawValue = rawValue }
    public static func < (lhs: InstrumentID, rhs: InstrumentID) -> Bool { lhs.rawValue < rhs.rawValue }
    public var description: String { "#\(rawValue)" }
}

/// A tradable instrument on one venue.
///
/// `calendar` names a ``TradingCalendar`` the caller supplies (Core has no clock and no holiday data).
public struct Instrument: Sendable, Hashable {
    public var id: InstrumentID
    public var symbol: String
    public var venue: String
    /// Smallest price increment; positive.
    public var tickSize: Price
    /// Smallest quantity increment; positive.
    public var lotSize: Quantity
    /// Money per (price unit × quantity unit): 1 for cash equities, 50 for an ES future.
    public var multiplier: Ratio
    public var currency: Currency
    public var calendar: String

    public init(
        id: InstrumentID, symbol: String, venue: String, tickSize: Price, lotSize: Quantity,
        multiplier: Ratio = .one, currency: Currency, calendar: String = ""
    ) {
        self.id = id
        self.symbol = symbol
        self.venue = venue
        self.tickSize = tickSize
        self.lotSize = lotSize
        self.multiplier = multiplier
        self.currency = currency
        self.calendar = calendar
    }

    /// Rounds a price to this instrument's tick (e.g. `.down` for a buy limit, `.up` for a sell limit).
    public func roundToTick(_ price: Price, _ rule: RoundingRule) throws(ArithmeticError) -> Price {
        try price.rounded(toMultipleOf: tickSize, rule)
    }

    /// Rounds a quantity to this instrument's lot size (usually `.towardZero`, never to exceed an intent).
    public func roundToLot(_ quantity: Quantity, _ rule: RoundingRule) throws(ArithmeticError) -> Quantity {
        try quantity.rounded(toMultipleOf: lotSize, rule)
    }

    /// Money value of `quantity` at `price`, in this instrument's currency.
    public func notional(price: Price, quantity: Quantity, rounding rule: RoundingRule = .halfEven) throws(ArithmeticError) -> Money {
        try Money.notional(price: price, quantity: quantity, multiplier: multiplier, currency: currency, rounding: rule)
    }
}
