import Testing
import TandemCore
import TandemVenue

@Suite struct StopTests {
    @Test func stopRestsUntilTheLastTradeCrossesThenWorksAsMarket() {
        var d = Driver()
        d.limit("S1", .sell, "1", "10.00", session: V.s2, account: V.a2)
        d.limit("S2", .sell, "5", "10.10", session: V.s2, account: V.a2)
        let entered = d.order("ST", .buy, "3", .stop(V.px("10.00")))
        #expect(entered.accepts.count == 1 && entered.bookUpdates.isEmpty && entered.triggers.isEmpty)
        #expect(d.engine.pendingStopCount(V.xyz.id) == 1)
        #expect(d.engine.order(session: V.s1, clOrdID: ClOrdID("ST"))?.isTriggered == false)

        let trade = d.limit("B", .buy, "1", "10.00", session: V.s2, account: V.a2)
        #expect(trade.triggers.count == 1)
        let t = trade.triggers[0]
        #expect(t.ref.clOrdID == ClOrdID("ST") && t.stopPrice == V.px("10.00") && t.lastTradePrice == V.px("10.00") && t.workingType == .market)
        #expect(trade.fills.map(\.taker.ref.clOrdID.rawValue) == ["B", "ST"])
        #expect(trade.fills.last?.price == V.px("10.10") && trade.fills.last?.quantity == V.qty("3"))
        #expect(d.engine.pendingStopCount(V.xyz.id) == 0)
    }

    @Test func sellStopTriggersOnATradeAtOrBelowItsStop() {
        var d = Driver()
        d.limit("B1", .buy, "1", "9.95", session: V.s2, account: V.a2)
        d.limit("B2", .buy, "1", "9.90", session: V.s2, account: V.a2)
        d.order("ST", .sell, "1", .stop(V.px("9.94")))
        let above = d.limit("S", .sell, "1", "9.95", session: V.s2, account: V.a2)
        #expect(above.triggers.isEmpty)  // traded at 9.95 > 9.94
        let below = d.order("M", .sell, "1", .market, session: V.s2, account: V.a2)  // trades at 9.90
        #expect(below.triggers.first?.ref.clOrdID == ClOrdID("ST"))
        #expect(below.cancels.last?.ref.clOrdID == ClOrdID("ST") && below.cancels.last?.reason == .unfilledRemainder)  // nothing left to sell into
    }

    @Test func stopLimitEntersAsLimitWithTimePriorityFromTriggering() {
        var d = Driver()
        d.limit("S1", .sell, "1", "10.00", session: V.s2, account: V.a2)
        d.order("SL", .buy, "2", .stopLimit(stop: V.px("10.00"), limit: V.px("9.99")))
        d.limit("B0", .buy, "1", "9.99", session: V.s2, account: V.a2)  // entered after the stop, before its trigger
        let trade = d.limit("B", .buy, "1", "10.00", session: V.s2, account: V.a2)
        #expect(trade.triggers.first?.workingType == .limit(V.px("9.99")))
        #expect(trade.bookUpdates.last?.change == .added(OrderID(2), quantity: V.qty("2")))
        #expect(d.queue(.buy, "9.99") == [OrderID(3), OrderID(2)])
        #expect(d.engine.order(session: V.s1, clOrdID: ClOrdID("SL"))?.isTriggered == true)
        #expect(d.engine.order(session: V.s1, clOrdID: ClOrdID("SL"))?.type == .stopLimit(stop: V.px("10.00"), limit: V.px("9.99")))
    }

    @Test func stopAlreadyCrossedTriggersOnEntry() {
        var d = Driver()
        d.limit("S1", .sell, "2", "10.00", session: V.s2, account: V.a2)
        d.limit("B", .buy, "1", "10.00", session: V.s2, account: V.a2)
        let e = d.order("ST", .buy, "1", .stop(V.px("9.50")))
        #expect(e.accepts.count == 1 && e.triggers.count == 1 && e.fills.count == 1)
    }

    @Test func triggersCascadeNearestStopFirstThenEarliest() {
        var d = Driver()
        for (i, p) in ["10.01", "10.02", "10.03", "10.04"].enumerated() {
            d.limit("S\(i)", .sell, "1", p, session: V.s2, account: V.a2)
        }
        d.order("far", .buy, "1", .stop(V.px("10.03")))
        d.order("near1", .buy, "1", .stop(V.px("10.01")), session: V.s2, account: V.a2)
        d.order("mid", .buy, "1", .stop(V.px("10.02")))
        d.order("near2", .buy, "1", .stop(V.px("10.01")), session: V.s2)
        // The trade at 10.01 crosses both 10.01 stops. "near1" (entered first) trades at 10.02, which
        // also crosses "mid", but "near2" is nearer the market and goes next (trading at 10.03);
        // "mid" trades at 10.04, which triggers "far", which finds nothing left.
        let e = d.limit("B", .buy, "1", "10.01", session: V.s2, account: V.a2)
        #expect(e.triggers.map(\.ref.clOrdID.rawValue) == ["near1", "near2", "mid", "far"])
        #expect(e.fills.map(\.price) == ["10.01", "10.02", "10.03", "10.04"].map(V.px))
        #expect(e.cancels.map(\.ref.clOrdID.rawValue) == ["far"])
    }

    @Test func stopsAreCanceledAndExpiredLikeOtherOrders() {
        var d = Driver()
        d.order("ST", .buy, "1", .stop(V.px("11")))
        let e = d.cancel("ST")
        #expect(e.cancels.count == 1 && e.bookUpdates.isEmpty && d.engine.pendingStopCount(V.xyz.id) == 0)
        d.order("G", .sell, "1", .stop(V.px("9")), tif: .goodTillDate(Timestamp(nanosecondsSinceEpoch: d.now + 1_500)))
        let expired = d.send(.tick)
        #expect(expired.cancels.first?.reason == .expired && d.engine.pendingStopCount(V.xyz.id) == 0)
    }
}
