import TandemCore
import TandemFIX
import TandemWatchdog
import Testing

let usd = Currency(code: "USD")!
let acme = Instrument(id: InstrumentID(1), symbol: "ACME", venue: "VENUE", tickSize: Price(units: 1_000_000), lotSize: Quantity(units: 100_000_000),
                      currency: usd)
let acc = AccountID("ACC1")
let key1 = PositionKey(account: acc, instrument: InstrumentID(1))

func px(_ text: String) -> Price { try! Price(text) }
func qty(_ text: String) -> Quantity { try! Quantity(text) }
func usdMoney(_ text: String) -> Money { try! Money(text, usd) }

/// Execution reports as the drop copy carries them.
struct Reports {
    var n = 0
    mutating func fill(_ clOrdID: String, _ side: Side, _ q: String, at price: String, account: AccountID = acc) -> ExecutionReport {
        n += 1
        return ExecutionReport(orderID: "O-\(clOrdID)", clOrdID: ClOrdID(clOrdID), execID: "X\(n)", execType: .trade, ordStatus: .filled,
                               account: account, symbol: "ACME", side: side, orderQty: qty(q), leavesQty: .zero, cumQty: qty(q), avgPx: px(price),
                               lastQty: qty(q), lastPx: px(price))
    }
    mutating func new(_ clOrdID: String, _ side: Side, _ q: String) -> ExecutionReport {
        n += 1
        return ExecutionReport(orderID: "O-\(clOrdID)", clOrdID: ClOrdID(clOrdID), execID: "X\(n)", execType: .new, ordStatus: .new,
                               account: acc, symbol: "ACME", side: side, orderQty: qty(q), leavesQty: qty(q), cumQty: .zero, avgPx: .zero)
    }
}

func observation(_ venue: VenueView, at ms: Int64 = 0, marks: [InstrumentID: Price] = [InstrumentID(1): px("100")],
                 journal: [PositionKey: Quantity]? = nil, leaderAlive: Bool = true, halted: Bool = false, synced: Bool = true) -> WatchdogObservation {
    WatchdogObservation(nanos: ms * 1_000_000, venue: venue, venueSynced: synced, journalNet: journal ?? venue.engineNet, marks: marks,
                        marketDataAgeMillis: 10, leaseHalted: halted, leaderAlive: leaderAlive, leaderHeartbeatAgeMillis: halted ? nil : 50)
}

@Suite("Watchdog decisions (sans I/O)")
struct WatchdogMachineTests {
    func machine(_ configure: (inout WatchdogLimits) -> Void) -> WatchdogMachine {
        var limits = WatchdogLimits(currency: usd)
        configure(&limits)
        return WatchdogMachine(limits: limits, instruments: [acme], collarTicks: 5, clOrdPrefix: "WD-1-")
    }

    @Test("daily loss: just inside passes; at the limit HALTs once (lease halt, cancel the engine's orders, mode), alert once")
    func dailyLoss() throws {
        var m = machine { $0.maxDailyLoss = usdMoney("100") }
        var r = Reports()
        var v = VenueView(instruments: [acme])
        try v.apply(r.fill("1-5", .buy, "10", at: "100"), nanos: 0)
        #expect(m.evaluate(observation(v, marks: [InstrumentID(1): px("90.01")])).isEmpty)  // −99.90: inside
        #expect(m.mode == .normal)
        let out = m.evaluate(observation(v, at: 100, marks: [InstrumentID(1): px("90")]))   // −100.00: at the limit
        #expect(out.contains(.halt(rule: "daily_loss", reason: "P&L -100 USD reached the daily loss limit −100 USD")))
        #expect(out.contains(.cancelEngineOrders))
        #expect(out.contains { if case .setMode(.halted, _) = $0 { true } else { false } })
        #expect(out.contains { if case .alert("daily_loss", .critical, _) = $0 { true } else { false } })
        #expect(m.mode == .halted)
        // Still breached next cycle: no second halt, no second alert.
        #expect(m.evaluate(observation(v, at: 200, marks: [InstrumentID(1): px("90")])).isEmpty)
    }

