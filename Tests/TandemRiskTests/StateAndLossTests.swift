import Testing
import TandemCore
@testable import TandemRisk

@Suite struct StateAndLossTests {
    func modeChanges(_ out: [RiskOutput]) -> [(TradingMode, TradingMode, String, String)] {
        out.compactMap {
            if case .modeChanged(let f, let to, let rule, let reason, _) = $0 { return (f, to, rule, reason) }
            return nil
        }
    }

    func longBook() throws -> Book {
        var b = try Book()
        try b.fill(.buy, "100", at: "100")
        return b
    }

    func looseLosses() -> RiskLimits {
        var l = testLimits()
        l.perTradeLossLimit = amt("100000")
        l.maxDailyLoss = amt("100000")
        l.maxDrawdown = amt("100000")
        l.pnlSigmaLimit = 0
        return l
    }

    @Test func maxDailyLossHalts() throws {
        let b = try longBook()
        var l = looseLosses()
        l.maxDailyLoss = amt("1000")
        var e = RiskEngine(limits: l)
        #expect(e.evaluate(state: b.state, marks: [abc.id: px("100")], now: t(0)).isEmpty)   // the day starts at 0
        #expect(e.evaluate(state: b.state, marks: [abc.id: px("90")], now: t(1)).isEmpty)    // −1 000: at the limit
        #expect(e.mode == .active)
        let out = modeChanges(e.evaluate(state: b.state, marks: [abc.id: px("89.99999999")], now: t(2)))
        #expect(out.count == 1)
        #expect(out.first?.0 == .active && out.first?.1 == .halted && out.first?.2 == "max_daily_loss")
        #expect(out.first?.3.contains("-1000.000001 USD") == true)
        #expect(e.mode == .halted)
    }

    @Test func dayStartIsTheBaselineAndADayRollResetsIt() throws {
        let b = try longBook()
        var l = looseLosses()
        l.maxDailyLoss = amt("1000")
        var e = RiskEngine(limits: l)
        _ = e.handle(.dayRolled(startOfDayPnL: [.usd: try Money("-500", .usd)], at: t(0)))
        // −1 000 total is −500 today: fine.
        #expect(e.evaluate(state: b.state, marks: [abc.id: px("90")], now: t(1)).isEmpty)
        _ = e.handle(.dayRolled(startOfDayPnL: [.usd: try Money("0", .usd)], at: t(2)))
        #expect(e.evaluate(state: b.state, marks: [abc.id: px("89.99999999")], now: t(3)).count == 1)
    }

    @Test func maxDrawdownFromTheDaysPeakGoesReducing() throws {
        let b = try longBook()
        var l = looseLosses()
        l.maxDrawdown = amt("800")
        var e = RiskEngine(limits: l)
        _ = e.evaluate(state: b.state, marks: [abc.id: px("100")], now: t(0))
        _ = e.evaluate(state: b.state, marks: [abc.id: px("110")], now: t(1))        // peak +1 000
        #expect(e.evaluate(state: b.state, marks: [abc.id: px("102")], now: t(2)).isEmpty)  // 800 below: at the limit
        let out = modeChanges(e.evaluate(state: b.state, marks: [abc.id: px("101.99999999")], now: t(3)))
        #expect(out.first?.1 == .reducing && out.first?.2 == "max_drawdown")
        #expect(out.first?.3.contains("800.000001 USD below") == true)
    }

    @Test("dayFigures: the day P&L and the drawdown from the day's peak the limits were checked against, per currency")
    func dayFiguresAreWhatTheLimitsSaw() throws {
        let b = try longBook()
        var e = RiskEngine(limits: looseLosses())
        #expect(e.dayFigures().isEmpty)
        _ = e.evaluate(state: b.state, marks: [abc.id: px("100")], now: t(0))
        let start = try #require(e.dayFigures().first)
        _ = e.evaluate(state: b.state, marks: [abc.id: px("110")], now: t(1))        // peak +1 000
        _ = e.evaluate(state: b.state, marks: [abc.id: px("102")], now: t(2))
        let f = try #require(e.dayFigures().first)
        #expect(f.currency == .usd && start.pnl == 0)
        #expect(f.pnl == 200 * 100_000_000 && f.drawdown == 800 * 100_000_000)
    }

