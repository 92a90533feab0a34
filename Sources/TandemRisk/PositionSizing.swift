import TandemCore

/// An exponentially weighted moving average of squared simple returns (RiskMetrics style):
/// `σ²ₜ = λ·σ²ₜ₋₁ + (1 − λ)·r²ₜ`, seeded with the first return's square. A statistic, so it is a
/// `Double`; it reaches an order only through ``PositionSizer``, which rounds down to the lot.
public struct EWMAVolatility: Sendable, Hashable {
    /// Decay, in (0, 1): 0.94 is the classic daily RiskMetrics value.
    public let lambda: Double
    /// Returns needed before ``volatility`` is known.
    public let minimumReturns: Int
    public private(set) var returnCount = 0
    public private(set) var lastPrice: Price?
    private var variance = 0.0

    public init(lambda: Double = 0.94, minimumReturns: Int = 20) {
        self.lambda = lambda
        self.minimumReturns = Swift.max(1, minimumReturns)
    }

    /// Adds one closing price (one per period); non-positive prices are ignored.
    public mutating func update(price: Price) {
        guard price.units > 0 else { return }
        defer { lastPrice = price }
        guard let last = lastPrice else { return }
        let r = Double(price.units - last.units) / Double(last.units)
        variance = returnCount == 0 ? r * r : lambda * variance + (1 - lambda) * r * r
        returnCount += 1
    }

    /// σ of one period's simple return, or `nil` until `minimumReturns` returns were seen.
    public var volatility: Double? {
        returnCount >= minimumReturns ? variance.squareRoot() : nil
    }
}

/// Volatility-target sizing: the position whose one-period move (σ × price × multiplier × quantity)
/// is `targetRiskBasisPoints` of equity, rounded **down** to the lot and capped by the limits.
public enum PositionSizer {
    /// The target |position| for `instrument`, never negative:
    /// `floor_lot(equity × bps / 10 000 / (σ × price × multiplier))`, capped by the instrument's
    /// max position, max order quantity and max order notional (at `price`), so that one order of
    /// this size passes those rules. Zero when the volatility is unknown or not positive, when
    /// equity or price is not positive, or when equity is in another currency than the instrument.
    public static func targetQuantity(
        equity: Money, price: Price, volatility: Double?, instrument: Instrument,
        targetRiskBasisPoints: Int64, limits: RiskLimits
    ) -> Quantity {
        guard let sigma = volatility, sigma.isFinite, sigma > 0, equity.units > 0, price.units > 0,
              targetRiskBasisPoints > 0, equity.currency == instrument.currency, instrument.lotSize.units > 0
        else { return .zero }
        let lot = Int128(instrument.lotSize.units)
        let m = instrument.multiplier

        // Caps in whole lots, exact integers.
        let overrides = limits.overrides(for: instrument.id)
        let maxPosition = Int128((overrides?.maxPosition ?? limits.maxPosition).units)
        let maxOrder = Int128((overrides?.maxOrderQuantity ?? limits.maxOrderQuantity).units)
        let maxNotional = Int128((overrides?.maxOrderNotional ?? limits.maxOrderNotional).units)
        // notional units = price units × qty units × num / (10⁸ × den)  ⇒  qty units ≤ …
        let notionalCap = maxNotional * 100_000_000 * Int128(m.denominator) / (Int128(price.units) * Int128(m.numerator))
        let capLots = Swift.min(maxPosition, maxOrder, notionalCap) / lot

        // The statistic: how many lots carry the target risk. Only its floor leaves this block.
        let riskMoney = Double(equity.units) / 1e8 * Double(targetRiskBasisPoints) / 10_000
        let perUnitMove = sigma * Double(price.units) / 1e8 * Double(m.numerator) / Double(m.denominator)
        let lotUnits = Double(instrument.lotSize.units) / 1e8
        let lotsDouble = (riskMoney / (perUnitMove * lotUnits)).rounded(.down)
        guard lotsDouble.isFinite, lotsDouble >= 1 else { return .zero }
        let lots = lotsDouble >= Double(capLots) ? capLots : Int128(lotsDouble)
        return Quantity(units: Int64(clamping: Swift.max(0, lots) * lot))
    }
}
