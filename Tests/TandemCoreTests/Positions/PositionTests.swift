import PropertyBased
import Testing
import TandemCore

@Suite struct PositionTests {
    typealias F = Fixtures

    static func trade(_ p: inout Position, _ direction: Int64, _ q: String, _ price: String, fee: String = "0") throws {
        try p.trade(direction: direction, quantity: Quantity(q), price: Price(price), fee: Money(fee, p.currency))
    }

    @Test func reduceRealizesAgainstAverageCost() throws {
        var p = Position(currency: .usd, multiplier: .one)
        try Self.trade(&p, 1, "10", "100", fee: "1")
        try Self.trade(&p, 1, "10", "102", fee: "1")
        #expect(p.averagePrice == F.px("101"))
        try Self.trade(&p, -1, "5", "111", fee: "0.5")
        #expect(p.netQuantity == F.qty("15"))
        #expect(p.realizedPnL == F.usd("50"))
        #expect(p.costBasis == F.usd("1515"))
        #expect(p.fees == F.usd("2.5"))
        #expect(try p.unrealizedPnL(mark: F.px("100")) == F.usd("-15"))
    }

    @Test func flipsThroughZeroInOneFill() throws {
        var p = Position(currency: .usd, multiplier: .one)
        try Self.trade(&p, 1, "10", "100")
        try Self.trade(&p, -1, "15", "90")
        #expect(p.realizedPnL == F.usd("-100"))
        #expect(p.netQuantity == F.qty("-5"))
        #expect(p.costBasis == F.usd("-450"))
        #expect(p.averagePrice == F.px("90"))
        try Self.trade(&p, 1, "5", "80")
        #expect(p.isFlat && p.costBasis.isZero)
        #expect(p.realizedPnL == F.usd("-50"))
        #expect(p.averagePrice == nil)
    }

    @Test func contractMultiplierScalesPnL() throws {
        var p = Position(currency: .usd, multiplier: try Ratio(50))
        try Self.trade(&p, 1, "2", "4000.25")
        #expect(p.averagePrice == F.px("4000.25"))
        try Self.trade(&p, -1, "2", "4001.5")
        #expect(p.realizedPnL == F.usd("125"))
    }

    @Test func corporateActionsAdjustPositions() throws {
        var p = Position(currency: .usd, multiplier: .one)
        try Self.trade(&p, 1, "10", "100")
        try p.apply(.split(Ratio(2, 1)))
        #expect(p.netQuantity == F.qty("20") && p.costBasis == F.usd("1000") && p.averagePrice == F.px("50"))
        try p.apply(.cashDividend(perUnit: F.usd("0.25")))
        #expect(p.realizedPnL == F.usd("5"))
        try p.apply(.split(Ratio(1, 3)))
        #expect(p.netQuantity == F.qty("6.66666666"))
        #expect(throws: ArithmeticError.self) { try p.apply(.cashDividend(perUnit: Money("1", .eur))) }
        var short = Position(currency: .usd, multiplier: .one)
        try Self.trade(&short, -1, "4", "10")
        try short.apply(.cashDividend(perUnit: F.usd("0.5")))
        #expect(short.realizedPnL == F.usd("-2"))
        #expect(try CorporateAction.split(Ratio(4, 1)).adjustHistorical(price: F.px("100")) == F.px("25"))
    }

    @Test func refusedTradeLeavesThePositionUnchanged() throws {
        var p = Position(currency: .usd, multiplier: .one)
        try Self.trade(&p, 1, "10", "100")
        let before = p
        #expect(throws: ArithmeticError.self) { try p.trade(direction: -1, quantity: F.qty("1"), price: F.px("1"), fee: Money(units: 1, currency: .eur)) }
        #expect(throws: ArithmeticError.self) { try p.trade(direction: 1, quantity: Quantity(units: Int64.max), price: Price(units: Int64.max), fee: .zero(.usd)) }
        #expect(p == before)
    }

    /// Cost removal splits the basis exactly, so a round trip that ends flat realizes exactly the
    /// negated sum of all trade values — no cent is created or lost by rounding.
    @Test func roundTripConservesMoney() async {
        let trades = zip(Gen.int64(in: 1...500), Gen.int64(in: 1...2_000_000), Gen.bool).array(of: 1...30)
        await propertyCheck(count: 300, input: trades) { trades in
            var p = Position(currency: .usd, multiplier: .one)
            var cash: Int64 = 0
            for (lots, cents, buy) in trades {
                let q = Quantity(units: lots * 100_000_000), px = Price(units: cents * 1_000_000)
                let d: Int64 = buy ? 1 : -1
                guard (try? p.trade(direction: d, quantity: q, price: px, fee: .zero(.usd))) != nil else { Issue.record("trade"); return }
                cash -= d * lots * cents * 1_000_000
            }
            let net = p.netQuantity.units
            if net != 0 {
                let q = Quantity(units: abs(net)), px = Price(units: 12_345_000_000)
                guard (try? p.trade(direction: net > 0 ? -1 : 1, quantity: q, price: px, fee: .zero(.usd))) != nil else { Issue.record("close"); return }
                cash += net / 100_000_000 * 12_345_000_000
            }
            #expect(p.isFlat && p.costBasis.isZero)
            #expect(p.realizedPnL.units == cash)
        }
    }
}