    @Test("drawdown from the day's peak, max position, gross exposure: each trips just over and passes just under")
    func otherLimits() throws {
        var r = Reports()
        var v = VenueView(instruments: [acme])
        try v.apply(r.fill("1-5", .buy, "10", at: "100"), nanos: 0)

        var dd = machine { $0.maxDrawdown = usdMoney("50") }
        _ = dd.evaluate(observation(v, marks: [InstrumentID(1): px("110")]))   // peak +100
        #expect(dd.evaluate(observation(v, at: 1, marks: [InstrumentID(1): px("105.01")])).isEmpty)  // drawdown 49.90
        #expect(dd.evaluate(observation(v, at: 2, marks: [InstrumentID(1): px("105")])).contains { if case .halt("drawdown", _) = $0 { true } else { false } })

        var pos = machine { $0.maxPosition = qty("10") }
        #expect(pos.evaluate(observation(v)).isEmpty)
        try v.apply(r.fill("1-6", .buy, "1", at: "100"), nanos: 1)
        #expect(pos.evaluate(observation(v, at: 1)).contains { if case .halt("max_position", _) = $0 { true } else { false } })

        var gross = machine { $0.maxGrossExposure = usdMoney("1100") }
        #expect(gross.evaluate(observation(v)).isEmpty)   // 11 × 100 = 1,100: not over
        #expect(gross.evaluate(observation(v, at: 1, marks: [InstrumentID(1): px("100.01")])).contains {
            if case .halt("gross_exposure", _) = $0 { true } else { false } })
    }

    @Test("order rate over a one-second window")
    func orderRate() throws {
        var m = machine { $0.maxOrdersPerSecond = 3 }
        var r = Reports()
        var v = VenueView(instruments: [acme])
        for i in 0..<3 { try v.apply(r.new("1-\(i)", .buy, "1"), nanos: Int64(i) * 100_000_000) }
        #expect(m.evaluate(observation(v, at: 300)).isEmpty)
        try v.apply(r.new("1-9", .buy, "1"), nanos: 350_000_000)
        #expect(m.evaluate(observation(v, at: 400)).contains { if case .halt("order_rate", _) = $0 { true } else { false } })
    }

    @Test("journal and venue disagreeing HALTs only after the grace period, and not once they agree again")
    func disagreement() throws {
        var m = machine { $0.disagreementGraceMillis = 1000 }
        var r = Reports()
        var v = VenueView(instruments: [acme])
        try v.apply(r.fill("1-5", .buy, "10", at: "100"), nanos: 0)
        #expect(m.evaluate(observation(v, at: 0, journal: [:])).isEmpty)
        #expect(m.evaluate(observation(v, at: 999, journal: [:])).isEmpty)
        #expect(m.evaluate(observation(v, at: 1000, journal: [key1: qty("10")])).isEmpty)   // caught up: the clock restarts
        #expect(m.evaluate(observation(v, at: 1500, journal: [:])).isEmpty)
        #expect(m.evaluate(observation(v, at: 2500, journal: [:])).contains { if case .halt("journal_disagrees", _) = $0 { true } else { false } })
    }

    @Test("nothing is decided on an incomplete drop copy")
    func unsyncedViewDecidesNothing() throws {
        var m = machine { $0.maxDailyLoss = usdMoney("1"); $0.flattenOnBreach = true }
        var r = Reports()
        var v = VenueView(instruments: [acme])
        try v.apply(r.fill("1-5", .buy, "10", at: "100"), nanos: 0)
        let out = m.evaluate(observation(v, marks: [InstrumentID(1): px("50")], synced: false))
        #expect(out == [.alert(rule: "drop_copy_down", severity: .warning, message: "the drop copy is not logged on or not caught up; the venue view is incomplete")])
        #expect(m.mode == .normal)
    }

    @Test("FLATTEN: halt, block, one marketable IOC per open position, none while one is in flight, halted once flat")
    func flatten() throws {
        var m = machine { _ in }
        var r = Reports()
        var v = VenueView(instruments: [acme])
        try v.apply(r.fill("1-5", .buy, "10", at: "100"), nanos: 0)
        try v.apply(r.fill("1-6", .sell, "3", at: "100", account: AccountID("ACC2")), nanos: 0)
        let cmd = m.command(.flatten, reason: "drill")
        #expect(cmd.prefix(3) == [.halt(rule: "operator", reason: "drill"), .cancelEngineOrders, .block(true)])
        #expect(m.mode == .flattening && m.blocked)
        let first = m.evaluate(observation(v, at: 10, leaderAlive: false, halted: true))
        let orders = first.compactMap { if case .send(let o) = $0 { o } else { nil } }
        #expect(orders.count == 2)
        let long = try #require(orders.first { $0.account == acc })
        #expect(long.side == .sell && long.quantity == qty("10") && long.limit == px("99.95") && long.clOrdID.hasPrefix("WD-1-"))
        let short = try #require(orders.first { $0.account == AccountID("ACC2") })
        #expect(short.side == .buy && short.quantity == qty("3") && short.limit == px("100.05"))
        // In flight: nothing more until their reports arrive.
        #expect(m.evaluate(observation(v, at: 20, leaderAlive: false, halted: true)).allSatisfy { if case .send = $0 { false } else { true } })
        try v.apply(r.fill(long.clOrdID, .sell, "10", at: "99.99"), nanos: 30)
        try v.apply(r.fill(short.clOrdID, .buy, "3", at: "100.01", account: AccountID("ACC2")), nanos: 30)
        let done = m.evaluate(observation(v, at: 40, leaderAlive: false, halted: true))
        #expect(done.contains { if case .setMode(.halted, _) = $0 { true } else { false } })
        #expect(m.mode == .halted && v.openPositions.isEmpty)
    }

    @Test("positions at the venue with no live leader FLATTEN after the configured time; an operator RESUME returns to normal")
    func leaderlessPositions() throws {
        var m = machine { $0.flattenWithoutLeaderMillis = 500 }
        var r = Reports()
        var v = VenueView(instruments: [acme])
        try v.apply(r.fill("1-5", .buy, "10", at: "100"), nanos: 0)
        #expect(m.evaluate(observation(v, at: 0, leaderAlive: false)).allSatisfy { if case .halt = $0 { false } else { true } })
        let out = m.evaluate(observation(v, at: 600, leaderAlive: false))
        #expect(out.contains { if case .halt("positions_without_leader", _) = $0 { true } else { false } })
        #expect(m.mode == .flattening)
        let resumed = m.command(.resume, reason: "ok")
        #expect(resumed.contains(.block(false)) && resumed.contains(.resume(reason: "ok")) && m.mode == .normal)
    }

    @Test("the venue view counts each ExecID once and keeps the engine's net apart from the watchdog's orders")
    func venueView() throws {
        var r = Reports()
        var v = VenueView(instruments: [acme])
        let fill = r.fill("1-5", .buy, "10", at: "100")
        try v.apply(fill, nanos: 0)
        try v.apply(fill, nanos: 1)   // resent after a reconnect
        try v.apply(r.fill("WD-1-1", .sell, "4", at: "100"), nanos: 2)
        #expect(v.positions[key1]?.netQuantity == qty("6"))
        #expect(v.engineNet[key1] == qty("10"))
        #expect(v.ownFinished == ["WD-1-1"] && v.fills == 2)
        try v.apply(ExecutionReport(orderID: "O9", clOrdID: ClOrdID("1-9"), execID: "X99", execType: .trade, ordStatus: .filled, account: acc,
                                    symbol: "NOPE", side: .buy, leavesQty: .zero, cumQty: qty("1"), avgPx: px("1"), lastQty: qty("1"), lastPx: px("1")),
                    nanos: 3)
        #expect(v.unknownSymbols == ["NOPE"])
    }
}

