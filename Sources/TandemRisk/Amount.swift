import TandemCore

/// A money amount without a currency, at ``Money``'s scale (10⁻⁸): a limit compared with the
/// totals of each currency separately (the risk engine does no FX conversion).
public struct Amount: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var units: Int64
    @inlinable public init(units: Int64) { self.units = units }

    /// A whole amount (`Amount(whole: 1_000)` is 1 000.00000000), for the defaults' constants only
    /// (internal: it would trap out of range).
    init(whole: Int64) { self.units = whole * 100_000_000 }

    /// Parses decimal text exactly, like `Money`.
    public init(_ text: String) throws(ArithmeticError) {
        self.units = try Money(text, .usd).units
    }

    /// This amount in `currency`.
    public func money(_ currency: Currency) -> Money { Money(units: units, currency: currency) }

    public var description: String { Money(units: units, currency: .usd).amountText }
    public static func < (lhs: Amount, rhs: Amount) -> Bool { lhs.units < rhs.units }
}
