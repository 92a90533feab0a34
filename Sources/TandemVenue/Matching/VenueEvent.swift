import TandemCore

/// One output of the ``MatchingEngine``. A command's events come back in the order they happened;
/// the venue's FIX layer turns order events into execution reports for `ref.session`, and the
/// market-data feed is built from the `.book` events alone.
public enum VenueEvent: Sendable, Hashable {
    /// A new order was accepted (FIX ExecType=New). Always the first event of an accepted order.
    case accepted(OrderAccepted)
    /// A command was refused; nothing changed.
    case rejected(Rejection)
    /// A match between a resting maker and an incoming taker (an ExecType=Trade report for each side).
    case fill(Fill)
    case canceled(OrderCanceled)
    case replaced(OrderReplaced)
    /// A stop order's stop price was crossed; it now works as a market or limit order.
    case triggered(StopTriggered)
    /// The end of a ``MassCancel``, after the `.canceled` event of every order it canceled.
    case massCanceled(MassCancelReport)
    case massStatus(MassStatusReport)
    /// A session was blocked or unblocked.
    case sessionBlocked(SessionID, blocked: Bool)
    /// A change to the visible book (order-level, with the level's new totals), for the feed.
    case book(BookUpdate)
}

public struct OrderAccepted: Sendable, Hashable {
    public var ref: OrderRef
    public var instrument: InstrumentID
    public var side: Side
    public var type: OrderType
    public var timeInForce: TimeInForce
    public var quantity: Quantity
}

/// Both sides of one match. `price` is the maker's resting price.
public struct Fill: Sendable, Hashable {
    public var tradeID: TradeID
    public var instrument: InstrumentID
    public var price: Price
    public var quantity: Quantity
    /// The taker's side (FIX AggressorSide).
    public var aggressor: Side
    public var maker: FillSide
    public var taker: FillSide
}

/// One side of a ``Fill``: the order after the match, and the fee it pays on this match.
public struct FillSide: Sendable, Hashable {
    public var ref: OrderRef
    public var side: Side
    /// Positive: the client pays; negative: a rebate. In the instrument's currency.
    public var fee: Money
    /// Open quantity after this match (FIX LeavesQty); 0 means filled.
    public var leavesQuantity: Quantity
    /// Filled so far over the order's life, replaces included (FIX CumQty).
    public var cumulativeQuantity: Quantity
}

public enum CancelReason: UInt8, Sendable, Hashable, CustomStringConvertible {
    /// The owner asked (OrderCancelRequest).
    case requested
    /// What an IOC, FOK or market order (or a triggered stop of one) could not fill at once.
    case unfilledRemainder
    /// Self-trade prevention canceled this order instead of trading it against its own group.
    case selfTradePrevention
    /// A client mass cancel.
    case massCancel
    /// A risk kill switch.
    case killSwitch
    /// A day order at the end of the day, or a good-till-date order at its time (FIX ExecType=Expired).
    case expired

    public var description: String {
        switch self {
        case .requested: "canceled on request"
        case .unfilledRemainder: "unfilled remainder of an immediate order canceled"
        case .selfTradePrevention: "canceled by self-trade prevention"
        case .massCancel: "canceled by a mass cancel"
        case .killSwitch: "canceled by the kill switch"
        case .expired: "expired"
        }
    }
}

public struct OrderCanceled: Sendable, Hashable {
    public var ref: OrderRef
    public var instrument: InstrumentID
    public var side: Side
    public var reason: CancelReason
    /// The open quantity that was canceled (LeavesQty before the cancel).
    public var canceledQuantity: Quantity
    public var cumulativeQuantity: Quantity
    /// The cancel request's ClOrdID, for `.requested`.
    public var requestClOrdID: ClOrdID?
}

public struct OrderReplaced: Sendable, Hashable {
    /// Carries the new ClOrdID; the OrderID is unchanged.
    public var ref: OrderRef
    public var origClOrdID: ClOrdID
    public var instrument: InstrumentID
    public var side: Side
    public var type: OrderType
    public var quantity: Quantity
    public var leavesQuantity: Quantity
    public var cumulativeQuantity: Quantity
    /// Whether the order kept its place in the queue (same price, quantity not increased).
    public var priorityKept: Bool
}

public struct StopTriggered: Sendable, Hashable {
    public var ref: OrderRef
    public var instrument: InstrumentID
    public var side: Side
    public var stopPrice: Price
    /// The last trade price that crossed the stop.
    public var lastTradePrice: Price
    /// What the order works as from now on: `.market` or `.limit(p)`.
    public var workingType: OrderType
}

public struct MassCancelReport: Sendable, Hashable {
    public var requestID: String
    public var session: SessionID
    public var scope: OrderScope
    public var instrument: InstrumentID?
    public var canceledCount: Int

    public init(requestID: String, session: SessionID, scope: OrderScope, instrument: InstrumentID?, canceledCount: Int) {
        self.requestID = requestID
        self.session = session
        self.scope = scope
        self.instrument = instrument
        self.canceledCount = canceledCount
    }
}

public struct MassStatusReport: Sendable, Hashable {
    public var requestID: String
    public var session: SessionID
    /// Every live order in scope, by OrderID.
    public var orders: [OrderStatusReport]
}

