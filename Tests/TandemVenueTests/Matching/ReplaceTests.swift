import Testing
import TandemCore
import TandemVenue

@Suite struct ReplaceTests {
    /// Three bids at one price; the middle one is replaced in each test.
    static func threeBids() -> Driver {
        var d = Driver()
        d.limit("B1", .buy, "5", "10")
        d.limit("B2", .buy, "5", "10")
        d.limit("B3", .buy, "5", "10")
        return d
    }

    @Test func quantityDecreaseAtTheSamePriceKeepsPriority() {
        var d = Self.threeBids()
        let e = d.replace("B2", "B2b", "3")
        #expect(e.replaces.first?.priorityKept == true)
        #expect(e.replaces.first?.ref.clOrdID == ClOrdID("B2b") && e.replaces.first?.origClOrdID == ClOrdID("B2"))
        #expect(e.replaces.first?.ref.orderID == OrderID(2))
        #expect(e.bookUpdates.map(\.change) == [.modified(OrderID(2), quantity: V.qty("3"))])
        #expect(e.bookUpdates[0].levelQuantity == V.qty("13"))
        #expect(d.queue(.buy, "10") == [OrderID(1), OrderID(2), OrderID(3)])
        // Same quantity, same price: nothing moves on the book.
        let same = d.replace("B2b", "B2c", "3")
        #expect(same.replaces.first?.priorityKept == true && same.bookUpdates.isEmpty)
        #expect(d.cancel("B2b").rejectReason == .tooLateToCancel)
        #expect(d.cancel("B2c").cancels.count == 1)
    }

    @Test func quantityIncreaseLosesPriority() {
        var d = Self.threeBids()
        let e = d.replace("B2", "B2b", "6")
        #expect(e.replaces.first?.priorityKept == false)
        #expect(e.bookUpdates.map(\.change) == [.deleted(OrderID(2)), .added(OrderID(2), quantity: V.qty("6"))])
        #expect(d.queue(.buy, "10") == [OrderID(1), OrderID(3), OrderID(2)])
    }

    @Test func priceChangeLosesPriorityEvenBackToTheSamePrice() {
        var d = Self.threeBids()
        d.replace("B2", "B2b", "5", .limit(V.px("9.99")))
        #expect(d.queue(.buy, "9.99") == [OrderID(2)])
        d.replace("B2b", "B2c", "5", .limit(V.px("10")))
        #expect(d.queue(.buy, "10") == [OrderID(1), OrderID(3), OrderID(2)])
    }

    @Test func replaceToACrossingPriceTradesAtOnce() {
        var d = Driver()
        d.limit("S", .sell, "2", "10.05", session: V.s2, account: V.a2)
        d.limit("B", .buy, "5", "10")
        let e = d.replace("B", "B+", "5", .limit(V.px("10.05")))
        #expect(e.fills.count == 1 && e.fills[0].price == V.px("10.05") && e.fills[0].taker.ref.clOrdID == ClOrdID("B+"))
        #expect(e.fills[0].taker.leavesQuantity == V.qty("3"))
        #expect(d.queue(.buy, "10.05") == [OrderID(2)])
    }

    @Test func partiallyFilledReplaceKeepsCumulativeQuantity() {
        var d = Driver()
        d.limit("S", .sell, "10", "10")
        d.limit("B", .buy, "4", "10", session: V.s2, account: V.a2)
        #expect(d.replace("S", "S2", "4").rejectReason == .replaceQuantityNotAboveFilled)
        let e = d.replace("S", "S2", "7")
        let r = e.replaces[0]
        #expect(r.quantity == V.qty("7") && r.cumulativeQuantity == V.qty("4") && r.leavesQuantity == V.qty("3"))
        #expect(r.priorityKept)
        #expect(d.depth().asks.first?.quantity == V.qty("3"))
        let take = d.limit("B2", .buy, "9", "10", session: V.s2, account: V.a2)
        #expect(take.fills.first?.maker.cumulativeQuantity == V.qty("7") && take.fills.first?.maker.leavesQuantity == .zero)
    }

    @Test func replaceOfAStopMovesItsTrigger() {
        var d = Driver()
        d.order("ST", .buy, "1", .stop(V.px("11")))
        let e = d.replace("ST", "ST2", "2", .stop(V.px("10.50")))
        #expect(e.replaces.first?.type == .stop(V.px("10.50")) && e.bookUpdates.isEmpty)
        d.limit("S", .sell, "5", "10.50", session: V.s2, account: V.a2)
        let trade = d.limit("B", .buy, "1", "10.50", session: V.s2, account: V.a2)
        #expect(trade.triggers.map(\.ref.clOrdID) == [ClOrdID("ST2")])
        #expect(trade.fills.last?.taker.ref.clOrdID == ClOrdID("ST2") && trade.fills.last?.quantity == V.qty("2"))
    }

    @Test func replaceKeepsSideInstrumentAndTimeInForce() {
        var d = Driver()
        d.limit("B", .buy, "1", "9", tif: .goodTillCancel)
        d.replace("B", "B2", "3", .limit(V.px("9.5")))
        let status = d.engine.order(session: V.s1, clOrdID: ClOrdID("B2"))
        #expect(status?.side == .buy && status?.timeInForce == .goodTillCancel && status?.type == .limit(V.px("9.5")))
        #expect(status?.quantity == V.qty("3") && status?.ref.orderID == OrderID(1))
        #expect(d.engine.order(session: V.s1, clOrdID: ClOrdID("B")) == nil)
    }
}
