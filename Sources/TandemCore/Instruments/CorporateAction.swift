/// A corporate action on one instrument. Applied by the fold to positions; also used to back-adjust
/// historical prices and quantities so that a series is comparable across the action.
public enum CorporateAction: Sendable, Hashable {
    /// Each old unit becomes `ratio` new units (2/1 is a 2-for-1 split, 1/10 a 1-for-10 reverse split).
    case split(Ratio)
    /// A cash payment per unit held (received by longs, owed by shorts), in the instrument's currency.
    case cashDividend(perUnit: Money)
    /// The instrument keeps its ``InstrumentID``; only its symbol changes.
    case symbolChange(newSymbol: String)

    /// A pre-action price expressed in post-action terms (divided by a split ratio).
    public func adjustHistorical(price: Price, _ rule: RoundingRule = .halfEven) throws(ArithmeticError) -> Price {
        guard case .split(let r) = self else { return price }
        let q = rule.divide(Int128(price.units) * Int128(r.denominator), by: Int128(r.numerator))
        guard let units = Int64(exactly: q) else {
            throw ArithmeticError(.overflow, "price \(price) ÷ split \(r) overflows Price")
        }
        return Price(units: units)
    }

    /// A pre-action quantity expressed in post-action terms (multiplied by a split ratio), checked.
    public func adjustHistorical(quantity: Quantity, _ rule: RoundingRule = .towardZero) throws(ArithmeticError) -> Quantity {
        guard case .split(let r) = self else { return quantity }
        let q = rule.divide(Int128(quantity.units) * Int128(r.numerator), by: Int128(r.denominator))
        guard let units = Int64(exactly: q) else {
            throw ArithmeticError(.overflow, "quantity \(quantity) × split \(r) overflows Quantity")
        }
        return Quantity(units: units)
    }
}

/// A corporate action as journaled: which instrument, what, and when it took effect.
public struct CorporateActionEvent: Sendable, Hashable {
    public var instrument: InstrumentID
    public var action: CorporateAction
    public var at: Timestamp

    public init(instrument: InstrumentID, action: CorporateAction, at: Timestamp) {
        self.instrument = instrument
        self.action = action
        self.at = at
    }
}
