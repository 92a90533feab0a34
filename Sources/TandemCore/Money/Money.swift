/// An amount of a ``Currency`` at 8 decimal places (range ±92,233,720,368.54775807 per value).
///
/// Same overflow policy as ``FixedPoint``: operators trap (and also trap on a currency mismatch,
/// a programmer error); checked methods throw ``ArithmeticError``.
public struct Money: Sendable, Hashable, CustomStringConvertible {
    public static let scale = 8
    public var units: Int64
    public var currency: Currency

    @inlinable public init(units: Int64, currency: Currency) {
        self.units = units
        self.currency = currency
    }

    /// Exactly parses decimal text (`"-12.5"`) as an amount of `currency`.
    public init(_ text: String, _ currency: Currency) throws(ArithmeticError) {
        self.init(units: try DecimalText.parse(text, scale: Money.scale, type: "Money"), currency: currency)
    }

    public static func zero(_ currency: Currency) -> Money { Money(units: 0, currency: currency) }

    /// `"-0.0001 USD"`; ``amountText`` is the number alone.
    public var description: String { "\(amountText) \(currency)" }
    public var amountText: String { DecimalText.format(units, scale: Money.scale) }
    public var isZero: Bool { units == 0 }

    public static func + (lhs: Money, rhs: Money) -> Money {
        precondition(lhs.currency == rhs.currency, "currency mismatch")
        return Money(units: lhs.units + rhs.units, currency: lhs.currency)
    }

    public static func - (lhs: Money, rhs: Money) -> Money {
        precondition(lhs.currency == rhs.currency, "currency mismatch")
        return Money(units: lhs.units - rhs.units, currency: lhs.currency)
    }

    public func adding(_ other: Money) throws(ArithmeticError) -> Money {
        try sameCurrency(other, "+")
        let (r, o) = units.addingReportingOverflow(other.units)
        if o { throw ArithmeticError(.overflow, "\(self) + \(other) overflows Money") }
        return Money(units: r, currency: currency)
    }

    public func subtracting(_ other: Money) throws(ArithmeticError) -> Money {
        try sameCurrency(other, "-")
        let (r, o) = units.subtractingReportingOverflow(other.units)
        if o { throw ArithmeticError(.overflow, "\(self) - \(other) overflows Money") }
        return Money(units: r, currency: currency)
    }

    public func negated() throws(ArithmeticError) -> Money {
        if units == .min { throw ArithmeticError(.overflow, "-(\(self)) overflows Money") }
        return Money(units: -units, currency: currency)
    }

    private func sameCurrency(_ other: Money, _ op: String) throws(ArithmeticError) {
        if currency != other.currency {
            throw ArithmeticError(.currencyMismatch, "\(self) \(op) \(other): different currencies")
        }
    }

    /// `price × quantity × multiplier`, rounded once to 10⁻⁸ by `rule`.
    ///
    /// Exact in a 128-bit intermediate, so for prices of ≤ 4 decimals and quantities of ≤ 4 decimals
    /// with an integer multiplier no rounding happens at all. Throws on overflow of the result.
    public static func notional(
        price: Price, quantity: Quantity, multiplier: Ratio = .one, currency: Currency,
        rounding rule: RoundingRule = .halfEven
    ) throws(ArithmeticError) -> Money {
        let product = Int128(price.units) * Int128(quantity.units)
        let (scaled, o) = product.multipliedReportingOverflow(by: Int128(multiplier.numerator))
        let divisor = Int128(DecimalText.powersOfTen[Price.scale + Quantity.scale - Money.scale]) * Int128(multiplier.denominator)
        guard !o, let units = Int64(exactly: rule.divide(scaled, by: divisor)) else {
            throw ArithmeticError(.overflow, "notional \(price) × \(quantity) × \(multiplier) overflows Money")
        }
        return Money(units: units, currency: currency)
    }

    /// `self × numerator / denominator` rounded by `rule`; `denominator` must be positive.
    public func scaled(by numerator: Int64, over denominator: Int64, _ rule: RoundingRule = .halfEven) throws(ArithmeticError) -> Money {
        guard denominator > 0 else {
            throw ArithmeticError(.invalidDivisor, "cannot scale \(self) by \(numerator)/\(denominator): denominator must be positive")
        }
        let q = rule.divide(Int128(units) * Int128(numerator), by: Int128(denominator))
        guard let r = Int64(exactly: q) else {
            throw ArithmeticError(.overflow, "\(self) × \(numerator)/\(denominator) overflows Money")
        }
        return Money(units: r, currency: currency)
    }
}
