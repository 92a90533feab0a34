import TandemCore

/// Quotes one instrument on both sides around the mid with limit DAY orders.
///
/// - Prices: bid at mid − `halfSpreadTicks`·tick rounded down to the tick grid, ask at
///   mid + `halfSpreadTicks`·tick rounded up, computed exactly from the doubled mid (bid + ask) in
///   128 bits. With `halfSpreadTicks` ≥ 1 the bid is always below the best ask and the ask above the
///   best bid, so the quotes never cross the market.
/// - Size and limits: `quoteQuantity` per side, cut to the room left under `maxPosition` (counting the
///   position and any other open order on that side), in whole lots; a side with no room is not
///   quoted and its resting quote is canceled. So fills can take |position| to `maxPosition`, never past.
/// - Requotes: a resting quote is replaced only when the desired price is ≥ `requoteTicks` ticks
///   away from its limit, or when its remaining quantity exceeds the room (risk). A quote with a
///   request in flight (pending new, cancel or replace) is left alone until it settles.
/// - At most one open order per side, found in `context.openOrders` (so after a failover it adopts
///   the orders it left); extra orders on a side are canceled. No ClOrdIDs need to be remembered.
/// - Needs a two-sided, uncrossed book: on a one-sided or crossed update it does nothing (resting
///   quotes stay as priced off the last good book) and forgets the book until the next good one.
/// - Refusals (a new quote rejected, a cancel or replace that came back without taking effect)
///   pause all quoting for `backoffMillis`, so a persistent refusal cannot turn into a message loop.
public struct MarketMaker: CatalogStrategy {
    public static let catalogName = "market-maker"
    /// The timer that ends a backoff pause.
    public static let resumeTimerID = "market-maker.resume"

    public static var parameterSpecs: [StrategyParameter] {
        [
            StrategyParameter("instrument", default: nil, "instrument to quote: numeric id, or a symbol naming exactly one instrument"),
            StrategyParameter("quoteQuantity", default: nil, "quantity quoted on each side; a positive multiple of the lot size"),
            StrategyParameter("halfSpreadTicks", default: "1", "distance of each quote from the mid, in ticks (1 to 1000000)"),
            StrategyParameter("maxPosition", default: nil, "largest |net position| the quotes may lead to; a multiple of the lot size, at least quoteQuantity"),
            StrategyParameter("requoteTicks", default: "1", "move a resting quote only when its desired price moved at least this many ticks (1 to 1000000)"),
            StrategyParameter("backoffMillis", default: "1000", "pause after a rejected order or refused cancel/replace, in milliseconds (0 to 3600000)"),
        ]
    }

    public let instrument: Instrument
    public let quoteQuantity: Quantity
    public let halfSpreadTicks: Int64
    public let maxPosition: Quantity
    public let requoteTicks: Int64
    public let backoff: Duration

    /// The last two-sided book (nil after a one-sided or crossed update).
    private var book: (bid: Price, ask: Price)?
    /// Orders this strategy asked to cancel or replace, to notice a refusal.
    private var requested: Set<ClOrdID> = []
    private var pausedUntil: Timestamp?

    /// Validates like the catalog does; errors name the parameter.
    public init(
        instrument: Instrument, quoteQuantity: Quantity, halfSpreadTicks: Int64 = 1, maxPosition: Quantity,
        requoteTicks: Int64 = 1, backoff: Duration = .seconds(1)
    ) throws(StrategyConfigError) {
        try Check.tradable(instrument, "instrument")
        try Check.lots(quoteQuantity, "quoteQuantity", of: instrument)
        try Check.range(halfSpreadTicks, "halfSpreadTicks", 1...1_000_000)
        try Check.lots(maxPosition, "maxPosition", of: instrument)
        guard maxPosition >= quoteQuantity else {
            throw StrategyConfigError(
                parameter: "maxPosition", message: "must be at least quoteQuantity (\(quoteQuantity)), got \(maxPosition)")
        }
        try Check.range(requoteTicks, "requoteTicks", 1...1_000_000)
        guard backoff >= .zero else {
            throw StrategyConfigError(parameter: "backoffMillis", message: "must not be negative, got \(backoff)")
        }
        self.instrument = instrument
        self.quoteQuantity = quoteQuantity
        self.halfSpreadTicks = halfSpreadTicks
        self.maxPosition = maxPosition
        self.requoteTicks = requoteTicks
        self.backoff = backoff
    }

    public init(parameters p: StrategyParameters) throws(StrategyConfigError) {
        try self.init(
            instrument: p.instrument("instrument"),
            quoteQuantity: p.quantity("quoteQuantity"),
            halfSpreadTicks: p.integer("halfSpreadTicks", in: 1...1_000_000),
            maxPosition: p.quantity("maxPosition"),
            requoteTicks: p.integer("requoteTicks", in: 1...1_000_000),
            backoff: .milliseconds(p.integer("backoffMillis", in: 0...3_600_000)))
    }

    // MARK: Callbacks

    public mutating func onMarketData(_ update: MarketUpdate, context: StrategyContext) -> [StrategyAction] {
        guard update.instrument == instrument.id else { return [] }
        guard let b = update.twoSidedBook else {
            book = nil
            return []
        }
        book = (b.bid.price, b.ask.price)
        return evaluate(context)
    }

