import TandemCore
import TandemStrategy

func price(_ text: String) -> Price { try! Price(text) }
func qty(_ text: String) -> Quantity { try! Quantity(text) }

func instrument(_ id: UInt32 = 7, tick: String = "0.01", lot: String = "1", symbol: String = "XYZ") -> Instrument {
    Instrument(id: InstrumentID(id), symbol: symbol, venue: "SIM", tickSize: price(tick), lotSize: qty(lot), currency: .usd)
}

func level(_ p: String, _ q: String = "100") -> PriceLevel { PriceLevel(price: price(p), quantity: qty(q)) }

/// A minimal engine for tests: it keeps this account's orders and positions the way the node's
/// fold would, applies the strategy's actions before the next callback (submit → pending-new,
/// cancel → pending-cancel, replace → pending-replace), and lets a test play the venue.
struct Harness {
    var strategy: any Strategy
    let account = AccountID("ACC")
    var instruments: [InstrumentID: Instrument]
    var now = Timestamp(nanosecondsSinceEpoch: 1_700_000_000 * Timestamp.nanosecondsPerSecond)
    var positions: [InstrumentID: Quantity] = [:]
    /// Every order, journal order (final ones included).
    private(set) var orders: [Order] = []
    private var index: [ClOrdID: Int] = [:]
    /// Indices of the orders that are not final, in journal order (kept so long runs stay fast).
    private var open: [Int] = []
    var timers: [String: Timestamp] = [:]
    /// Deliver `onOrderUpdate` for the pending states the strategy's own actions create, too.
    var echoOwnActions = false
    /// Everything the strategy returned, in order.
    var log: [StrategyAction] = []
    private var nextID = 1
    private var execID = 1

    init(_ strategy: any Strategy, instruments: [Instrument]) {
        self.strategy = strategy
        self.instruments = Dictionary(uniqueKeysWithValues: instruments.map { ($0.id, $0) })
    }

    var context: StrategyContext {
        StrategyContext(now: now, account: account, instruments: instruments, positions: positions,
                        openOrders: openOrders)
    }

    var openOrders: [Order] { open.map { orders[$0] } }

    func order(_ id: ClOrdID) -> Order? { index[id].map { orders[$0] } }

    private mutating func append(_ o: Order) {
        index[o.clOrdID] = orders.count
        open.append(orders.count)
        orders.append(o)
    }

    /// Applies a journaled event to an order and drops it from the open list once final.
    private mutating func apply(_ event: OrderEvent, to id: ClOrdID) -> Int {
        guard let i = index[id] else { fatalError("no order \(id)") }
        try! orders[i].apply(event)
        if orders[i].status.isFinal { open.removeAll { $0 == i } }
        return i
    }

    // MARK: Inputs

    @discardableResult
    mutating func start() -> [StrategyAction] {
        let ctx = context
        return process(strategy.start(context: ctx))
    }

    @discardableResult
    mutating func market(_ instrumentID: InstrumentID, bid: PriceLevel?, ask: PriceLevel?, trade: PriceLevel? = nil) -> [StrategyAction] {
        now.nanosecondsSinceEpoch += 1_000_000
        let update = MarketUpdate(instrument: instrumentID, bestBid: bid, bestAsk: ask, lastTrade: trade, at: now)
        let ctx = context
        return process(strategy.onMarketData(update, context: ctx))
    }

    /// Advances time and fires the timers that are due, in due order (then id order).
    @discardableResult
    mutating func advance(by nanoseconds: Int64) -> [StrategyAction] {
        let end = now.nanosecondsSinceEpoch + nanoseconds
        var out: [StrategyAction] = []
        while let (id, at) = timers.filter({ $0.value.nanosecondsSinceEpoch <= end })
            .min(by: { ($0.value, $0.key) < ($1.value, $1.key) }) {
            timers[id] = nil
            now = at
            let ctx = context
            out += process(strategy.onTimer(id: id, context: ctx))
        }
        now.nanosecondsSinceEpoch = end
        return out
    }

