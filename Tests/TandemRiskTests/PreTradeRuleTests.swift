import Testing
import TandemCore
@testable import TandemRisk

/// One test per rule: exactly at the limit passes, one unit over fails.
@Suite struct PreTradeRuleTests {
    func decide(_ r: OrderRequest, _ book: Book, limits: RiskLimits = testLimits(), marks: [InstrumentID: Price] = mark100) -> RiskDecision {
        var e = RiskEngine(limits: limits)
        return e.check(r, state: book.state, marks: marks, now: t(0)).0
    }

    @Test func maxOrderQuantity() throws {
        let b = try Book()
        #expect(decide(order(.buy, "100", limit("100")), b) == .accepted)
        let d = decide(order(.buy, "101", limit("99")), b)
        #expect(rule(d) == "max_order_quantity")
        #expect(reason(d).contains("101") && reason(d).contains("100"))
        var l = testLimits()
        l.instruments = [InstrumentLimits(instrument: abc.id, maxOrderQuantity: qty("10"))]
        #expect(decide(order(.buy, "10", limit("100")), b, limits: l) == .accepted)
        #expect(rule(decide(order(.buy, "11", limit("100")), b, limits: l)) == "max_order_quantity")
    }

    @Test func maxOrderNotional() throws {
        let b = try Book()
        #expect(decide(order(.buy, "100", limit("100")), b) == .accepted)  // 10 000.00 exactly
        let d = decide(order(.buy, "100", limit("100.01")), b)               // 10 001.00
        #expect(rule(d) == "max_order_notional")
        #expect(reason(d).contains("10001"))
        var l = testLimits()
        l.maxOrderNotional = amt("9999.99999999")
        #expect(rule(decide(order(.buy, "100", limit("100")), b, limits: l)) == "max_order_notional")
    }

    @Test func marketOrdersAreValuedAtTheCollarsWorstPrice() throws {
        let b = try Book()
        // 95 × 105 = 9 975 ≤ 10 000; 96 × 105 = 10 080 > 10 000.
        #expect(decide(order(.buy, "95"), b) == .accepted)
        #expect(rule(decide(order(.buy, "96"), b)) == "max_order_notional")
        // Sells: worst price 95; 105 × 95 = 9 975 but 105 > max quantity, so use a looser quantity cap.
        var l = testLimits()
        l.maxOrderQuantity = qty("1000")
        #expect(decide(order(.sell, "105"), b, limits: l) == .accepted)
        #expect(rule(decide(order(.sell, "106"), b, limits: l)) == "max_order_notional")
    }

    @Test func priceCollar() throws {
        let b = try Book()
        #expect(decide(order(.buy, "1", limit("105")), b) == .accepted)
        let d = decide(order(.buy, "1", limit("105.01")), b)
        #expect(rule(d) == "price_collar")
        #expect(reason(d).contains("105.01") && reason(d).contains("500 bps") && reason(d).contains("100"))
        #expect(decide(order(.sell, "1", limit("95")), b) == .accepted)
        #expect(rule(decide(order(.sell, "1", limit("94.99")), b)) == "price_collar")
        // Passive prices are not a fat finger.
        #expect(decide(order(.buy, "1", limit("50")), b) == .accepted)
        // A stop-limit is collared on its limit.
        #expect(rule(decide(order(.buy, "1", .stopLimit(stop: px("101"), limit: px("105.01"))), b)) == "price_collar")
    }

    @Test func noReferencePrice() throws {
        let b = try Book()
        #expect(rule(decide(order(.buy, "1", limit("100")), b, marks: [:])) == "no_reference_price")
        var l = testLimits()
        l.requireReferencePrice = false
        #expect(decide(order(.buy, "1", limit("100")), b, limits: l, marks: [:]) == .accepted)
        #expect(rule(decide(order(.buy, "1"), b, limits: l, marks: [:])) == "no_reference_price")
    }

    @Test func maxPositionCountsOpenOrdersOnTheOrdersSide() throws {
        var b = try Book()
        try b.fill(.buy, "150", at: "100")
        try b.open(.buy, "30", at: "99")
        try b.open(.sell, "40", at: "101")   // the other side does not offset
        #expect(decide(order(.buy, "20", limit("100")), b) == .accepted)    // 150 + 30 + 20 = 200
        let d = decide(order(.buy, "21", limit("100")), b)
        #expect(rule(d) == "max_position")
        #expect(reason(d).contains("201"))
        // Short side, symmetric: −200 passes, −201 fails (sell 100 is reducing-no: 150 long, opens sells 40+…).
        var s = try Book()
        try s.fill(.sell, "150", at: "100")
        #expect(decide(order(.sell, "50", limit("100")), s) == .accepted)
        #expect(rule(decide(order(.sell, "51", limit("100")), s)) == "max_position")
    }

