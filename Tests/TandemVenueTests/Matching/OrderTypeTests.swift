import Testing
import TandemCore
import TandemVenue

@Suite struct OrderTypeTests {
    @Test func limitOrderRestsThenTradesAtTheMakersPrice() {
        var d = Driver()
        let rest = d.limit("S", .sell, "10", "100.05")
        #expect(rest.accepts.count == 1 && rest.fills.isEmpty)
        #expect(rest.bookUpdates.map(\.change) == [.added(OrderID(1), quantity: V.qty("10"))])

        let take = d.limit("B", .buy, "4", "100.10", session: V.s2, account: V.a2)
        let fill = take.fills[0]
        #expect(take.fills.count == 1)
        #expect(fill.price == V.px("100.05") && fill.quantity == V.qty("4") && fill.aggressor == .buy)
        #expect(fill.tradeID == TradeID(1))
        #expect(fill.maker.ref.clOrdID == ClOrdID("S") && fill.maker.leavesQuantity == V.qty("6") && fill.maker.cumulativeQuantity == V.qty("4"))
        #expect(fill.taker.ref.clOrdID == ClOrdID("B") && fill.taker.ref.session == V.s2 && fill.taker.leavesQuantity == .zero)
        #expect(take.bookUpdates.map(\.change) == [.executed(OrderID(1), quantity: V.qty("4"), remaining: V.qty("6"), trade: TradeID(1), aggressor: .buy)])
        #expect(take.bookUpdates[0].levelQuantity == V.qty("6") && take.bookUpdates[0].levelOrderCount == 1)
        #expect(d.engine.lastTradePrice(V.xyz.id) == V.px("100.05"))
        #expect(d.engine.topOfBook(V.xyz.id)?.ask?.quantity == V.qty("6"))
    }

    @Test func betterPriceFirstThenEarlierTime() {
        var d = Driver()
        d.limit("S1", .sell, "1", "100.02")
        d.limit("S2", .sell, "1", "100.01")
        d.limit("S3", .sell, "1", "100.01")
        d.limit("S4", .sell, "1", "100.00")
        let take = d.limit("B", .buy, "4", "100.02", session: V.s2, account: V.a2)
        #expect(take.fills.map(\.maker.ref.clOrdID.rawValue) == ["S4", "S2", "S3", "S1"])
        #expect(take.fills.map(\.price) == ["100.00", "100.01", "100.01", "100.02"].map(V.px))
        #expect(d.depth().asks.isEmpty)
    }

    @Test func partialFillRestsTheRemainderBehindTheQueue() {
        var d = Driver()
        d.limit("S", .sell, "3", "50")
        d.limit("B0", .buy, "1", "49.99")
        let take = d.limit("B", .buy, "5", "50", session: V.s2, account: V.a2)
        #expect(take.fills.count == 1 && take.fills[0].taker.leavesQuantity == V.qty("2"))
        #expect(take.bookUpdates.last?.change == .added(OrderID(3), quantity: V.qty("2")))
        #expect(d.engine.topOfBook(V.xyz.id)?.bid?.price == V.px("50"))
        #expect(d.engine.order(session: V.s2, clOrdID: ClOrdID("B"))?.status == .partiallyFilled)
    }

    @Test func marketOrderSweepsAndCancelsItsRemainder() {
        var d = Driver()
        d.limit("S1", .sell, "2", "10.00")
        d.limit("S2", .sell, "2", "10.50")
        let take = d.order("M", .buy, "5", .market, session: V.s2, account: V.a2)
        #expect(take.fills.map(\.price) == [V.px("10.00"), V.px("10.50")])
        #expect(take.cancels.count == 1)
        #expect(take.cancels[0].reason == .unfilledRemainder && take.cancels[0].canceledQuantity == V.qty("1"))
        #expect(take.cancels[0].cumulativeQuantity == V.qty("4"))
        #expect(d.depth().asks.isEmpty && d.depth().bids.isEmpty)
    }