    // MARK: The venue

    @discardableResult mutating func ack(_ id: ClOrdID) -> [StrategyAction] { venue(id, .acknowledged) }
    @discardableResult mutating func reject(_ id: ClOrdID) -> [StrategyAction] { venue(id, .rejected) }
    @discardableResult mutating func cancelled(_ id: ClOrdID) -> [StrategyAction] { venue(id, .canceled) }
    @discardableResult mutating func cancelRejected(_ id: ClOrdID) -> [StrategyAction] { venue(id, .cancelRejected) }
    @discardableResult mutating func replaceRejected(_ id: ClOrdID) -> [StrategyAction] { venue(id, .replaceRejected) }

    /// Accepts the pending replace: the order becomes replaced and its successor continues it.
    @discardableResult
    mutating func replaceAccepted(_ id: ClOrdID) -> [StrategyAction] {
        let i = apply(.replaceAccepted, to: id)
        append(orders[i].successor()!)
        let (o, ctx) = (orders[i], context)
        return process(strategy.onOrderUpdate(o, context: ctx))
    }

    @discardableResult
    mutating func fill(_ id: ClOrdID, _ quantity: Quantity, at p: Price) -> [StrategyAction] {
        let i = apply(.fill(quantity: quantity, price: p), to: id)
        let o = orders[i]
        let signed = Quantity(units: o.request.side.direction * quantity.units)
        positions[o.request.instrument, default: .zero] = positions[o.request.instrument, default: .zero] + signed
        execID += 1
        let execution = Execution(clOrdID: id, execID: "E\(execID)", quantity: quantity, price: p, fee: Money(units: 0, currency: .usd), at: now)
        var ctx = context
        var out = process(strategy.onFill(execution, order: o, context: ctx))
        ctx = context
        out += process(strategy.onOrderUpdate(orders[i], context: ctx))
        return out
    }

    private mutating func venue(_ id: ClOrdID, _ event: OrderEvent) -> [StrategyAction] {
        let i = apply(event, to: id)
        let (o, ctx) = (orders[i], context)
        return process(strategy.onOrderUpdate(o, context: ctx))
    }

    // MARK: Actions, as the order manager would journal them

    /// Journals the actions in order; with ``echoOwnActions``, then delivers `onOrderUpdate` for each
    /// order they created or changed (as an engine that reports every journaled change would).
    /// Returns everything the strategy emitted, echoes included.
    private mutating func process(_ actions: [StrategyAction]) -> [StrategyAction] {
        log += actions
        var touched: [ClOrdID] = []
        for action in actions {
            switch action {
            case .submit(let n):
                let request = OrderRequest(
                    clOrdID: newID(), account: account, instrument: n.instrument, side: n.side, type: n.type,
                    timeInForce: n.timeInForce, quantity: n.quantity)
                append(Order(request: request))
                touched.append(request.clOrdID)
            case .cancel(let id):
                _ = apply(.cancelRequested, to: id)
                touched.append(id)
            case .replace(let id, let quantity, let type):
                _ = apply(.replaceRequested(ReplaceRequest(newClOrdID: newID(), quantity: quantity, type: type)), to: id)
                touched.append(id)
            case .setTimer(let id, let after):
                let (s, atto) = after.components
                timers[id] = Timestamp(nanosecondsSinceEpoch: now.nanosecondsSinceEpoch + s * 1_000_000_000 + atto / 1_000_000_000)
            }
        }
        guard echoOwnActions else { return actions }
        var out = actions
        for id in touched {
            let (o, ctx) = (order(id)!, context)
            out += process(strategy.onOrderUpdate(o, context: ctx))
        }
        return out
    }

    private mutating func newID() -> ClOrdID {
        defer { nextID += 1 }
        return ClOrdID("C\(nextID)")
    }
}

extension StrategyAction {
    var submitted: NewOrder? { if case .submit(let n) = self { n } else { nil } }
}

extension [StrategyAction] {
    var submits: [NewOrder] { compactMap(\.submitted) }
}