    @Test func maxOpenOrders() throws {
        var b = try Book()
        var l = testLimits()
        l.maxOpenOrders = 3
        try b.open(.buy, "1", at: "99")
        try b.open(.buy, "1", at: "98")
        #expect(decide(order(.buy, "1", limit("100")), b, limits: l) == .accepted)   // the third
        try b.open(.buy, "1", at: "97")
        #expect(rule(decide(order(.buy, "1", limit("100")), b, limits: l)) == "max_open_orders")
    }

    @Test func grossExposure() throws {
        var b = try Book()
        try b.fill(.sell, "300", at: "100", instrument: xyz)   // −30 000 marked
        var l = testLimits()
        l.maxGrossExposure = amt("40000")                      // 30 000 + 100 × 100
        #expect(decide(order(.buy, "100", limit("100")), b, limits: l) == .accepted)
        l.maxGrossExposure = amt("39999.99999999")
        let d = decide(order(.buy, "100", limit("100")), b, limits: l)
        #expect(rule(d) == "max_gross_exposure")
        #expect(reason(d).contains("40000 USD"))
    }

    @Test func netExposure() throws {
        var b = try Book()
        try b.fill(.buy, "200", at: "100", instrument: xyz)   // +20 000 marked
        var l = testLimits()
        l.maxNetExposure = amt("30000")
        #expect(decide(order(.buy, "100", limit("100")), b, limits: l) == .accepted)
        l.maxNetExposure = amt("29999.99999999")
        #expect(rule(decide(order(.buy, "100", limit("100")), b, limits: l)) == "max_net_exposure")
        // A short in ABC offsets the net: 20 000 − 10 000.
        #expect(decide(order(.sell, "100", limit("100")), b, limits: l) == .accepted)
    }

    @Test func orderRateSlidingWindow() throws {
        let b = try Book()
        var e = RiskEngine(limits: testLimits())
        for i in 0..<5 {
            #expect(e.check(order(.buy, "1", limit("100")), state: b.state, marks: mark100, now: t(Int64(i))).0 == .accepted)
        }
        let d = e.check(order(.buy, "1", limit("100")), state: b.state, marks: mark100, now: t(999)).0
        #expect(rule(d) == "order_rate")
        #expect(reason(d).contains("5 orders"))
        // At t(1000) the order of t(0) has left the window (now − 1 s, now].
        #expect(e.check(order(.buy, "1", limit("100")), state: b.state, marks: mark100, now: t(1_000)).0 == .accepted)
    }

    @Test func messageRate() throws {
        let b = try Book()
        var e = RiskEngine(limits: testLimits())
        for i in 0..<9 { _ = e.handle(.messageSent(at: t(Int64(i)))) }
        #expect(e.check(order(.buy, "1", limit("100")), state: b.state, marks: mark100, now: t(10)).0 == .accepted)  // 9 + 1
        _ = e.handle(.messageSent(at: t(11)))
        let d = e.check(order(.buy, "1", limit("100")), state: b.state, marks: mark100, now: t(12)).0
        #expect(rule(d) == "message_rate")
        #expect(reason(d).contains("10 messages"))
    }

    @Test func structuralChecks() throws {
        let b = try Book()
        let unknown = Instrument(id: InstrumentID(9), symbol: "NOPE", venue: "SIM", tickSize: px("0.01"), lotSize: qty("1"), currency: .usd)
        #expect(rule(decide(order(.buy, "1", instrument: unknown), b)) == "unknown_instrument")
        #expect(rule(decide(order(.buy, "1.5", limit("100")), b)) == "lot_size")
        #expect(rule(decide(order(.buy, "1", limit("100.001")), b)) == "tick_size")
        var zero = order(.buy, "1", limit("100"))
        zero.quantity = .zero
        #expect(rule(decide(zero, b)) == "invalid_quantity")
    }

    @Test func overflowIsARejectionNotATrap() throws {
        let b = try Book()
        var l = testLimits()
        l.maxOrderQuantity = qty("1000000000")
        l.maxPosition = qty("1000000000")
        let marks: [InstrumentID: Price] = [abc.id: px("90000000000")]
        let d = decide(order(.buy, "1000000000", limit("90000000000")), b, limits: l, marks: marks)
        #expect(rule(d) == "arithmetic_overflow")
        #expect(reason(d).contains("overflows"))
    }

    @Test func acceptedOrdersOnlyCountTowardTheOrderRate() throws {
        let b = try Book()
        var e = RiskEngine(limits: testLimits())
        for _ in 0..<10 { _ = e.check(order(.buy, "101", limit("100")), state: b.state, marks: mark100, now: t(0)) }
        #expect(e.check(order(.buy, "1", limit("100")), state: b.state, marks: mark100, now: t(0)).0 == .accepted)
    }
}
