import TandemCore
@testable import TandemRisk

let abc = Instrument(id: InstrumentID(1), symbol: "ABC", venue: "SIM", tickSize: Price(units: 1_000_000),
                     lotSize: Quantity(units: 100_000_000), currency: .usd)
let xyz = Instrument(id: InstrumentID(2), symbol: "XYZ", venue: "SIM", tickSize: Price(units: 1_000_000),
                     lotSize: Quantity(units: 100_000_000), currency: .usd)
let acct = AccountID("A")

func px(_ s: String) -> Price { try! Price(s) }
func qty(_ s: String) -> Quantity { try! Quantity(s) }
func amt(_ s: String) -> Amount { try! Amount(s) }
/// Milliseconds after a fixed instant.
func t(_ ms: Int64) -> Timestamp { Timestamp(nanosecondsSinceEpoch: 1_700_000_000_000_000_000 + ms * 1_000_000) }

/// Small limits so every boundary is easy to state.
func testLimits() -> RiskLimits {
    var l = RiskLimits()
    l.maxOrderQuantity = qty("100")
    l.maxOrderNotional = amt("10000")
    l.priceCollarBasisPoints = 500
    l.maxPosition = qty("200")
    l.maxGrossExposure = amt("1000000")
    l.maxNetExposure = amt("1000000")
    l.maxOpenOrders = 10
    l.maxOrdersPerWindow = 5
    l.orderRateWindowMs = 1_000
    l.maxMessagesPerWindow = 10
    l.messageRateWindowMs = 1_000
    l.perTradeLossLimit = amt("500")
    l.maxDailyLoss = amt("1000")
    l.maxDrawdown = amt("800")
    l.maxRejectsPerWindow = 3
    l.rejectWindowMs = 60_000
    l.staleMarkAfterMs = 5_000
    l.maxDisconnectsPerWindow = 2
    l.disconnectWindowMs = 300_000
    l.pnlSigmaLimit = 4
    l.pnlSampleIntervalMs = 1_000
    l.pnlSigmaWindow = 50
    l.pnlSigmaMinimumSamples = 10
    return l
}

/// A `TradingState` built through the fold, as the node has it.
struct Book {
    var state = TradingState()
    private var next = 0

    init() throws {
        try state.apply(.instrumentDefined(abc, at: t(0)))
        try state.apply(.instrumentDefined(xyz, at: t(0)))
    }

    private mutating func newID() -> ClOrdID {
        next += 1
        return ClOrdID("T\(next)")
    }

    /// An order that is journaled as accepted and stays open (acknowledged, unfilled).
    @discardableResult
    mutating func open(_ side: Side, _ q: String, at price: String, instrument: Instrument = abc, account: AccountID = acct) throws -> ClOrdID {
        let id = newID()
        let r = OrderRequest(clOrdID: id, account: account, instrument: instrument.id, side: side,
                             type: .limit(px(price)), timeInForce: .day, quantity: qty(q))
        try state.apply(.orderIntent(OrderIntent(request: r, decision: .accepted, at: t(0))))
        try state.apply(.orderAcknowledged(clOrdID: id, venueOrderID: "V\(id)", at: t(0)))
        return id
    }

    /// A filled order: moves the position.
    mutating func fill(_ side: Side, _ q: String, at price: String, instrument: Instrument = abc, account: AccountID = acct) throws {
        let id = try open(side, q, at: price, instrument: instrument, account: account)
        try fillOpen(id, q, at: price)
    }

    /// Fills `q` of an open order (completing it when `q` is its leaves quantity).
    mutating func fillOpen(_ id: ClOrdID, _ q: String, at price: String) throws {
        try fillOpen(id, qty(q), at: px(price))
    }

    mutating func fillOpen(_ id: ClOrdID, _ q: Quantity, at price: Price) throws {
        guard let o = state.order(id) else { return }
        let e = Execution(clOrdID: id, execID: "E\(next)-\(q.units)", quantity: q, price: price, fee: .zero(.usd), at: t(0))
        next += 1
        try state.apply(q == o.leavesQuantity ? .fill(e) : .partialFill(e))
    }

    var net: Quantity { state.position(account: acct, instrument: abc.id)?.netQuantity ?? .zero }
}

func order(_ side: Side, _ q: String, _ type: OrderType = .market, instrument: Instrument = abc, id: String = "N") -> OrderRequest {
    OrderRequest(clOrdID: ClOrdID(id), account: acct, instrument: instrument.id, side: side, type: type,
                 timeInForce: .day, quantity: qty(q))
}

func limit(_ p: String) -> OrderType { .limit(px(p)) }

/// The rule name of a rejection, or nil when accepted.
func rule(_ d: RiskDecision) -> String? {
    if case .rejected(let rule, _) = d { return rule }
    return nil
}

func reason(_ d: RiskDecision) -> String {
    if case .rejected(_, let reason) = d { return reason }
    return ""
}

let mark100: [InstrumentID: Price] = [abc.id: px("100"), xyz.id: px("100")]
