/// How an inexact quotient is rounded to an integer count of units (ticks, lots, or 10⁻⁸ steps).
public enum RoundingRule: UInt8, Sendable, Hashable, CaseIterable {
    /// Toward negative infinity (floor).
    case down = 0
    /// Toward positive infinity (ceiling).
    case up = 1
    /// Truncate: toward zero.
    case towardZero = 2
    /// Away from zero.
    case awayFromZero = 3
    /// To nearest; ties to the even neighbour (banker's rounding). The default for money.
    case halfEven = 4
    /// To nearest; ties away from zero (school rounding).
    case halfAwayFromZero = 5
    /// To nearest; ties toward zero.
    case halfTowardZero = 6
}

extension RoundingRule {
    /// `numerator / denominator` rounded by this rule. `denominator` must be positive. Public so
    /// other modules (the venue's fees) use this one rule set rather than a copy.
    @inlinable
    public func divide(_ numerator: Int128, by denominator: Int128) -> Int128 {
        let q = numerator / denominator
        let r = numerator % denominator
        if r == 0 { return q }
        let away: Int128 = numerator < 0 ? q - 1 : q + 1
        let absR = r.magnitude
        let rest = denominator.magnitude - absR
        switch self {
        case .towardZero: return q
        case .awayFromZero: return away
        case .down: return numerator < 0 ? q - 1 : q
        case .up: return numerator > 0 ? q + 1 : q
        case .halfEven:
            if absR > rest { return away }
            if absR < rest { return q }
            return q & 1 == 0 ? q : away
        case .halfAwayFromZero: return absR >= rest ? away : q
        case .halfTowardZero: return absR > rest ? away : q
        }
    }
}
