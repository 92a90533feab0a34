import TandemCore

/// Trend following on two simple moving averages of one instrument's prices.
///
/// - Samples: every reported trade price (`source: trade`; updates without a trade add none) or
///   the mid of every two-sided, uncrossed update (`source: mid`). Samples are kept doubled
///   (2·price, or bid + ask) as exact integers, so a mid needs no rounding.
/// - Signal: the sign of fast − slow, decided exactly by comparing `fastSum·slow` with `slowSum·fast`
///   in 128 bits (no division, so no rounding can invent or hide a cross). The first sign is known
///   once `slow` samples arrived; a cross is a later sample whose sign is +1 after a sign ≤ 0 (up:
///   target +`positionSize`) or −1 after a sign ≥ 0 (down: target −`positionSize`, or 0 when
///   `allowShort` is false). Before the first cross there is no target and it does nothing.
/// - Execution: on each market-data update of its instrument, when the position differs from the
///   target by at least a lot and no order of this account in the instrument is open, one IOC limit
///   order for the difference at the far touch (buy at the best ask + `slippageTicks`, sell at the
///   best bid − `slippageTicks`, rounded to the tick towards marketable). It acts only on market data,
///   so a missed IOC is retried at the next update's prices, never in a loop on stale ones.
/// - A rejected order pauses it for `backoffMillis`.
public struct MovingAverageCrossover: CatalogStrategy {
    public static let catalogName = "ma-crossover"

    public enum Source: String, Sendable, Hashable, CaseIterable {
        case trade, mid
    }

    public static var parameterSpecs: [StrategyParameter] {
        [
            StrategyParameter("instrument", default: nil, "instrument to trade: numeric id, or a symbol naming exactly one instrument"),
            StrategyParameter("fast", default: "5", "fast moving-average window, in samples (1 to 99999, less than slow)"),
            StrategyParameter("slow", default: "20", "slow moving-average window, in samples (2 to 100000); nothing happens before this many samples"),
            StrategyParameter("positionSize", default: nil, "target |position| after a cross; a positive multiple of the lot size"),
            StrategyParameter("source", default: "trade", "prices averaged: trade (reported trades) or mid (mid of each two-sided update)"),
            StrategyParameter("allowShort", default: "true", "true: a down-cross targets -positionSize; false: it targets flat"),
            StrategyParameter("slippageTicks", default: "0", "ticks beyond the far touch for the IOC limit price (0 to 1000000)"),
            StrategyParameter("backoffMillis", default: "1000", "pause after a rejected order, in milliseconds (0 to 3600000)"),
        ]
    }

    public static let maxWindow: Int64 = 100_000

    public let instrument: Instrument
    public let fast: Int
    public let slow: Int
    public let positionSize: Quantity
    public let source: Source
    public let allowShort: Bool
    public let slippageTicks: Int64
    public let backoff: Duration

    /// Ring of the last `slow` doubled samples; `sampleCount % slow` is the next slot.
    private var window: [Int128]
    public private(set) var sampleCount = 0
    private var fastSum: Int128 = 0
    private var slowSum: Int128 = 0
    /// Sign of fast − slow at the last full-window sample.
    private var lastSign: Int?
    /// The position to move to, set by the last cross; nil before the first.
    public private(set) var target: Quantity?
    private var pausedUntil: Timestamp?

    /// Validates like the catalog does; errors name the parameter.
    public init(
        instrument: Instrument, fast: Int, slow: Int, positionSize: Quantity, source: Source = .trade,
        allowShort: Bool = true, slippageTicks: Int64 = 0, backoff: Duration = .seconds(1)
    ) throws(StrategyConfigError) {
        try Check.tradable(instrument, "instrument")
        try Check.range(Int64(slow), "slow", 2...Self.maxWindow)
        try Check.range(Int64(fast), "fast", 1...Self.maxWindow - 1)
        guard fast < slow else {
            throw StrategyConfigError(parameter: "fast", message: "must be less than slow (\(slow)), got \(fast)")
        }
        try Check.lots(positionSize, "positionSize", of: instrument)
        try Check.range(slippageTicks, "slippageTicks", 0...1_000_000)
        guard backoff >= .zero else {
            throw StrategyConfigError(parameter: "backoffMillis", message: "must not be negative, got \(backoff)")
        }
        self.instrument = instrument
        self.fast = fast
        self.slow = slow
        self.positionSize = positionSize
        self.source = source
        self.allowShort = allowShort
        self.slippageTicks = slippageTicks
        self.backoff = backoff
        self.window = Array(repeating: 0, count: slow)
    }

