/// FIX ClOrdID (tag 11): the client's identifier for one order version. A replace creates a new one.
public struct ClOrdID: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var rawValue: String
    @inlinable public init(_ rawValue: String) { self.rawValue = rawValue }
    public static func < (lhs: ClOrdID, rhs: ClOrdID) -> Bool { lhs.rawValue < rhs.rawValue }
    public var description: String { rawValue }
}

/// The trading account an order and its position belong to (FIX Account, tag 1).
public struct AccountID: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var rawValue: String
    @inlinable public init(_ rawValue: String) { self.rawValue = rawValue }
    public static func < (lhs: AccountID, rhs: AccountID) -> Bool { lhs.rawValue < rhs.rawValue }
    public var description: String { rawValue }
}

/// FIX Side (tag 54). `sellShort` moves a position like `sell`; it differs only in locate/compliance.
public enum Side: UInt8, Sendable, Hashable, CaseIterable {
    case buy = 1
    case sell = 2
    case sellShort = 5

    /// +1 for buys, −1 for sells: the sign a fill gives to a position's quantity.
    public var direction: Int64 { self == .buy ? 1 : -1 }
}

/// FIX OrdType (tag 40) with the prices each type needs, so a limit order cannot lack its limit.
public enum OrderType: Sendable, Hashable {
    case market
    case limit(Price)
    case stop(Price)
    case stopLimit(stop: Price, limit: Price)

    public var limitPrice: Price? {
        switch self {
        case .limit(let p), .stopLimit(_, let p): p
        case .market, .stop: nil
        }
    }

    public var stopPrice: Price? {
        switch self {
        case .stop(let p), .stopLimit(let p, _): p
        case .market, .limit: nil
        }
    }
}

/// FIX TimeInForce (tag 59). `goodTillDate` carries its expiry instant.
public enum TimeInForce: Sendable, Hashable {
    case day
    case goodTillCancel
    case immediateOrCancel
    case fillOrKill
    case goodTillDate(Timestamp)
}

/// What a strategy asked for: one new order, before risk and before the venue.
public struct OrderRequest: Sendable, Hashable {
    // Declared widest first so the value packs into 73 bytes instead of 88 (every order keeps one).
    public var clOrdID: ClOrdID
    public var account: AccountID
    /// Positive.
    public var quantity: Quantity
    public var type: OrderType
    public var side: Side
    public var instrument: InstrumentID
    public var timeInForce: TimeInForce

    public init(
        clOrdID: ClOrdID, account: AccountID, instrument: InstrumentID, side: Side,
        type: OrderType, timeInForce: TimeInForce, quantity: Quantity
    ) {
        self.clOrdID = clOrdID
        self.account = account
        self.instrument = instrument
        self.side = side
        self.type = type
        self.timeInForce = timeInForce
        self.quantity = quantity
    }
}

/// A cancel/replace request: the order continues under `newClOrdID` with a new quantity and,
/// optionally, a new type/price. Cumulative filled quantity carries over (FIX semantics).
public struct ReplaceRequest: Sendable, Hashable {
    public var newClOrdID: ClOrdID
    /// The new total order quantity; must exceed the quantity already filled.
    public var quantity: Quantity
    /// nil keeps the current type and prices.
    public var type: OrderType?

    public init(newClOrdID: ClOrdID, quantity: Quantity, type: OrderType? = nil) {
        self.newClOrdID = newClOrdID
        self.quantity = quantity
        self.type = type
    }
}
