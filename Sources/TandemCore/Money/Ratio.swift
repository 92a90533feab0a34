/// A positive rational `numerator / denominator`: contract multipliers (`50/1`, `1/10`) and split
/// ratios (`2/1` means each old share becomes two).
public struct Ratio: Sendable, Hashable, CustomStringConvertible {
    public let numerator: Int64
    public let denominator: Int64

    public static let one = Ratio(uncheckedNumerator: 1, denominator: 1)

    /// Both terms must be positive; the fraction is kept as given (not reduced) so it round-trips.
    public init(_ numerator: Int64, _ denominator: Int64 = 1) throws(ArithmeticError) {
        guard numerator > 0, denominator > 0 else {
            throw ArithmeticError(.invalidDivisor, "ratio \(numerator)/\(denominator) must have positive terms")
        }
        self.numerator = numerator
        self.denominator = denominator
    }

    init(uncheckedNumerator: Int64, denominator: Int64) {
        self.numerator = uncheckedNumerator
        self.denominator = denominator
    }

    public var description: String { denominator == 1 ? "\(numerator)" : "\(numerator)/\(denominator)" }
}
