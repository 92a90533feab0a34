import Testing
import TandemCore
@testable import TandemRisk

/// A control that blocks the way out is a defect: reducing orders pass in every state, whatever the
/// notional, quantity, exposure, open-order, rate and loss rules say; nothing else passes in
/// REDUCING or HALTED.
@Suite struct WayOutTests {
    /// Limits every opening order would break: tiny notional, quantity, exposure, no rate left.
    func strangled() -> RiskLimits {
        var l = testLimits()
        l.maxOrderQuantity = qty("1")
        l.maxOrderNotional = amt("1")
        l.maxPosition = qty("1")
        l.maxGrossExposure = amt("1")
        l.maxNetExposure = amt("1")
        l.maxOpenOrders = 1
        l.maxOrdersPerWindow = 1
        l.maxMessagesPerWindow = 1
        return l
    }

    /// An engine in `mode` whose rate windows are already full.
    func engine(_ mode: TradingMode) -> RiskEngine {
        var e = RiskEngine(limits: strangled(), mode: mode)
        for i in 0..<5 { _ = e.handle(.messageSent(at: t(Int64(i)))) }
        return e
    }

    func longBook() throws -> Book {
        var b = try Book()
        try b.fill(.buy, "100", at: "100")
        try b.open(.buy, "5", at: "90")   // more open orders than allowed
        return b
    }

    @Test(arguments: [TradingMode.active, .reducing, .halted])
    func reducingOrderIsNeverBlockedByNotionalRateOrBalance(mode: TradingMode) throws {
        let b = try longBook()
        var e = engine(mode)
        // Sell 100 of a long 100 at market: over quantity, notional, open orders, rates.
        for i in 0..<3 {
            let (d, _) = e.check(order(.sell, i == 0 ? "100" : "30"), state: b.state, marks: mark100, now: t(10))
            #expect(d == .accepted, "\(mode) #\(i): \(d)")
        }
        // Without any mark (stale or lost data) the market flatten still goes.
        #expect(e.check(order(.sell, "100"), state: b.state, marks: [:], now: t(10)).0 == .accepted)
        // A limit reducing order within the collar passes too.
        #expect(e.check(order(.sell, "40", limit("99")), state: b.state, marks: mark100, now: t(10)).0 == .accepted)
    }

    @Test func inHaltedAReducingOrderPassesAndAFlipIsRefused() throws {
        let b = try longBook()
        var e = engine(.halted)
        #expect(e.check(order(.sell, "100"), state: b.state, marks: mark100, now: t(10)).0 == .accepted)
        let flip = e.check(order(.sell, "101"), state: b.state, marks: mark100, now: t(10)).0
        #expect(rule(flip) == "halted")
        #expect(reason(flip).contains("largest reducing sell 100"))
        #expect(rule(e.check(order(.buy, "1"), state: b.state, marks: mark100, now: t(10)).0) == "halted")
    }

    @Test func inReducingAFlipOrAnIncreaseIsRefused() throws {
        let b = try longBook()
        var e = engine(.reducing)
        #expect(e.check(order(.sell, "100"), state: b.state, marks: mark100, now: t(10)).0 == .accepted)
        #expect(rule(e.check(order(.sell, "101"), state: b.state, marks: mark100, now: t(10)).0) == "reducing_only")
        #expect(rule(e.check(order(.buy, "1"), state: b.state, marks: mark100, now: t(10)).0) == "reducing_only")
        // Flat: nothing reduces.
        let flat = try Book()
        #expect(rule(e.check(order(.sell, "1"), state: flat.state, marks: mark100, now: t(10)).0) == "reducing_only")
    }

    @Test func openOrdersOnTheReducingSideCountTowardCrossingZero() throws {
        var b = try longBook()
        try b.open(.sell, "60", at: "101")
        var e = engine(.halted)
        #expect(e.check(order(.sell, "40"), state: b.state, marks: mark100, now: t(10)).0 == .accepted)   // 60 + 40 = 100
        #expect(rule(e.check(order(.sell, "41"), state: b.state, marks: mark100, now: t(10)).0) == "halted")
    }

    @Test func largestReducingQuantityIsWhatAFlipCanBeCutTo() throws {
        var b = try longBook()
        try b.open(.sell, "60", at: "101")
        #expect(RiskEngine.largestReducingQuantity(account: acct, instrument: abc.id, side: .sell, state: b.state) == qty("40"))
        #expect(RiskEngine.largestReducingQuantity(account: acct, instrument: abc.id, side: .buy, state: b.state) == .zero)
        #expect(RiskEngine.largestReducingQuantity(account: acct, instrument: xyz.id, side: .sell, state: b.state) == .zero)
        var e = engine(.halted)
        #expect(e.check(order(.sell, "40"), state: b.state, marks: mark100, now: t(10)).0 == .accepted)
    }

    @Test func restrictionsAreRestoredWithTheEngine() throws {
        let b = try longBook()
        let key = PositionKey(account: acct, instrument: abc.id)
        var e = RiskEngine(limits: testLimits(), restrictedPositions: [key: "restored"])
        #expect(rule(e.check(order(.buy, "1", limit("100")), state: b.state, marks: mark100, now: t(0)).0) == "position_reducing_only")
        #expect(e.check(order(.sell, "1"), state: b.state, marks: mark100, now: t(0)).0 == .accepted)
    }

    @Test func shortPositionsReduceWithBuys() throws {
        var b = try Book()
        try b.fill(.sellShort, "50", at: "100")
        var e = engine(.halted)
        #expect(e.check(order(.buy, "50"), state: b.state, marks: mark100, now: t(10)).0 == .accepted)
        #expect(rule(e.check(order(.buy, "51"), state: b.state, marks: mark100, now: t(10)).0) == "halted")
        #expect(rule(e.check(order(.sell, "1"), state: b.state, marks: mark100, now: t(10)).0) == "halted")
    }

    @Test func theCollarStillGuardsAReducingLimitOrder() throws {
        let b = try longBook()
        var e = engine(.halted)
        #expect(rule(e.check(order(.sell, "10", limit("94.99")), state: b.state, marks: mark100, now: t(10)).0) == "price_collar")
        #expect(e.check(order(.sell, "10", limit("95")), state: b.state, marks: mark100, now: t(10)).0 == .accepted)
    }

    @Test func aPositionOverItsLimitCanStillBeReducedInSmallSteps() throws {
        var b = try Book()
        try b.fill(.buy, "150", at: "100")
        var l = testLimits()
        l.maxPosition = qty("100")   // lowered below the position
        var e = RiskEngine(limits: l)
        #expect(e.check(order(.sell, "20"), state: b.state, marks: mark100, now: t(0)).0 == .accepted)
        #expect(rule(e.check(order(.buy, "1", limit("100")), state: b.state, marks: mark100, now: t(0)).0) == "max_position")
    }
}