    @Test func immediateOrCancelNeverRests() {
        var d = Driver()
        d.limit("S", .sell, "2", "10.00")
        let partial = d.limit("I", .buy, "5", "10.00", tif: .immediateOrCancel, session: V.s2)
        #expect(partial.fills.count == 1 && partial.cancels.first?.reason == .unfilledRemainder)
        #expect(partial.cancels.first?.canceledQuantity == V.qty("3"))
        let none = d.limit("I2", .buy, "5", "9.00", tif: .immediateOrCancel, session: V.s2)
        #expect(none.accepts.count == 1 && none.fills.isEmpty && none.cancels.first?.canceledQuantity == V.qty("5"))
        #expect(d.depth().bids.isEmpty)
    }

    @Test func fillOrKillFillsCompletelyOrNotAtAll() {
        var d = Driver()
        d.limit("S1", .sell, "2", "10.00")
        d.limit("S2", .sell, "2", "10.01")
        let refused = d.limit("F1", .buy, "5", "10.01", tif: .fillOrKill, session: V.s2)
        #expect(refused.rejectReason == .fillOrKillNotFillable && refused.accepts.isEmpty)
        let priceLimited = d.limit("F2", .buy, "3", "10.00", tif: .fillOrKill, session: V.s2)
        #expect(priceLimited.rejectReason == .fillOrKillNotFillable)
        #expect(d.depth().asks.map(\.quantity) == [V.qty("2"), V.qty("2")])
        let filled = d.limit("F3", .buy, "4", "10.01", tif: .fillOrKill, session: V.s2)
        #expect(filled.fills.map(\.quantity) == [V.qty("2"), V.qty("2")] && filled.cancels.isEmpty)
    }

    @Test func sellShortRestsWithTheSells() {
        var d = Driver()
        let e = d.limit("SS", .sellShort, "1", "20")
        #expect(e.bookUpdates.first?.side == .sell)
        let take = d.limit("B", .buy, "1", "20", session: V.s2)
        #expect(take.fills.first?.maker.side == .sellShort)
    }

    @Test func cancelRemovesTheOrderAndNamesTheRequest() {
        var d = Driver()
        d.limit("B", .buy, "5", "10")
        let e = d.cancel("B", request: "CX1")
        #expect(e.cancels.first?.reason == .requested && e.cancels.first?.requestClOrdID == ClOrdID("CX1"))
        #expect(e.cancels.first?.canceledQuantity == V.qty("5"))
        #expect(e.bookUpdates.map(\.change) == [.deleted(OrderID(1))] && e.bookUpdates[0].levelQuantity == .zero)
        #expect(d.depth().bids.isEmpty)
    }

    @Test func orderIDsAndTradeIDsAreSequential() {
        var d = Driver()
        #expect(d.limit("A", .sell, "1", "10").orderID == OrderID(1))
        #expect(d.limit("B", .sell, "1", "10").orderID == OrderID(2))
        #expect(d.limit("C", .buy, "5", "1").orderID == OrderID(3))
        #expect(d.limit("R", .buy, "1", "1", session: V.s2).orderID == OrderID(4))
        let take = d.limit("D", .buy, "2", "10", session: V.s2)
        #expect(take.orderID == OrderID(5))
        #expect(take.fills.map(\.tradeID) == [TradeID(1), TradeID(2)])
    }

    @Test func bookUpdateSequencesRunWithoutGapsPerInstrument() {
        var d = Driver()
        d.limit("A", .sell, "1", "10")
        d.order("F", .buy, "1", .limit(V.px("4000")), instrument: V.fut)
        d.limit("B", .buy, "2", "10", session: V.s2)
        d.cancel("B", session: V.s2)
        let xyz = d.log.bookUpdates.filter { $0.instrument == V.xyz.id }.map(\.sequence)
        #expect(xyz == Array(1...UInt64(xyz.count)))
        #expect(d.log.bookUpdates.filter { $0.instrument == V.fut.id }.map(\.sequence) == [1])
        #expect(d.engine.topOfBook(V.xyz.id)?.sequence == UInt64(xyz.count))
    }
}