    @Test func statesEscalateWithReasonsAndOnlyAnOperatorGoesBack() throws {
        let b = try longBook()
        var l = looseLosses()
        l.maxDrawdown = amt("500")
        l.maxDailyLoss = amt("1000")
        var e = RiskEngine(limits: l)
        _ = e.evaluate(state: b.state, marks: [abc.id: px("100")], now: t(0))
        let toReducing = modeChanges(e.evaluate(state: b.state, marks: [abc.id: px("94")], now: t(1)))
        #expect(toReducing.map { "\($0.0)>\($0.1) \($0.2)" } == ["ACTIVE>REDUCING max_drawdown"])
        let toHalted = modeChanges(e.evaluate(state: b.state, marks: [abc.id: px("89")], now: t(2)))
        #expect(toHalted.map { "\($0.0)>\($0.1) \($0.2)" } == ["REDUCING>HALTED max_daily_loss"])
        // Recovering does not lift the state; breaching again produces nothing new.
        #expect(e.evaluate(state: b.state, marks: [abc.id: px("100")], now: t(3)).isEmpty)
        #expect(e.evaluate(state: b.state, marks: [abc.id: px("80")], now: t(4)).isEmpty)
        #expect(e.mode == .halted)
        let resumed = modeChanges(e.resume(at: t(5), by: "ops"))
        #expect(resumed.map { "\($0.0)>\($0.1) \($0.2)" } == ["HALTED>ACTIVE operator_resume"])
        let halted = modeChanges(e.halt(at: t(6), reason: "watchdog says so"))
        #expect(halted.first?.2 == "operator_halt" && halted.first?.3 == "watchdog says so")
        #expect(e.halt(at: t(7), reason: "again").isEmpty)
    }

    @Test func checkEvaluatesBeforeDeciding() throws {
        let b = try longBook()
        var l = looseLosses()
        l.maxDailyLoss = amt("1000")
        var e = RiskEngine(limits: l)
        _ = e.evaluate(state: b.state, marks: [abc.id: px("100")], now: t(0))
        let (d, out) = e.check(order(.buy, "1", limit("80")), state: b.state, marks: [abc.id: px("80")], now: t(1))
        #expect(rule(d) == "halted")
        #expect(modeChanges(out).first?.2 == "max_daily_loss")
    }

    @Test func perTradeLossRestrictsThePositionUntilFlat() throws {
        var b = try longBook()
        var l = looseLosses()
        l.perTradeLossLimit = amt("500")
        var e = RiskEngine(limits: l)
        #expect(e.evaluate(state: b.state, marks: [abc.id: px("95")], now: t(0)).isEmpty)   // −500: at the limit
        let out = e.evaluate(state: b.state, marks: [abc.id: px("94.99999999")], now: t(1))
        let key = PositionKey(account: acct, instrument: abc.id)
        guard case .positionRestricted(let k, let r, let why, _) = out.first else { Issue.record("\(out)"); return }
        #expect(k == key && r == "per_trade_loss" && why.contains("500.000001"))
        #expect(e.mode == .active)
        let marks = [abc.id: px("94.99999999"), xyz.id: px("100")]
        #expect(rule(e.check(order(.buy, "1", limit("95")), state: b.state, marks: marks, now: t(2)).0) == "position_reducing_only")
        #expect(e.check(order(.sell, "50"), state: b.state, marks: marks, now: t(2)).0 == .accepted)
        #expect(e.check(order(.buy, "1", limit("100"), instrument: xyz), state: b.state, marks: marks, now: t(2)).0 == .accepted)
        // Reported once, released when flat.
        #expect(e.evaluate(state: b.state, marks: [abc.id: px("90")], now: t(3)).isEmpty)
        try b.fill(.sell, "100", at: "90")
        #expect(e.evaluate(state: b.state, marks: [abc.id: px("90")], now: t(4)) == [.positionReleased(key, at: t(4))])
        #expect(e.restrictedPositions.isEmpty)
    }

    @Test func perTradeLossCanOnlyBeReported() throws {
        let b = try longBook()
        var l = looseLosses()
        l.perTradeLossLimit = amt("500")
        l.perTradeLossAction = .report
        var e = RiskEngine(limits: l)
        let out = e.evaluate(state: b.state, marks: [abc.id: px("94")], now: t(0))
        guard case .breach(let r, _, _) = out.first, out.count == 1 else { Issue.record("\(out)"); return }
        #expect(r == "per_trade_loss")
        #expect(e.evaluate(state: b.state, marks: [abc.id: px("93")], now: t(1)).isEmpty)
        #expect(e.check(order(.buy, "1", limit("93")), state: b.state, marks: [abc.id: px("93")], now: t(2)).0 == .accepted)
    }
}
