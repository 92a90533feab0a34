import Testing
import TandemCore
@testable import TandemRisk

@Suite struct BreakerTests {
    func halt(_ out: [RiskOutput]) -> (rule: String, reason: String)? {
        for o in out { if case .modeChanged(_, .halted, let rule, let reason, _) = o { return (rule, reason) } }
        return nil
    }

    @Test func rejectsInAWindow() {
        var e = RiskEngine(limits: testLimits())   // 3 within 60 s
        #expect(e.handle(.venueRejected(clOrdID: ClOrdID("a"), reason: "x", at: t(0))).isEmpty)
        #expect(e.handle(.venueRejected(clOrdID: ClOrdID("b"), reason: "x", at: t(30_000))).isEmpty)
        // The first has left the window (now − 60 s, now]: still two.
        #expect(e.handle(.venueRejected(clOrdID: ClOrdID("c"), reason: "x", at: t(60_000))).isEmpty)
        let h = halt(e.handle(.venueRejected(clOrdID: ClOrdID("d"), reason: "unknown symbol", at: t(60_001))))
        #expect(h?.rule == "reject_storm")
        #expect(h?.reason.contains("3 venue rejects within 60000 ms") == true && h?.reason.contains("unknown symbol") == true)
        #expect(e.mode == .halted)
    }

    @Test func disconnectStorm() {
        var e = RiskEngine(limits: testLimits())   // 2 within 300 s
        #expect(e.handle(.venueDisconnected(venue: "SIM", at: t(0))).isEmpty)
        #expect(e.handle(.venueDisconnected(venue: "SIM", at: t(300_000))).isEmpty)
        let h = halt(e.handle(.venueDisconnected(venue: "SIM", at: t(300_001))))
        #expect(h?.rule == "disconnect_storm")
        #expect(h?.reason.contains("2 venue disconnects") == true)
    }

    @Test func staleMarketData() throws {
        let b = try Book()
        var e = RiskEngine(limits: testLimits())   // 5 s
        _ = e.handle(.mark(abc.id, px("100"), at: t(0)))
        #expect(e.marks == [abc.id: px("100")])
        #expect(e.evaluate(state: b.state, marks: e.marks, now: t(5_000)).isEmpty)
        let h = halt(e.evaluate(state: b.state, marks: e.marks, now: Timestamp(nanosecondsSinceEpoch: t(5_000).nanosecondsSinceEpoch + 1)))
        #expect(h?.rule == "stale_market_data")
        #expect(h?.reason.contains("instrument 1") == true && h?.reason.contains("limit 5000 ms") == true)
        // A fresh mark does not lift HALTED, but the way out stays open.
        var b2 = b
        try b2.fill(.buy, "10", at: "100")
        #expect(e.check(order(.sell, "10"), state: b2.state, marks: [:], now: t(6_000)).0 == .accepted)
    }

    @Test func staleDataCanBeDisabled() throws {
        let b = try Book()
        var l = testLimits()
        l.staleMarkAfterMs = 0
        var e = RiskEngine(limits: l)
        _ = e.handle(.mark(abc.id, px("100"), at: t(0)))
        #expect(e.evaluate(state: b.state, marks: e.marks, now: t(1_000_000)).isEmpty)
    }

    /// P&L sampled once a second; calm changes of ±10 USD, then a jump.
    func calm(_ e: inout RiskEngine, _ b: Book) -> Int64 {
        var now: Int64 = 0
        for i in 0...20 {
            _ = e.evaluate(state: b.state, marks: [abc.id: px(i % 2 == 0 ? "100" : "100.1")], now: t(now))
            now += 1_000
        }
        return now   // the last mark was 100
    }

    func sigmaLimits() -> RiskLimits {
        var l = testLimits()
        l.staleMarkAfterMs = 0
        l.maxDailyLoss = amt("100000")
        l.maxDrawdown = amt("100000")
        l.perTradeLossLimit = amt("100000")
        return l
    }

    @Test func pnlMoveBeyondKSigmaHalts() throws {
        var b = try Book()
        try b.fill(.buy, "100", at: "100")
        var e = RiskEngine(limits: sigmaLimits())   // 4 sigma, 10 samples
        let now = calm(&e, b)
        #expect(e.mode == .active)
        let h = halt(e.evaluate(state: b.state, marks: [abc.id: px("95")], now: t(now)))   // −500 USD
        #expect(h?.rule == "pnl_sigma")
        #expect(h?.reason.contains("-500 USD") == true && h?.reason.contains("limit 4") == true)
    }

    @Test func pnlMoveWithinKSigmaDoesNot() throws {
        var b = try Book()
        try b.fill(.buy, "100", at: "100")
        var e = RiskEngine(limits: sigmaLimits())
        let now = calm(&e, b)
        // sd ≈ 10.2: a 30 USD move is ≈ 3 sigma.
        #expect(e.evaluate(state: b.state, marks: [abc.id: px("100.3")], now: t(now)).isEmpty)
        // Samples closer together than the interval are not changes.
        #expect(e.evaluate(state: b.state, marks: [abc.id: px("90")], now: t(now + 999)).isEmpty)
        #expect(e.mode == .active)
    }

    @Test func kSigmaNeedsItsMinimumSamples() throws {
        var b = try Book()
        try b.fill(.buy, "100", at: "100")
        var e = RiskEngine(limits: sigmaLimits())
        for i in 0..<5 { _ = e.evaluate(state: b.state, marks: [abc.id: px(i % 2 == 0 ? "100" : "100.1")], now: t(Int64(i) * 1_000)) }
        #expect(e.evaluate(state: b.state, marks: [abc.id: px("95")], now: t(5_000)).isEmpty)
    }
}