@Suite("Watchdog escalation to BLOCK")
struct WatchdogBlockTests {
    @Test("an engine order acknowledged well after the HALT blocks the engine's sessions; one inside 500 ms, or resent history, does not")
    func engineOrdersAfterHalt() throws {
        var m = WatchdogMachine(limits: WatchdogLimits(currency: usd), instruments: [acme], clOrdPrefix: "WD-1-")
        var r = Reports()
        var v = VenueView(instruments: [acme])
        _ = m.command(.halt, reason: "drill")
        #expect(m.evaluate(observation(v, at: 0, halted: true)).isEmpty)       // the watch starts here
        try v.apply(r.new("3-1", .buy, "1"), nanos: 400_000_000)               // in flight at the halt
        try v.apply(r.new("3-2", .buy, "1"), nanos: 900_000_000, resent: true) // history resent after a reconnect
        #expect(m.evaluate(observation(v, at: 1000, halted: true)).isEmpty && !m.blocked)
        try v.apply(r.new("3-3", .buy, "1"), nanos: 1_100_000_000)
        let out = m.evaluate(observation(v, at: 1200, halted: true))
        #expect(out.contains(.block(true)) && m.blocked)
        #expect(out.contains { if case .alert("engine_orders_after_halt", .critical, _) = $0 { true } else { false } })
    }
}