    public init(parameters p: StrategyParameters) throws(StrategyConfigError) {
        let source = try p.choice("source", among: Source.allCases.map(\.rawValue))
        try self.init(
            instrument: p.instrument("instrument"),
            fast: Int(p.integer("fast", in: 1...Self.maxWindow - 1)),
            slow: Int(p.integer("slow", in: 2...Self.maxWindow)),
            positionSize: p.quantity("positionSize"),
            source: Source(rawValue: source) ?? .trade,
            allowShort: p.bool("allowShort"),
            slippageTicks: p.integer("slippageTicks", in: 0...1_000_000),
            backoff: .milliseconds(p.integer("backoffMillis", in: 0...3_600_000)))
    }

    // MARK: Averages

    /// The fast average, rounded half-even to the price scale, once `fast` samples arrived (for reports;
    /// the signal compares the exact sums).
    public var fastAverage: Price? { average(fastSum, fast) }
    /// The slow average, as ``fastAverage``.
    public var slowAverage: Price? { average(slowSum, slow) }

    private func average(_ doubledSum: Int128, _ n: Int) -> Price? {
        guard sampleCount >= n else { return nil }
        return Int64(exactly: RoundingRule.halfEven.divide(doubledSum, by: 2 * Int128(n))).map(Price.init(units:))
    }

    private mutating func push(_ doubled: Int128) {
        let slot = sampleCount % slow
        let evictedSlow = sampleCount >= slow ? window[slot] : 0
        let evictedFast = sampleCount >= fast ? window[(sampleCount - fast) % slow] : 0
        window[slot] = doubled
        slowSum += doubled - evictedSlow
        fastSum += doubled - evictedFast
        sampleCount += 1
    }

    // MARK: Callbacks

    public mutating func onMarketData(_ update: MarketUpdate, context: StrategyContext) -> [StrategyAction] {
        guard update.instrument == instrument.id else { return [] }
        let sample: Int128? = switch source {
        case .trade: update.lastTrade.map { 2 * Int128($0.price.units) }
        case .mid: update.twoSidedBook.map { Int128($0.bid.price.units) + Int128($0.ask.price.units) }
        }
        if let sample {
            push(sample)
            if sampleCount >= slow {
                let lhs = fastSum * Int128(slow), rhs = slowSum * Int128(fast)
                let sign = lhs > rhs ? 1 : lhs < rhs ? -1 : 0
                if let last = lastSign {
                    if sign > 0 && last <= 0 { target = positionSize }
                    if sign < 0 && last >= 0 { target = allowShort ? -positionSize : .zero }
                }
                lastSign = sign
            }
        }
        return trade(update, context)
    }

    public mutating func onOrderUpdate(_ order: Order, context: StrategyContext) -> [StrategyAction] {
        if order.request.instrument == instrument.id && order.status == .rejected {
            pausedUntil = context.now.advanced(by: backoff)
        }
        return []
    }

    private mutating func trade(_ update: MarketUpdate, _ context: StrategyContext) -> [StrategyAction] {
        guard let target else { return [] }
        if let until = pausedUntil {
            if context.now < until { return [] }
            pausedUntil = nil
        }
        // Never more than one working order: wait for the one in flight to finish.
        guard context.openOrders(in: instrument.id).isEmpty else { return [] }
        let delta = Int128(target.units) - Int128(context.position(instrument.id).units)
        let lot = Int128(instrument.lotSize.units)
        guard let quantity = Int64(exactly: delta.magnitude / UInt128(lot) * UInt128(lot)), quantity > 0 else { return [] }
        let tick = Int128(instrument.tickSize.units)
        let slip = Int128(slippageTicks) * tick
        let buying = delta > 0
        guard let touch = buying ? update.bestAsk : update.bestBid, touch.quantity.units > 0 else { return [] }
        let raw = Int128(touch.price.units) + (buying ? slip : -slip)
        // Round towards marketable: up for a buy, down for a sell.
        let ticks = (buying ? RoundingRule.up : RoundingRule.down).divide(raw, by: tick)
        guard let limit = Int64(exactly: ticks * tick) else { return [] }
        return [.submit(NewOrder(
            instrument: instrument.id, side: buying ? .buy : .sell, type: .limit(Price(units: limit)),
            timeInForce: .immediateOrCancel, quantity: Quantity(units: quantity)))]
    }
}
