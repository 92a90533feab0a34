import Testing
import TandemCore
@testable import TandemRisk

@Suite struct SizingTests {
    let lot10 = Instrument(id: InstrumentID(1), symbol: "ABC", venue: "SIM", tickSize: Price(units: 1_000_000),
                           lotSize: Quantity(units: 10 * 100_000_000), currency: .usd)

    func loose() -> RiskLimits {
        var l = RiskLimits()
        l.maxPosition = qty("1000000")
        l.maxOrderQuantity = qty("1000000")
        l.maxOrderNotional = amt("1000000000")
        return l
    }

    func size(_ sigma: Double?, limits: RiskLimits? = nil, equity: String = "1000000", price: String = "100", instrument: Instrument? = nil) -> Quantity {
        PositionSizer.targetQuantity(equity: try! Money(equity, .usd), price: px(price), volatility: sigma,
                                     instrument: instrument ?? lot10, targetRiskBasisPoints: 100, limits: limits ?? loose())
    }

    @Test func sizesFromTheVolatilityTargetRoundedDownToTheLot() {
        // 1 % of 1 000 000 = 10 000 of risk; σ 2 % of 100 = 2 a unit → 5 000.
        #expect(size(0.02) == qty("5000"))
        // σ 3 %: 3 333.33 → 3 330 (lot 10), never up.
        #expect(size(0.03) == qty("3330"))
        // σ 7 %: 1 428.57 → 1 420.
        #expect(size(0.07) == qty("1420"))
    }

    @Test func cappedByTheLimits() {
        var l = loose()
        l.maxPosition = qty("1005")                 // 1 005 → 1 000 (lot 10)
        #expect(size(0.02, limits: l) == qty("1000"))
        l = loose()
        l.maxOrderQuantity = qty("700")
        #expect(size(0.02, limits: l) == qty("700"))
        l = loose()
        l.maxOrderNotional = amt("50055")           // 500.55 units at 100 → 500
        #expect(size(0.02, limits: l) == qty("500"))
        l = loose()
        l.instruments = [InstrumentLimits(instrument: lot10.id, maxPosition: qty("30"))]
        #expect(size(0.02, limits: l) == qty("30"))
    }

    @Test func zeroWhenTheVolatilityIsUnknown() {
        #expect(size(nil) == .zero)
        #expect(size(0) == .zero)
        #expect(size(.nan) == .zero)
        #expect(size(0.02, equity: "0") == .zero)
        // Less than one lot of risk.
        #expect(size(100) == .zero)
        // Equity in another currency than the instrument.
        #expect(PositionSizer.targetQuantity(equity: try! Money("1000000", .eur), price: px("100"), volatility: 0.02,
                                             instrument: lot10, targetRiskBasisPoints: 100, limits: loose()) == .zero)
    }

    @Test func ewmaVolatilityIsUnknownUntilEnoughReturns() {
        var v = EWMAVolatility(lambda: 0.94, minimumReturns: 3)
        v.update(price: px("100"))
        v.update(price: px("101"))
        v.update(price: px("100"))
        #expect(v.volatility == nil)
        #expect(size(v.volatility) == .zero)
        v.update(price: px("101"))
        guard let sigma = v.volatility else { Issue.record("no volatility"); return }
        #expect(sigma > 0.009 && sigma < 0.011)
        let q = size(sigma)
        #expect(q.units % lot10.lotSize.units == 0 && q.units > 0)
        // A flat series has no volatility to size on.
        var flat = EWMAVolatility(minimumReturns: 2)
        for _ in 0..<5 { flat.update(price: px("50")) }
        #expect(flat.volatility == 0 && size(flat.volatility) == .zero)
    }

    @Test func contractMultiplierScalesTheSize() throws {
        let es = Instrument(id: InstrumentID(1), symbol: "ES", venue: "CME", tickSize: px("0.25"), lotSize: qty("1"),
                            multiplier: try Ratio(50), currency: .usd)
        // 10 000 / (0.02 × 4 000 × 50) = 2.5 → 2 contracts.
        #expect(size(0.02, price: "4000", instrument: es) == qty("2"))
    }
}
