import Testing
import TandemCore
import TandemVenue

@Suite struct SelfTradeTests {
    /// A1 rests 1 @ 10.00 then A2 rests 1 @ 10.00; A1 sends a buy for 2 @ 10.00.
    static func scenario(_ mode: SelfTradePrevention) -> (Driver, [VenueEvent]) {
        var d = Driver(V.config(stp: mode))
        d.limit("own", .sell, "1", "10.00", account: V.a1)
        d.limit("other", .sell, "1", "10.00", session: V.s2, account: V.a2)
        let e = d.limit("in", .buy, "2", "10.00", account: V.a1)
        return (d, e)
    }

    @Test func noneLetsAnAccountTradeWithItself() {
        let (_, e) = Self.scenario(.none)
        #expect(e.fills.map(\.maker.ref.clOrdID.rawValue) == ["own", "other"])
    }

    @Test func cancelRestingCancelsTheRestingOrderAndGoesOn() {
        let (d, e) = Self.scenario(.cancelResting)
        #expect(e.cancels.map(\.ref.clOrdID.rawValue) == ["own"] && e.cancels[0].reason == .selfTradePrevention)
        #expect(e.fills.map(\.maker.ref.clOrdID.rawValue) == ["other"])
        #expect(e.bookUpdates.first?.change == .deleted(OrderID(1)))
        #expect(d.engine.topOfBook(V.xyz.id)?.bid?.quantity == V.qty("1"))  // the rest of "in" rests
    }

    @Test func cancelIncomingCancelsTheIncomingRemainder() {
        let (d, e) = Self.scenario(.cancelIncoming)
        #expect(e.fills.isEmpty)
        #expect(e.cancels.map(\.ref.clOrdID.rawValue) == ["in"] && e.cancels[0].reason == .selfTradePrevention)
        #expect(d.depth().asks.first?.orders.map(\.orderID) == [OrderID(1), OrderID(2)])
    }

    @Test func cancelBothCancelsBoth() {
        let (d, e) = Self.scenario(.cancelBoth)
        #expect(e.fills.isEmpty)
        #expect(e.cancels.map(\.ref.clOrdID.rawValue) == ["own", "in"])
        #expect(d.depth().asks.first?.orders.map(\.orderID) == [OrderID(2)])
    }

    @Test func incomingTradesWithOthersBeforeMeetingItsOwnOrder() {
        var d = Driver(V.config(stp: .cancelIncoming))
        d.limit("other", .sell, "1", "10.00", session: V.s2, account: V.a2)
        d.limit("own", .sell, "1", "10.00")
        let e = d.limit("in", .buy, "3", "10.00")
        #expect(e.fills.map(\.maker.ref.clOrdID.rawValue) == ["other"])
        #expect(e.cancels.first?.canceledQuantity == V.qty("2") && e.cancels.first?.cumulativeQuantity == V.qty("1"))
    }

    @Test func groupsSpanAccountsAndSplitThem() {
        let desk = SelfTradeGroup("DESK")
        var d = Driver(V.config(stp: .cancelIncoming))
        d.limit("a", .sell, "1", "10", session: V.s2, account: V.a2, group: desk)
        let e = d.limit("b", .buy, "1", "10", account: V.a1, group: desk)
        #expect(e.fills.isEmpty && e.cancels.first?.reason == .selfTradePrevention)
        // Same account, but one order has a group: different keys, so they trade.
        d.limit("c", .sell, "1", "11", account: V.a1, group: desk)
        #expect(d.limit("d", .buy, "1", "11", account: V.a1).fills.count == 1)
    }

    @Test func fillOrKillAndMarketSeeOnlyLiquidityTheyMayTake() {
        var d = Driver(V.config(stp: .cancelIncoming))
        d.limit("own", .sell, "1", "10")
        d.limit("other", .sell, "1", "10", session: V.s2, account: V.a2)
        #expect(d.limit("f", .buy, "2", "10", tif: .fillOrKill).rejectReason == .fillOrKillNotFillable)
        #expect(d.order("m", .buy, "1", .market).rejectReason == .noLiquidity)  // own order is first in line
        var r = Driver(V.config(stp: .cancelResting))
        r.limit("own", .sell, "1", "10")
        r.limit("other", .sell, "1", "10", session: V.s2, account: V.a2)
        #expect(r.limit("f", .buy, "2", "10", tif: .fillOrKill).rejectReason == .fillOrKillNotFillable)
        let ok = r.limit("f2", .buy, "1", "10", tif: .fillOrKill)
        #expect(ok.fills.count == 1 && ok.cancels.map(\.reason) == [.selfTradePrevention])
    }
}
