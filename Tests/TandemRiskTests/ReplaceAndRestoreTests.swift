import Testing
import TandemCore
@testable import TandemRisk

/// Replaces go through the same rules as new orders (on the order they would become); a replace
/// that reduces is never refused for notional or rate. A restored mode holds, and a global halt in
/// the fold refuses opening orders whatever the engine's own mode.
@Suite struct ReplaceAndRestoreTests {
    func replacement(_ q: String, _ type: OrderType? = nil, id: String = "R") -> ReplaceRequest {
        ReplaceRequest(newClOrdID: ClOrdID(id), quantity: qty(q), type: type)
    }

    @Test func aReplaceMeetsQuantityNotionalCollarAndPosition() throws {
        var b = try Book()
        let id = try b.open(.buy, "10", at: "100")
        let o = try #require(b.state.order(id))
        var e = RiskEngine(limits: testLimits())
        func check(_ r: ReplaceRequest) -> RiskDecision { e.checkReplace(o, with: r, state: b.state, marks: mark100, now: t(10)).0 }
        #expect(check(replacement("20")) == .accepted)
        #expect(check(replacement("20", limit("101"))) == .accepted)
        #expect(rule(check(replacement("101"))) == "max_order_quantity")
        #expect(rule(check(replacement("99", limit("105")))) == "max_order_notional")   // 99 × 105 > 10 000
        #expect(rule(check(replacement("10", limit("106")))) == "price_collar")         // bound 105
        #expect(rule(check(replacement("10", limit("100.0005")))) == "tick_size")
        #expect(rule(check(replacement("10.5"))) == "lot_size")
        // Position: a long 150 with this order's old 10 leaves replaced by 60 would reach 210 > 200.
        try b.fill(.buy, "150", at: "100")
        let (d, _) = e.checkReplace(o, with: replacement("60"), state: b.state, marks: mark100, now: t(10))
        #expect(rule(d) == "max_position")
        #expect(reason(d).contains("would reach 210"))
        // 50 reaches exactly 200: the order's own old leaves are not counted twice.
        #expect(e.checkReplace(o, with: replacement("50"), state: b.state, marks: mark100, now: t(10)).0 == .accepted)
    }

    @Test func aReplaceBelowTheFilledQuantityIsInvalid() throws {
        var b = try Book()
        let id = try b.open(.buy, "10", at: "100")
        try b.fillOpen(id, "4", at: "100")
        let o = try #require(b.state.order(id))
        var e = RiskEngine(limits: testLimits())
        let d = e.checkReplace(o, with: replacement("4"), state: b.state, marks: mark100, now: t(10)).0
        #expect(rule(d) == "invalid_quantity" && reason(d).contains("must exceed its filled 4"))
    }

    @Test(arguments: [TradingMode.active, .reducing, .halted])
    func aReplaceThatReducesIsNeverRefusedForNotionalOrRate(mode: TradingMode) throws {
        var b = try Book()
        try b.fill(.buy, "100", at: "100")
        let exit = try b.open(.sell, "30", at: "100")       // a reducing order resting
        let opening = try b.open(.buy, "50", at: "99")      // an opening order resting
        var limits = testLimits()
        limits.maxOrderQuantity = qty("1")
        limits.maxOrderNotional = amt("1")
        limits.maxPosition = qty("1")
        limits.maxMessagesPerWindow = 1
        limits.maxOrdersPerWindow = 1
        var e = RiskEngine(limits: limits, mode: mode)
        for i in 0..<5 { _ = e.handle(.messageSent(at: t(Int64(i)))) }
        let exitOrder = try #require(b.state.order(exit)), openingOrder = try #require(b.state.order(opening))
        // Grow the exit to the whole position at a new (collared) price: still reducing.
        #expect(e.checkReplace(exitOrder, with: replacement("100", limit("99.5")), state: b.state, marks: mark100, now: t(10)).0 == .accepted)
        // Shrink the opening order, same price: less risk, passes in every mode and even with no mark.
        #expect(e.checkReplace(openingOrder, with: replacement("20"), state: b.state, marks: [:], now: t(10)).0 == .accepted)
        // Beyond the position it is no longer reducing.
        let flip = e.checkReplace(exitOrder, with: replacement("101"), state: b.state, marks: mark100, now: t(10)).0
        #expect(rule(flip) == (mode == .active ? "max_order_quantity" : mode == .halted ? "halted" : "reducing_only"))
        // Moving the opening order's price is not a reduction.
        let moved = e.checkReplace(openingOrder, with: replacement("20", limit("99.5")), state: b.state, marks: mark100, now: t(10)).0
        #expect(rule(moved) != nil)
    }

