/// Identifies a position: one account's holding of one instrument.
public struct PositionKey: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var account: AccountID
    public var instrument: InstrumentID

    public init(account: AccountID, instrument: InstrumentID) {
        self.account = account
        self.instrument = instrument
    }

    public static func < (lhs: PositionKey, rhs: PositionKey) -> Bool {
        lhs.account != rhs.account ? lhs.account < rhs.account : lhs.instrument < rhs.instrument
    }

    public var description: String { "\(account)/\(instrument)" }
}

/// A net position with its cost basis and P&L, in the instrument's currency.
///
/// Cost is tracked as an exact signed sum of trade notionals (`costBasis`: positive long, negative
/// short) rather than as an average price, so no value is created or lost by rounding: when part of
/// a position closes, the cost removed is `costBasis × closed / |net|` rounded half-even, and the
/// remainder stays in the basis. `realizedPnL` is gross of fees; `fees` accumulate separately.
public struct Position: Sendable, Hashable {
    public private(set) var netQuantity: Quantity
    public private(set) var costBasis: Money
    public private(set) var realizedPnL: Money
    public private(set) var fees: Money
    public let multiplier: Ratio

    public init(currency: Currency, multiplier: Ratio) {
        self.init(netQuantity: .zero, costBasis: .zero(currency), realizedPnL: .zero(currency),
                  fees: .zero(currency), multiplier: multiplier)
    }

    init(netQuantity: Quantity, costBasis: Money, realizedPnL: Money, fees: Money, multiplier: Ratio) {
        self.netQuantity = netQuantity
        self.costBasis = costBasis
        self.realizedPnL = realizedPnL
        self.fees = fees
        self.multiplier = multiplier
    }

    public var currency: Currency { costBasis.currency }
    public var isFlat: Bool { netQuantity.isZero }

    /// Cost per unit (basis ÷ (|net| × multiplier)), rounded half-even; nil when flat.
    public var averagePrice: Price? {
        guard !netQuantity.isZero else { return nil }
        let numerator = Int128(costBasis.units) * Int128(multiplier.denominator) * 100_000_000
        let denominator = Int128(netQuantity.units) * Int128(multiplier.numerator)
        let (n, d) = denominator < 0 ? (-numerator, -denominator) : (numerator, denominator)
        return Int64(exactly: RoundingRule.halfEven.divide(n, by: d)).map(Price.init(units:))
    }

    /// Mark-to-market value minus cost basis at `mark`.
    public func unrealizedPnL(mark: Price) throws(ArithmeticError) -> Money {
        let value = try Money.notional(price: mark, quantity: netQuantity, multiplier: multiplier, currency: currency)
        return try value.subtracting(costBasis)
    }

    /// Books a trade of `quantity` (positive) at `price` in `direction` (+1 buy, −1 sell), which may
    /// open, add to, reduce, close, or flip the position through zero. All-or-nothing: on a thrown
    /// error the position is unchanged.
    public mutating func trade(direction: Int64, quantity: Quantity, price: Price, fee: Money) throws(ArithmeticError) {
        guard quantity.units > 0 else {
            throw ArithmeticError(.invalidDivisor, "trade quantity \(quantity) must be positive")
        }
        guard fee.currency == currency else {
            throw ArithmeticError(.currencyMismatch, "fee \(fee) is not in the position currency \(currency)")
        }
        var next = self
        next.fees = try fees.adding(fee)
        let net = netQuantity.units
        let opposite = net != 0 && (net > 0) != (direction > 0)
        var opening = quantity.units
        if opposite {
            let absNet = net.magnitude
            let closing = Int64(min(UInt64(quantity.units), absNet))
            opening = quantity.units - closing
            let removed: Money
            if UInt64(closing) == absNet {
                removed = costBasis
            } else {
                let share = RoundingRule.halfEven.divide(Int128(costBasis.units) * Int128(closing), by: Int128(absNet))
                removed = Money(units: Int64(share), currency: currency)  // |share| < |costBasis|
            }
            let tradeValue = try Money.notional(price: price, quantity: Quantity(units: closing * direction),
                                                multiplier: multiplier, currency: currency)
            let pnl = try tradeValue.adding(removed).negated()
            next.realizedPnL = try realizedPnL.adding(pnl)
            next.costBasis = try costBasis.subtracting(removed)
            next.netQuantity = Quantity(units: net + closing * direction)
        }
        if opening > 0 {
            let signed = Quantity(units: opening * direction)
            let tradeValue = try Money.notional(price: price, quantity: signed, multiplier: multiplier, currency: currency)
            next.costBasis = try next.costBasis.adding(tradeValue)
            next.netQuantity = try next.netQuantity.adding(signed)
        }
        self = next
    }

    /// Applies a corporate action. A split scales quantity by the ratio (toward zero at the quantity
    /// scale) and keeps the cost basis; a dividend books `perUnit × net × multiplier` to realized
    /// P&L; a symbol change does not touch positions.
    public mutating func apply(_ action: CorporateAction) throws(ArithmeticError) {
        switch action {
        case .split:
            netQuantity = try action.adjustHistorical(quantity: netQuantity, .towardZero)
        case .cashDividend(let perUnit):
            guard perUnit.currency == currency else {
                throw ArithmeticError(.currencyMismatch, "dividend \(perUnit) is not in the position currency \(currency)")
            }
            let amount = try Money.notional(price: Price(units: perUnit.units), quantity: netQuantity,
                                            multiplier: multiplier, currency: currency)
            realizedPnL = try realizedPnL.adding(amount)
        case .symbolChange:
            break
        }
    }
}
