/// A failed exact-arithmetic or decimal-text operation on a fixed-point value.
///
/// Checked operations (`adding(_:)`, `Money.notional(…)`, parsing, rounding) throw this instead of
/// trapping, because their operands usually come from outside input (venues, operators, files).
public struct ArithmeticError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Code: UInt8, Sendable, Hashable {
        /// The exact result does not fit the 64-bit unit count.
        case overflow
        /// A divisor, tick size, lot size or ratio term was zero or negative.
        case invalidDivisor
        /// Decimal text is not of the form `-?[0-9]+(\.[0-9]+)?`.
        case invalidDecimal
        /// Decimal text has non-zero digits beyond the type's scale, so it is not exactly representable.
        case excessPrecision
        /// Two amounts in different currencies were combined.
        case currencyMismatch
    }

    public var code: Code
    /// What failed, on which operands, and why.
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "ArithmeticError.\(code): \(message)" }
}