    /// A quote that reached a final state frees its side; an ack may reveal a stale price. Both requote.
    public mutating func onOrderUpdate(_ order: Order, context: StrategyContext) -> [StrategyAction] {
        guard order.request.instrument == instrument.id else { return [] }
        var actions: [StrategyAction] = []
        if order.status == .rejected { actions += pause(context) }
        return actions + evaluate(context)
    }

    public mutating func onTimer(id: String, context: StrategyContext) -> [StrategyAction] {
        id == Self.resumeTimerID ? evaluate(context) : []
    }

    // MARK: Quoting

    /// The quote prices for the current book, or nil when they do not fit a `Price`.
    public func quotePrices(bid: Price, ask: Price) -> (bid: Price, ask: Price)? {
        let tick = Int128(instrument.tickSize.units)
        let doubledMid = Int128(bid.units) + Int128(ask.units)
        let offset = 2 * Int128(halfSpreadTicks) * tick
        // floor((2·mid − 2·k·tick) / (2·tick)) ticks, and the ceiling for the ask: one exact rounding each.
        let bidTicks = RoundingRule.down.divide(doubledMid - offset, by: 2 * tick)
        let askTicks = RoundingRule.up.divide(doubledMid + offset, by: 2 * tick)
        guard let b = Int64(exactly: bidTicks * tick), let a = Int64(exactly: askTicks * tick) else { return nil }
        return (Price(units: b), Price(units: a))
    }

    private mutating func pause(_ context: StrategyContext) -> [StrategyAction] {
        pausedUntil = context.now.advanced(by: backoff)
        return [.setTimer(id: Self.resumeTimerID, after: backoff)]
    }

    private mutating func evaluate(_ context: StrategyContext) -> [StrategyAction] {
        var actions: [StrategyAction] = []
        let orders = context.openOrders(in: instrument.id)

        // A cancel or replace we asked for leaves the order pending; back to a working state means refused.
        var stillPending: Set<ClOrdID> = []
        var refused = false
        for o in orders where requested.contains(o.clOrdID) {
            if o.status == .pendingCancel || o.status == .pendingReplace { stillPending.insert(o.clOrdID) } else { refused = true }
        }
        requested = stillPending
        if refused { actions += pause(context) }

        if let until = pausedUntil {
            if context.now < until { return actions }
            pausedUntil = nil
        }
        guard let book, let prices = quotePrices(bid: book.bid, ask: book.ask) else { return actions }
        let position = Int128(context.position(instrument.id).units)
        actions += manageSide(buying: true, price: prices.bid, position: position, orders: orders)
        actions += manageSide(buying: false, price: prices.ask, position: position, orders: orders)
        return actions
    }

    private mutating func manageSide(buying: Bool, price: Price, position: Int128, orders: [Order]) -> [StrategyAction] {
        let side = orders.filter { ($0.request.side == .buy) == buying }
        // The quote to keep: the first one without a cancel in flight; every other open order on the side goes.
        let keeper = side.first { $0.status != .pendingCancel }
        var actions: [StrategyAction] = []
        var otherLeaves: Int128 = 0
        for o in side where o.clOrdID != keeper?.clOrdID {
            otherLeaves += Int128(o.leavesQuantity.units)
            if Self.cancellable(o.status) { actions.append(cancel(o.clOrdID)) }
        }

        // Room under maxPosition if everything on this side filled.
        let signedPosition = buying ? position : -position
        let room = Int128(maxPosition.units) - signedPosition - otherLeaves
        let lot = Int128(instrument.lotSize.units)
        let wanted = min(Int128(quoteQuantity.units), room)
        let quantity = wanted > 0 ? Quantity(units: Int64(wanted / lot * lot)) : .zero

        guard !side.isEmpty else {
            guard quantity.units > 0 else { return actions }
            actions.append(.submit(NewOrder(
                instrument: instrument.id, side: buying ? .buy : .sell, type: .limit(price),
                timeInForce: .day, quantity: quantity)))
            return actions
        }
        guard let keeper else { return actions }  // only cancels in flight: wait for them
        if quantity.units == 0 {
            if Self.cancellable(keeper.status) { actions.append(cancel(keeper.clOrdID)) }
            return actions
        }
        // Only a working order can be replaced (one request at a time; pending-new must be acked first).
        guard keeper.status == .new || keeper.status == .partiallyFilled else { return actions }
        let moved: Bool
        if let resting = keeper.request.type.limitPrice {
            let distance = (Int128(price.units) - Int128(resting.units)).magnitude
            moved = distance >= UInt128(requoteTicks) * UInt128(instrument.tickSize.units)
        } else {
            moved = true
        }
        guard moved || keeper.leavesQuantity > quantity else { return actions }
        let (total, overflow) = keeper.filledQuantity.units.addingReportingOverflow(quantity.units)
        guard !overflow else { return actions }
        requested.insert(keeper.clOrdID)
        actions.append(.replace(keeper.clOrdID, quantity: Quantity(units: total), type: .limit(price)))
        return actions
    }

    private mutating func cancel(_ id: ClOrdID) -> StrategyAction {
        requested.insert(id)
        return .cancel(id)
    }

    /// States the order machine accepts a cancel request in.
    private static func cancellable(_ s: OrderStatus) -> Bool {
        s == .pendingNew || s == .new || s == .partiallyFilled || s == .suspended
    }
}
