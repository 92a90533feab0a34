import Logging
import Testing
import TandemCore
import TandemExecution
import TandemNode
import TandemRisk
import TandemStrategy

/// The node's risk hook without a journal: restore from the fold, adopting a mode someone else
/// journaled, the day roll.
@Suite struct NodeRiskTests {
    static let logger = Logger(label: "node-risk-test", factory: { _ in SwiftLogNoOpLogHandler() })
    static let acme = Instrument(id: InstrumentID(1), symbol: "ACME", venue: "VENUE", tickSize: Price(units: 1_000_000),
                                 lotSize: Quantity(units: 100_000_000), currency: .usd)
    static let day0 = Timestamp(nanosecondsSinceEpoch: 20_000 * 86_400 * 1_000_000_000)

    static func at(hours: Int64) -> Timestamp {
        Timestamp(nanosecondsSinceEpoch: day0.nanosecondsSinceEpoch + hours * 3_600_000_000_000)
    }

    /// A state with a long 100 ACME bought at 100.
    static func longState() throws -> TradingState {
        var s = TradingState()
        try s.apply(.instrumentDefined(acme, at: day0))
        let r = OrderRequest(clOrdID: ClOrdID("B1"), account: AccountID("ACC1"), instrument: acme.id, side: .buy,
                             type: .limit(Price(units: 100_00_000_000)), timeInForce: .day, quantity: Quantity(units: 100_00_000_000))
        try s.apply(.orderIntent(OrderIntent(request: r, decision: .accepted, at: day0)))
        try s.apply(.fill(Execution(clOrdID: ClOrdID("B1"), execID: "E1", quantity: r.quantity, price: Price(units: 100_00_000_000),
                                    fee: .zero(.usd), at: day0)))
        return s
    }

    static func order(_ side: Side, _ units: Int64, id: String) -> OrderRequest {
        OrderRequest(clOrdID: ClOrdID(id), account: AccountID("ACC1"), instrument: acme.id, side: side, type: .market,
                     timeInForce: .day, quantity: Quantity(units: units * 100_000_000))
    }

    @Test func aTermStartsInTheJournaledMode() throws {
        var s = try Self.longState()
        try s.apply(.riskModeChanged(RiskModeChange(from: .active, to: .halted, rule: "max_daily_loss", reason: "loss", at: Self.day0)))
        let risk = try #require(try NodeRisk.forTerm(limitsFile: nil, ledger: s, dayRoll: .midnight, logger: Self.logger))
        #expect(risk.mode == .halted)
        if case .rejected(let rule, _) = risk.check(Self.order(.buy, 1, id: "N1"), state: s, now: Self.day0) { #expect(rule == "halted") } else { Issue.record("accepted") }
        #expect(risk.check(Self.order(.sell, 100, id: "N2"), state: s, now: Self.day0) == .accepted)  // the way out
        // Nothing new to journal: the restored mode is the journal's already.
        #expect(!risk.evaluate(state: s, now: Self.day0).contains { if case .modeChanged = $0 { true } else { false } })
        // An ACTIVE journal and no limits file: no hook at all, as before.
        #expect(try NodeRisk.forTerm(limitsFile: nil, ledger: try Self.longState(), dayRoll: .midnight, logger: Self.logger) == nil)
    }

    @Test func aGlobalHaltOrResumeJournaledBySomeoneElseIsAdopted() throws {
        var s = try Self.longState()
        let risk = NodeRisk(limits: RiskLimits(), restoring: s, logger: Self.logger)
        #expect(risk.mode == .active)
        try s.apply(.riskCommand(RiskCommand(action: .halt, scope: .global, issuedBy: "watchdog", signature: [], at: Self.day0)))
        #expect(risk.evaluate(state: s, now: Self.day0).isEmpty)
        #expect(risk.mode == .halted)
        if case .rejected(let rule, _) = risk.check(Self.order(.buy, 1, id: "N1"), state: s, now: Self.day0) { #expect(rule == "halted") } else { Issue.record("accepted") }
        try s.apply(.riskCommand(RiskCommand(action: .resume, scope: .global, issuedBy: "alice", signature: [], at: Self.day0)))
        #expect(risk.evaluate(state: s, now: Self.day0).isEmpty)
        #expect(risk.mode == .active)
    }

    @Test func theDayRollStartsTheDailyLossOver() throws {
        let s = try Self.longState()
        var limits = RiskLimits()
        limits.maxDailyLoss = Amount(units: 1_000_00_000_000)   // 1 000
        limits.maxDrawdown = Amount(units: 10_000_00_000_000)
        limits.staleMarkAfterMs = 0
        limits.pnlSigmaLimit = 0
        let risk = NodeRisk(limits: limits, restoring: s, dayRoll: DayRoll("21:00")!, logger: Self.logger)
        func mark(_ units: Int64, _ at: Timestamp) {
            risk.mark(MarketUpdate(instrument: Self.acme.id, bestBid: nil, bestAsk: nil, lastTrade: .init(price: Price(units: units * 100_000_000), quantity: Quantity(units: 100_000_000)), at: at))
        }
        // Day starts at 100; at 20:00 down 9 a share (−900): within the limit.
        mark(100, Self.at(hours: 1))
        #expect(risk.evaluate(state: s, now: Self.at(hours: 1)).isEmpty)
        mark(91, Self.at(hours: 20))
        #expect(risk.evaluate(state: s, now: Self.at(hours: 20)).isEmpty)
        // 21:00 rolls the day: from −900, another −200 is no breach (−1 100 without the roll).
        #expect(risk.evaluate(state: s, now: Self.at(hours: 21)).isEmpty)
        mark(89, Self.at(hours: 22))
        #expect(risk.evaluate(state: s, now: Self.at(hours: 22)).isEmpty)
        #expect(risk.mode == .active)
        // The same path without a roll in between halts.
        let noRoll = NodeRisk(limits: limits, restoring: s, dayRoll: DayRoll("23:00")!, logger: Self.logger)
        noRoll.mark(MarketUpdate(instrument: Self.acme.id, bestBid: nil, bestAsk: nil, lastTrade: .init(price: Price(units: 100_00_000_000), quantity: Quantity(units: 100_000_000)), at: Self.at(hours: 1)))
        _ = noRoll.evaluate(state: s, now: Self.at(hours: 1))
        noRoll.mark(MarketUpdate(instrument: Self.acme.id, bestBid: nil, bestAsk: nil, lastTrade: .init(price: Price(units: 89_00_000_000), quantity: Quantity(units: 100_000_000)), at: Self.at(hours: 22)))
        #expect(noRoll.evaluate(state: s, now: Self.at(hours: 22)).contains { if case .modeChanged(_, .halted, "max_daily_loss", _, _) = $0 { true } else { false } })
    }
}
