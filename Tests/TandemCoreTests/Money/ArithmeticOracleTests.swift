import BigInt
import PropertyBased
import Testing
import TandemCore

/// Checked arithmetic against an arbitrary-precision oracle: every result is either exactly the
/// oracle's value or an overflow error when the oracle's value does not fit.
@Suite struct ArithmeticOracleTests {
    static func oracleDivide(_ n: BigInt, _ d: BigInt, _ rule: RoundingRule) -> BigInt {
        let (q, r) = n.quotientAndRemainder(dividingBy: d)
        if r == 0 { return q }
        let floor = r < 0 ? q - 1 : q
        let ceil = r > 0 ? q + 1 : q
        let away = n < 0 ? floor : ceil
        let twice = 2 * r.magnitude
        switch rule {
        case .down: return floor
        case .up: return ceil
        case .towardZero: return q
        case .awayFromZero: return away
        case .halfEven:
            if twice != BigUInt(d) { return twice < BigUInt(d) ? q : away }
            return floor % 2 == 0 ? floor : ceil
        case .halfAwayFromZero: return twice < BigUInt(d) ? q : away
        case .halfTowardZero: return twice > BigUInt(d) ? away : q
        }
    }

    /// Values biased toward the edges where overflow and rounding live.
    static let edgy = Gen.int64().map { v -> Int64 in
        switch v & 3 {
        case 0: v
        case 1: v >> 33
        case 2: (v >> 60) &+ (v > 0 ? Int64.max - 8 : Int64.min + 8) & ~0xF
        default: v % 1_000_000_000
        }
    }

    @Test func additionAndSubtractionMatchTheOracle() async {
        await propertyCheck(count: 3000, input: Self.edgy, Self.edgy) { a, b in
            let x = Quantity(units: a), y = Quantity(units: b)
            let sum = BigInt(a) + BigInt(b), diff = BigInt(a) - BigInt(b)
            if let exact = Int64(exactly: sum) { #expect((try? x.adding(y))?.units == exact) } else {
                #expect(throws: ArithmeticError.self) { try x.adding(y) }
            }
            if let exact = Int64(exactly: diff) { #expect((try? x.subtracting(y))?.units == exact) } else {
                #expect(throws: ArithmeticError.self) { try x.subtracting(y) }
            }
            if let exact = Int64(exactly: -BigInt(a)) { #expect((try? x.negated())?.units == exact) } else {
                #expect(throws: ArithmeticError.self) { try x.negated() }
            }
        }
    }

    @Test func notionalMatchesTheOracle() async {
        let rules = Gen<RoundingRule>.case
        await propertyCheck(count: 3000, input: Self.edgy, Self.edgy, Gen.int64(in: 1...1_000_000), Gen.int64(in: 1...1_000), rules) { p, q, num, den, rule in
            guard let ratio = try? Ratio(num, den) else { Issue.record("ratio"); return }
            let expected = Self.oracleDivide(BigInt(p) * BigInt(q) * BigInt(num), BigInt(100_000_000) * BigInt(den), rule)
            let result = try? Money.notional(price: Price(units: p), quantity: Quantity(units: q), multiplier: ratio, currency: .usd, rounding: rule)
            #expect(result?.units == Int64(exactly: expected), "\(p) × \(q) × \(num)/\(den) \(rule)")
        }
    }

    @Test func roundingToIncrementsMatchesTheOracle() async {
        await propertyCheck(count: 3000, input: Self.edgy, Gen.int64(in: 1...10_000_000_000), Gen<RoundingRule>.case) { v, step, rule in
            let expected = Self.oracleDivide(BigInt(v), BigInt(step), rule) * BigInt(step)
            let result = try? Price(units: v).rounded(toMultipleOf: Price(units: step), rule)
            #expect(result?.units == Int64(exactly: expected), "\(v) to \(step) \(rule)")
        }
    }

    @Test(arguments: RoundingRule.allCases)
    func roundingRuleExamples(rule: RoundingRule) throws {
        // Tick 0.05: 1.025 is a tie, 1.03 is above the midpoint, -1.025 a negative tie.
        let tick = try Price("0.05")
        let expected: [RoundingRule: (String, String, String)] = [
            .down: ("1", "1", "-1.05"), .up: ("1.05", "1.05", "-1"), .towardZero: ("1", "1", "-1"),
            .awayFromZero: ("1.05", "1.05", "-1.05"), .halfEven: ("1", "1.05", "-1"),
            .halfAwayFromZero: ("1.05", "1.05", "-1.05"), .halfTowardZero: ("1", "1.05", "-1"),
        ]
        let e = try #require(expected[rule])
        #expect(try Price("1.025").rounded(toMultipleOf: tick, rule).description == e.0)
        #expect(try Price("1.03").rounded(toMultipleOf: tick, rule).description == e.1)
        #expect(try Price("-1.025").rounded(toMultipleOf: tick, rule).description == e.2)
    }

    @Test func invalidIncrementsAndCurrenciesThrow() throws {
        #expect(throws: ArithmeticError.self) { try Price("1").rounded(toMultipleOf: .zero, .halfEven) }
        #expect(throws: ArithmeticError.self) { try Ratio(0, 1) }
        #expect(throws: ArithmeticError.self) { try Money("1", .usd).adding(Money("1", .eur)) }
        #expect(Currency(code: "usd") == nil)
        #expect(Currency(code: "USDT")?.code == "USDT")
        #expect(Currency(rawValue: Currency.jpy.rawValue) == .jpy)
        #expect(Currency(rawValue: 0x0055_5344_0000_0000) == nil)
    }
}
