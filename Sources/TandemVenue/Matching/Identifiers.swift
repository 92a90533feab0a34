import TandemCore

/// A venue-side order-entry session (a FIX session's name, e.g. `"TANDEM-A>VENUE"`): where an
/// order's execution reports go, and the scope of a cancel-all.
public struct SessionID: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var rawValue: String
    @inlinable public init(_ rawValue: String) { self.rawValue = rawValue }
    public static func < (lhs: SessionID, rhs: SessionID) -> Bool { lhs.rawValue < rhs.rawValue }
    public var description: String { rawValue }
}

/// The venue's identifier for an order (FIX OrderID, tag 37). Assigned 1, 2, 3… in acceptance
/// order and kept across replaces, so it is deterministic and never reused.
public struct OrderID: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var rawValue: UInt64
    @inlinable public init(_ rawValue: UInt64) { self.rawValue = rawValue }
    public static func < (lhs: OrderID, rhs: OrderID) -> Bool { lhs.rawValue < rhs.rawValue }
    public var description: String { "O\(rawValue)" }
}

/// The venue's identifier for one match between a maker and a taker (FIX TrdMatchID / ExecID
/// stem). Assigned 1, 2, 3… engine-wide in match order.
public struct TradeID: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var rawValue: UInt64
    @inlinable public init(_ rawValue: UInt64) { self.rawValue = rawValue }
    public static func < (lhs: TradeID, rhs: TradeID) -> Bool { lhs.rawValue < rhs.rawValue }
    public var description: String { "T\(rawValue)" }
}

/// A self-trade-prevention group: orders carrying the same group never trade with each other
/// (when the engine's ``SelfTradePrevention`` mode is not `.none`), whatever their accounts.
/// Orders without a group are grouped by account.
public struct SelfTradeGroup: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var rawValue: String
    @inlinable public init(_ rawValue: String) { self.rawValue = rawValue }
    public static func < (lhs: SelfTradeGroup, rhs: SelfTradeGroup) -> Bool { lhs.rawValue < rhs.rawValue }
    public var description: String { rawValue }
}

/// Who an order belongs to and what the client calls it: everything needed to route an
/// execution report, carried on every order event.
public struct OrderRef: Sendable, Hashable, CustomStringConvertible {
    public var orderID: OrderID
    /// The order's current ClOrdID (the newest one after a replace).
    public var clOrdID: ClOrdID
    public var session: SessionID
    public var account: AccountID

    public init(orderID: OrderID, clOrdID: ClOrdID, session: SessionID, account: AccountID) {
        self.orderID = orderID
        self.clOrdID = clOrdID
        self.session = session
        self.account = account
    }

    public var description: String { "\(orderID)/\(clOrdID)@\(session)" }
}

extension Side {
    /// The side of the book an order rests on, as a book update reports it: `sellShort` rests with
    /// the sells, so this is `.buy` or `.sell`.
    @inlinable public var bookSide: Side { self == .buy ? .buy : .sell }
}