    @Test func replacesDoNotCountTowardTheOrderRate() throws {
        var b = try Book()
        let id = try b.open(.buy, "10", at: "100")
        let o = try #require(b.state.order(id))
        var limits = testLimits()
        limits.maxOrdersPerWindow = 1
        var e = RiskEngine(limits: limits)
        for i in 0..<3 { #expect(e.checkReplace(o, with: replacement("\(20 + i)"), state: b.state, marks: mark100, now: t(10)).0 == .accepted) }
        #expect(e.check(order(.buy, "1"), state: b.state, marks: mark100, now: t(10)).0 == .accepted)
        #expect(rule(e.check(order(.buy, "1", id: "N2"), state: b.state, marks: mark100, now: t(11)).0) == "order_rate")
    }

    @Test func aRestoredModeHoldsAndSaysNothing() throws {
        var b = try Book()
        try b.fill(.buy, "10", at: "100")
        var e = RiskEngine(limits: testLimits())
        e.restore(mode: .halted)
        #expect(e.mode == .halted)
        #expect(e.evaluate(state: b.state, marks: mark100, now: t(10)).isEmpty)
        #expect(rule(e.check(order(.buy, "1"), state: b.state, marks: mark100, now: t(10)).0) == "halted")
        #expect(e.check(order(.sell, "10"), state: b.state, marks: mark100, now: t(10)).0 == .accepted)
        #expect(e.resume(at: t(20), by: "alice") == [.modeChanged(from: .halted, to: .active, rule: "operator_resume", reason: "resumed by alice", at: t(20))])
    }

    @Test func aGlobalHaltInTheFoldRefusesOpeningOrdersAndLetsTheWayOut() throws {
        var b = try Book()
        try b.fill(.buy, "10", at: "100")
        try b.state.apply(.riskCommand(RiskCommand(action: .halt, scope: .global, issuedBy: "watchdog", signature: [], at: t(1))))
        var e = RiskEngine(limits: testLimits(), mode: .active)
        #expect(e.effectiveMode(state: b.state) == .halted)
        let d = e.check(order(.buy, "1"), state: b.state, marks: mark100, now: t(10)).0
        #expect(rule(d) == "halted" && reason(d).contains("by a global halt command"))
        #expect(e.check(order(.sell, "10"), state: b.state, marks: mark100, now: t(10)).0 == .accepted)
        try b.state.apply(.riskCommand(RiskCommand(action: .resume, scope: .global, issuedBy: "ops", signature: [], at: t(2))))
        #expect(e.effectiveMode(state: b.state) == .active)
        #expect(e.check(order(.buy, "1", id: "N2"), state: b.state, marks: mark100, now: t(10)).0 == .accepted)
    }

    @Test func aDayRollStartsTheDailyLossOver() throws {
        var b = try Book()
        try b.fill(.buy, "100", at: "100")
        var e = RiskEngine(limits: testLimits())
        #expect(e.evaluate(state: b.state, marks: mark100, now: t(0)).isEmpty)
        // Down 9 a share (900 < 1000 limit, beyond the 800 drawdown: REDUCING only).
        let down = e.evaluate(state: b.state, marks: [abc.id: px("91")], now: t(10))
        #expect(down.contains { if case .modeChanged(_, .reducing, "max_drawdown", _, _) = $0 { true } else { false } })
        // New day: measured from here, a further 2 a share (200) is no daily loss breach.
        _ = e.handle(.dayRolled(startOfDayPnL: nil, at: t(20)))
        #expect(e.evaluate(state: b.state, marks: [abc.id: px("91")], now: t(20)).isEmpty)
        #expect(e.evaluate(state: b.state, marks: [abc.id: px("89")], now: t(30)).isEmpty)
        // Without the roll the same marks would have halted (−1 100 from the first day's start).
        var f = RiskEngine(limits: testLimits())
        _ = f.evaluate(state: b.state, marks: mark100, now: t(0))
        #expect(f.evaluate(state: b.state, marks: [abc.id: px("89")], now: t(30)).contains {
            if case .modeChanged(_, .halted, "max_daily_loss", _, _) = $0 { true } else { false }
        })
    }
}