@Suite("Watchdog exposure, per-position stop and open orders")
struct WatchdogMoreLimitsTests {
    func machine(_ configure: (inout WatchdogLimits) -> Void) -> WatchdogMachine {
        var limits = WatchdogLimits(currency: usd)
        configure(&limits)
        return WatchdogMachine(limits: limits, instruments: [acme], clOrdPrefix: "WD-1-")
    }

    @Test("net exposure counts longs against shorts; the per-position stop is one position's unrealized loss")
    func netExposureAndStop() throws {
        var r = Reports()
        var v = VenueView(instruments: [acme])
        try v.apply(r.fill("1-1", .buy, "10", at: "100"), nanos: 0)
        try v.apply(r.fill("1-2", .sell, "4", at: "100", account: AccountID("ACC2")), nanos: 0)
        var net = machine { $0.maxNetExposure = usdMoney("600") }
        #expect(net.evaluate(observation(v)).isEmpty)   // (10 − 4) × 100 = 600: not over
        #expect(net.evaluate(observation(v, at: 1, marks: [InstrumentID(1): px("100.01")])).contains {
            if case .halt("net_exposure", _) = $0 { true } else { false } })

        var stop = machine { $0.maxPositionLoss = usdMoney("50") }
        #expect(stop.evaluate(observation(v, marks: [InstrumentID(1): px("95.01")])).isEmpty)   // ACC1 down 49.90
        let out = stop.evaluate(observation(v, at: 1, marks: [InstrumentID(1): px("95")]))       // down 50.00
        #expect(out.contains { if case .halt("position_loss", let reason) = $0 { reason.contains("ACC1") } else { false } })
    }

    @Test("more engine orders working at the venue than the limit halts; the watchdog's own do not count")
    func openOrders() throws {
        var r = Reports()
        var v = VenueView(instruments: [acme])
        var m = machine { $0.maxOpenOrders = 2 }
        try v.apply(r.new("1-1", .buy, "1"), nanos: 0)
        try v.apply(r.new("1-2", .buy, "1"), nanos: 0)
        try v.apply(r.new("WD-1-9", .sell, "1"), nanos: 0)
        #expect(m.evaluate(observation(v)).isEmpty)
        try v.apply(r.new("1-3", .buy, "1"), nanos: 0)
        #expect(m.evaluate(observation(v, at: 1)).contains { if case .halt("max_open_orders", _) = $0 { true } else { false } })
    }
}