public struct OrderStatusReport: Sendable, Hashable {
    public var ref: OrderRef
    public var instrument: InstrumentID
    public var side: Side
    /// The type as entered (a triggered stop still reports `.stop`/`.stopLimit`).
    public var type: OrderType
    public var timeInForce: TimeInForce
    public var quantity: Quantity
    public var leavesQuantity: Quantity
    public var cumulativeQuantity: Quantity
    /// `.new` or `.partiallyFilled` (a live order is never anything else).
    public var status: OrderStatus
    /// false for a stop order that has not triggered yet.
    public var isTriggered: Bool
}

/// A refused command, with the command's identifiers so the FIX layer can answer it
/// (ExecutionReport rejected, OrderCancelReject, or a mass-request reject).
public struct Rejection: Sendable, Hashable, CustomStringConvertible {
    public enum Command: UInt8, Sendable, Hashable {
        case newOrder, cancel, replace, massCancel, massStatus
    }

    public var command: Command
    public var session: SessionID
    /// The ClOrdID of the refused request (for a mass command, its request id).
    public var clOrdID: ClOrdID
    /// The order a cancel or replace was aimed at.
    public var origClOrdID: ClOrdID?
    /// The order's id when it is known (a refused cancel or replace of a live order).
    public var orderID: OrderID?
    public var reason: RejectReason

    public var description: String { "\(command) \(clOrdID) from \(session) rejected: \(reason)" }
}

/// Why a command was refused.
public enum RejectReason: UInt8, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    case unknownInstrument
    case priceNotOnTick
    case quantityNotOnLot
    case nonPositiveQuantity
    /// Above the instrument's maximum order quantity.
    case quantityAboveMaximum
    /// A price outside the instrument's price band.
    case priceOutOfRange
    case fillOrKillNotFillable
    /// A market order with nothing to trade against.
    case noLiquidity
    /// Cancel/replace: no live or recently finished order with that ClOrdID in the session.
    case unknownOrder
    /// The ClOrdID is already used by a live or recently finished order of the session.
    case duplicateClOrdID
    /// Cancel/replace: the order is already filled, canceled, expired or replaced.
    case tooLateToCancel
    /// Replace: the new quantity does not exceed the quantity already filled.
    case replaceQuantityNotAboveFilled
    /// Replace: the order type (limit, stop, stop-limit) cannot change.
    case replaceChangesOrderType
    /// A good-till-date order whose time has already passed.
    case expiryInPast
    /// The session is blocked (kill switch).
    case sessionBlocked

    public var description: String {
        switch self {
        case .unknownInstrument: "unknown instrument"
        case .priceNotOnTick: "price is not a multiple of the instrument's tick size"
        case .quantityNotOnLot: "quantity is not a multiple of the instrument's lot size"
        case .nonPositiveQuantity: "quantity must be positive"
        case .quantityAboveMaximum: "quantity exceeds the instrument's maximum order quantity"
        case .priceOutOfRange: "price is outside the instrument's price band"
        case .fillOrKillNotFillable: "fill-or-kill order cannot be filled completely at once"
        case .noLiquidity: "market order with no liquidity on the other side"
        case .unknownOrder: "unknown order"
        case .duplicateClOrdID: "duplicate ClOrdID"
        case .tooLateToCancel: "too late to cancel: the order is no longer live"
        case .replaceQuantityNotAboveFilled: "new quantity must exceed the quantity already filled"
        case .replaceChangesOrderType: "a replace cannot change the order type"
        case .expiryInPast: "good-till-date expiry is not in the future"
        case .sessionBlocked: "session is blocked"
        }
    }
}

/// One change to an instrument's visible book, at order level, with the affected price level's
/// totals after the change, so a feed can publish either order-level (add/modify/delete/execute)
/// or price-level updates without keeping its own book.
///
/// Per instrument, `sequence` runs 1, 2, 3… with no gaps; ``MatchingEngine/depthSnapshot(_:)``
/// reports the sequence it reflects, so a client applies updates with a greater sequence on top.
public struct BookUpdate: Sendable, Hashable {
    public var instrument: InstrumentID
    public var sequence: UInt64
    public var change: BookChange
    /// `.buy` or `.sell` (a short sale rests with the sells).
    public var side: Side
    public var price: Price
    /// Total quantity resting at (`side`, `price`) after the change; 0 when the level is gone.
    public var levelQuantity: Quantity
    /// Orders resting at (`side`, `price`) after the change.
    public var levelOrderCount: Int32
}

public enum BookChange: Sendable, Hashable {
    /// A new order at the back of its level's queue (also an order re-entered by a replace that lost priority).
    case added(OrderID, quantity: Quantity)
    /// The order's open quantity changed in place; it keeps its queue position.
    case modified(OrderID, quantity: Quantity)
    /// The order left the book without trading (cancel, expiry, self-trade prevention, a replace that lost priority).
    case deleted(OrderID)
    /// The resting order traded `quantity` at the level's price: the market-data trade print.
    /// `remaining` is 0 when it left the book.
    case executed(OrderID, quantity: Quantity, remaining: Quantity, trade: TradeID, aggressor: Side)
}
