/// A signed decimal stored exactly as a count of 10⁻ˢᶜᵃˡᵉ units in an `Int64`.
///
/// Overflow policy: the operators `+`, `-` and unary `-` trap on overflow, exactly like `Int`; use
/// them only on values already known to be in range. Everything derived from outside input goes
/// through the checked methods (`adding`, `subtracting`, `negated`, `rounded(toMultipleOf:_:)`,
/// `init(_ text:)`), which throw ``ArithmeticError`` instead.
public protocol FixedPoint: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// Decimal places; the value is `units × 10⁻ˢᶜᵃˡᵉ`.
    static var scale: Int { get }
    static var typeName: StaticString { get }
    var units: Int64 { get }
    init(units: Int64)
}

extension FixedPoint {
    public static var zero: Self { Self(units: 0) }
    public static var max: Self { Self(units: .max) }
    public static var min: Self { Self(units: .min) }

    /// Exactly parses decimal text such as `"101.25"` or `"-0.0001"`; throws rather than round.
    public init(_ text: String) throws(ArithmeticError) {
        self.init(units: try DecimalText.parse(text, scale: Self.scale, type: Self.typeName))
    }

    /// Exactly parses ASCII decimal text from bytes (a FIX field, a CSV cell) without building a String;
    /// same grammar and errors as `init(_:)`.
    @inlinable
    public init(decimalText bytes: Span<UInt8>) throws(ArithmeticError) {
        self.init(units: try DecimalText.parse(bytes, scale: Self.scale, type: Self.typeName))
    }

    /// Appends the canonical decimal text (`description`) as ASCII bytes, without building a String.
    @inlinable
    public func appendDecimalText(to out: inout [UInt8]) {
        DecimalText.append(units, scale: Self.scale, to: &out)
    }

    /// The longest canonical decimal text of any fixed-point value: `-`, 19 digits and `.`.
    public static var maxDecimalTextLength: Int { 21 }

    /// Writes the canonical decimal text into `out`, which must have ``maxDecimalTextLength`` bytes
    /// free (it traps otherwise, like any `OutputSpan` overflow). For writers that reserve a whole
    /// field at once.
    @inlinable
    public func appendDecimalText(to out: inout OutputSpan<UInt8>) {
        DecimalText.write(units, scale: Self.scale, to: &out)
    }

    /// The whole number `value`, checked.
    public init(whole value: Int64) throws(ArithmeticError) {
        let (units, overflow) = value.multipliedReportingOverflow(by: DecimalText.powersOfTen[Self.scale])
        if overflow { throw ArithmeticError(.overflow, "\(Self.typeName) \(value) is outside the 64-bit range at scale \(Self.scale)") }
        self.init(units: units)
    }

    /// Canonical decimal text: `"101.25"`, `"-0.0001"`, `"3"`. Round-trips through `init(_:)`.
    public var description: String { DecimalText.format(units, scale: Self.scale) }

    public var isZero: Bool { units == 0 }
    public var signum: Int64 { units.signum() }

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.units < rhs.units }

    /// Traps on overflow, like `Int`.
    public static func + (lhs: Self, rhs: Self) -> Self { Self(units: lhs.units + rhs.units) }
    /// Traps on overflow, like `Int`.
    public static func - (lhs: Self, rhs: Self) -> Self { Self(units: lhs.units - rhs.units) }
    /// Traps on `min`, like `Int`.
    public static prefix func - (value: Self) -> Self { Self(units: -value.units) }

    public func adding(_ other: Self) throws(ArithmeticError) -> Self {
        let (r, o) = units.addingReportingOverflow(other.units)
        if o { throw ArithmeticError(.overflow, "\(self) + \(other) overflows \(Self.typeName)") }
        return Self(units: r)
    }

    public func subtracting(_ other: Self) throws(ArithmeticError) -> Self {
        let (r, o) = units.subtractingReportingOverflow(other.units)
        if o { throw ArithmeticError(.overflow, "\(self) - \(other) overflows \(Self.typeName)") }
        return Self(units: r)
    }

    public func negated() throws(ArithmeticError) -> Self {
        if units == .min { throw ArithmeticError(.overflow, "-(\(self)) overflows \(Self.typeName)") }
        return Self(units: -units)
    }

    /// `self × factor`, checked.
    public func multiplied(by factor: Int64) throws(ArithmeticError) -> Self {
        let (r, o) = units.multipliedReportingOverflow(by: factor)
        if o { throw ArithmeticError(.overflow, "\(self) × \(factor) overflows \(Self.typeName)") }
        return Self(units: r)
    }

    /// The nearest multiple of `increment` (a tick or lot size) under `rule`.
    public func rounded(toMultipleOf increment: Self, _ rule: RoundingRule) throws(ArithmeticError) -> Self {
        guard increment.units > 0 else {
            throw ArithmeticError(.invalidDivisor, "cannot round \(self) to a multiple of \(increment): the increment must be positive")
        }
        let steps = rule.divide(Int128(units), by: Int128(increment.units))
        guard let r = Int64(exactly: steps * Int128(increment.units)) else {
            throw ArithmeticError(.overflow, "rounding \(self) \(rule) to a multiple of \(increment) overflows \(Self.typeName)")
        }
        return Self(units: r)
    }

    /// Whether `self` is an exact multiple of `increment` (false for a non-positive increment).
    public func isMultiple(of increment: Self) -> Bool {
        increment.units > 0 && units % increment.units == 0
    }
}

/// A price per unit of an instrument, at 8 decimal places (range ±92,233,720,368.54775807).
/// Prices may be negative (spreads, some futures).
public struct Price: FixedPoint {
    @inlinable public static var scale: Int { 8 }
    @inlinable public static var typeName: StaticString { "Price" }
    public var units: Int64
    @inlinable public init(units: Int64) { self.units = units }
}

/// A quantity of an instrument (shares, contracts, coins), at 8 decimal places.
/// Order and fill quantities are positive; position quantities are signed (negative is short).
public struct Quantity: FixedPoint {
    @inlinable public static var scale: Int { 8 }
    @inlinable public static var typeName: StaticString { "Quantity" }
    public var units: Int64
    @inlinable public init(units: Int64) { self.units = units }
}
