// TandemStrategy: the strategy API and the example strategies (see docs/strategy.md).
import TandemCore

/// One side of the top of book: a price and the quantity shown there.
public struct PriceLevel: Sendable, Hashable {
    public var price: Price
    public var quantity: Quantity

    public init(price: Price, quantity: Quantity) {
        self.price = price
        self.quantity = quantity
    }
}

/// The top of book of one instrument after a market-data event, and the trade it reports, if any.
///
/// `bestBid` and `bestAsk` are the *whole* current top of book, not a delta: nil means that side of
/// the book is empty now (not "unchanged").
public struct MarketUpdate: Sendable, Hashable {
    public var instrument: InstrumentID
    public var bestBid: PriceLevel?
    public var bestAsk: PriceLevel?
    /// The trade this update reports, if any.
    public var lastTrade: PriceLevel?
    /// When the venue (or the recorded feed, in a backtest) says this happened.
    public var at: Timestamp

    public init(instrument: InstrumentID, bestBid: PriceLevel?, bestAsk: PriceLevel?, lastTrade: PriceLevel? = nil, at: Timestamp) {
        self.instrument = instrument
        self.bestBid = bestBid
        self.bestAsk = bestAsk
        self.lastTrade = lastTrade
        self.at = at
    }

    /// Both sides with a positive quantity and bid < ask: a book a mid can be taken from.
    /// Locked or crossed books (bid ≥ ask) and empty levels give nil.
    public var twoSidedBook: (bid: PriceLevel, ask: PriceLevel)? {
        guard let bid = bestBid, let ask = bestAsk, bid.quantity.units > 0, ask.quantity.units > 0,
              bid.price < ask.price else { return nil }
        return (bid, ask)
    }
}

/// What a strategy may know when it is called: the time and this account's journaled state.
///
/// The engine builds it from the fold of the journal (live) or the backtester's state, *after* the
/// event being delivered was applied and after every action the strategy returned earlier was
/// processed, so a strategy never needs its own copy of order or position state.
public struct StrategyContext: Sendable {
    /// The time of the event being delivered (never a clock read: the same run replays identically).
    public var now: Timestamp
    public var account: AccountID
    public var instruments: [InstrumentID: Instrument]
    /// Signed net position per instrument for this strategy's account (missing = flat).
    public var positions: [InstrumentID: Quantity]
    /// This account's orders that are not final (includes orders just submitted and not yet acknowledged).
    public var openOrders: [Order]

    public init(
        now: Timestamp, account: AccountID, instruments: [InstrumentID: Instrument],
        positions: [InstrumentID: Quantity] = [:], openOrders: [Order] = []
    ) {
        self.now = now
        self.account = account
        self.instruments = instruments
        self.positions = positions
        self.openOrders = openOrders
    }

    /// The signed net position in `instrument`, zero when flat.
    public func position(_ instrument: InstrumentID) -> Quantity {
        positions[instrument] ?? .zero
    }

    /// Open orders in `instrument`, in the order the engine lists them (journal order).
    public func openOrders(in instrument: InstrumentID) -> [Order] {
        openOrders.filter { $0.request.instrument == instrument && !$0.status.isFinal }
    }

    /// Open orders in `instrument` on the buy side, or on the sell side (`sell` and `sellShort` alike).
    public func openOrders(in instrument: InstrumentID, buying: Bool) -> [Order] {
        openOrders(in: instrument).filter { ($0.request.side == .buy) == buying }
    }
}

/// A new order as a strategy asks for it; the order manager assigns the ClOrdID and the account.
public struct NewOrder: Sendable, Hashable {
    public var instrument: InstrumentID
    public var side: Side
    public var type: OrderType
    public var timeInForce: TimeInForce
    /// Positive, a multiple of the instrument's lot size.
    public var quantity: Quantity

    public init(instrument: InstrumentID, side: Side, type: OrderType, timeInForce: TimeInForce, quantity: Quantity) {
        self.instrument = instrument
        self.side = side
        self.type = type
        self.timeInForce = timeInForce
        self.quantity = quantity
    }
}

/// What a strategy asks the engine to do. Actions are processed in array order, each through
/// pre-trade risk and the journal, before the strategy is called again.
public enum StrategyAction: Sendable, Hashable {
    /// A new order. The order manager assigns the ClOrdID and account.
    case submit(NewOrder)
    /// Cancel the open order with this ClOrdID.
    case cancel(ClOrdID)
    /// Cancel/replace: `quantity` is the new *total* order quantity (FIX OrderQty, so it must
    /// exceed what is already filled); `type` nil keeps the current type and price. The order
    /// manager assigns the new ClOrdID.
    case replace(ClOrdID, quantity: Quantity, type: OrderType?)
    /// Call `onTimer(id:)` once, at `now + after`. Setting an id that is already pending re-arms it.
    case setTimer(id: String, after: Duration)
}

/// A trading strategy: market data, its own order updates and fills, and timers in; actions out.
///
/// Contract (docs/strategy.md): callbacks are serialized (never concurrent) and each gets a
/// ``StrategyContext`` reflecting the journaled state, including the effect of every action returned
/// before. A strategy does no I/O, reads no clock (time is `context.now`), draws no unseeded
/// randomness and uses no `Double` for anything that reaches an order, so the live node and the
/// backtester produce the same actions from the same inputs.
public protocol Strategy: Sendable {
    /// Once, before any other callback (also on a new leader after failover, with a fresh value).
    mutating func start(context: StrategyContext) -> [StrategyAction]
    /// Every market-data update the engine subscribes to (any instrument: filter by `update.instrument`).
    mutating func onMarketData(_ update: MarketUpdate, context: StrategyContext) -> [StrategyAction]
    /// After any change of one of this account's orders (ack, reject, cancel, replace, fill).
    mutating func onOrderUpdate(_ order: Order, context: StrategyContext) -> [StrategyAction]
    /// Each execution of one of this account's orders, before the `onOrderUpdate` for the same change.
    mutating func onFill(_ fill: Execution, order: Order, context: StrategyContext) -> [StrategyAction]
    /// A timer set with ``StrategyAction/setTimer(id:after:)`` is due.
    mutating func onTimer(id: String, context: StrategyContext) -> [StrategyAction]
}

extension Strategy {
    public mutating func start(context: StrategyContext) -> [StrategyAction] { [] }
    public mutating func onOrderUpdate(_ order: Order, context: StrategyContext) -> [StrategyAction] { [] }
    public mutating func onFill(_ fill: Execution, order: Order, context: StrategyContext) -> [StrategyAction] { [] }
    public mutating func onTimer(id: String, context: StrategyContext) -> [StrategyAction] { [] }
}

extension Timestamp {
    /// `self + duration`, saturating at the ends of the range, truncating below a nanosecond.
    func advanced(by duration: Duration) -> Timestamp {
        let (seconds, attoseconds) = duration.components
        let (ns, o1) = seconds.multipliedReportingOverflow(by: Timestamp.nanosecondsPerSecond)
        let (sum, o2) = ns.addingReportingOverflow(attoseconds / 1_000_000_000)
        let (result, o3) = nanosecondsSinceEpoch.addingReportingOverflow(sum)
        if o1 || o2 || o3 { return Timestamp(nanosecondsSinceEpoch: seconds < 0 ? .min : .max) }
        return Timestamp(nanosecondsSinceEpoch: result)
    }
}
