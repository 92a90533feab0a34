import Testing
import TandemCore
@testable import TandemStrategy

/// A tick of 0.03 puts most mids off the grid, so the rounding directions show.
private let odd = instrument(7, tick: "0.03", lot: "1")
private let penny = instrument(7, tick: "0.01", lot: "1")

private func maker(
    _ i: Instrument = penny, quote: String = "1", halfSpread: Int64 = 1, max: String = "10", requote: Int64 = 1
) -> MarketMaker {
    try! MarketMaker(instrument: i, quoteQuantity: qty(quote), halfSpreadTicks: halfSpread, maxPosition: qty(max), requoteTicks: requote)
}

private func quote(_ side: Side, _ p: String, _ q: String = "1") -> StrategyAction {
    .submit(NewOrder(instrument: InstrumentID(7), side: side, type: .limit(price(p)), timeInForce: .day, quantity: qty(q)))
}

@Suite struct MarketMakerTests {
    @Test func quotesAroundTheMidOnAnOddTickGrid() {
        // mid 10.035 = 334.5 ticks; ± 2 ticks = 332.5 / 336.5 ticks → bid 332 ticks (down), ask 337 ticks (up).
        var h = Harness(maker(odd, quote: "3", halfSpread: 2), instruments: [odd])
        let actions = h.market(odd.id, bid: level("10.02"), ask: level("10.05"))
        #expect(actions == [quote(.buy, "9.96", "3"), quote(.sell, "10.11", "3")])
    }

    @Test func quotePricesRoundOutwardForNegativePrices() {
        // mid −0.975 = −32.5 ticks; ± 1 tick → bid floor(−33.5) = −34 ticks, ask ceil(−31.5) = −31 ticks.
        let p = maker(odd).quotePrices(bid: price("-0.99"), ask: price("-0.96"))
        #expect(p?.bid == price("-1.02") && p?.ask == price("-0.93"))
        // On-grid mid: exactly one tick each way.
        let q = maker(odd).quotePrices(bid: price("9.96"), ask: price("10.02"))
        #expect(q?.bid == price("9.96") && q?.ask == price("10.02"))
    }

    @Test func quotesNothingOnAOneSidedOrCrossedBook() {
        var h = Harness(maker(), instruments: [penny])
        #expect(h.market(penny.id, bid: level("10.00"), ask: nil).isEmpty)
        #expect(h.market(penny.id, bid: nil, ask: level("10.02")).isEmpty)
        #expect(h.market(penny.id, bid: nil, ask: nil, trade: level("10.01")).isEmpty)
        #expect(h.market(penny.id, bid: level("10.02"), ask: level("10.00")).isEmpty)  // crossed
        #expect(h.market(penny.id, bid: level("10.00"), ask: level("10.00")).isEmpty)  // locked
        #expect(h.market(penny.id, bid: level("10.00", "0"), ask: level("10.02")).isEmpty)  // empty level
        // With quotes resting, a one-sided book changes nothing either, and an order update after it does not requote.
        _ = h.market(penny.id, bid: level("10.00"), ask: level("10.02"))
        #expect(h.openOrders.count == 2)
        #expect(h.market(penny.id, bid: nil, ask: level("12.00")).isEmpty)
        #expect(h.ack(ClOrdID("C1")).isEmpty)
        #expect(h.log.count == 2)
    }

    @Test func ignoresOtherInstruments() {
        let other = instrument(8)
        var h = Harness(maker(), instruments: [penny, other])
        #expect(h.market(other.id, bid: level("10.00"), ask: level("10.02")).isEmpty)
    }

    @Test func keepsOneOrderPerSideWhilePending() {
        var h = Harness(maker(), instruments: [penny])
        #expect(h.market(penny.id, bid: level("10.00"), ask: level("10.02")).count == 2)
        // Still pending-new: a big move waits for the acks instead of stacking orders.
        #expect(h.market(penny.id, bid: level("10.50"), ask: level("10.52")).isEmpty)
        #expect(h.openOrders.count == 2)
        // The ack shows a stale price: now it is replaced.
        let a = h.ack(ClOrdID("C1"))
        #expect(a == [.replace(ClOrdID("C1"), quantity: qty("1"), type: .limit(price("10.50")))])
    }

    /// Two acknowledged quotes, bid 10.00 and ask 10.02, with requoteTicks 3.
    private func resting() -> Harness {
        var h = Harness(maker(requote: 3), instruments: [penny])
        _ = h.market(penny.id, bid: level("10.00"), ask: level("10.02"))
        h.ack(ClOrdID("C1"))
        h.ack(ClOrdID("C2"))
        return h
    }

    @Test func doesNotRequoteOnSmallMoves() {
        var h = resting()
        #expect(h.market(penny.id, bid: level("10.01"), ask: level("10.03")).isEmpty)  // 1 tick
        #expect(h.market(penny.id, bid: level("10.02"), ask: level("10.04")).isEmpty)  // 2 ticks
        #expect(h.market(penny.id, bid: level("9.98"), ask: level("10.00")).isEmpty)   // 2 ticks down
        #expect(h.market(penny.id, bid: level("10.00"), ask: level("10.03")).isEmpty)  // mid +half a tick: ask 10.03, 1 tick
        #expect(h.log.count == 2)
    }

    @Test func requotesOnLargeMoves() {
        var h = resting()
        #expect(h.market(penny.id, bid: level("10.02"), ask: level("10.04")).isEmpty)   // 2 ticks: stays
        let actions = h.market(penny.id, bid: level("10.03"), ask: level("10.05"))     // 3 ticks from the resting prices
        #expect(actions == [
            .replace(ClOrdID("C1"), quantity: qty("1"), type: .limit(price("10.03"))),
            .replace(ClOrdID("C2"), quantity: qty("1"), type: .limit(price("10.05"))),
        ])
        // While the replaces are pending, nothing more is sent; after acceptance, the successors rest.
        #expect(h.market(penny.id, bid: level("11.00"), ask: level("11.02")).isEmpty)
        h.replaceAccepted(ClOrdID("C1"))
        #expect(h.openOrders.map(\.clOrdID).contains(ClOrdID("C3")))
    }

    @Test func stopsBuyingAtMaxPosition() {
        var h = Harness(maker(quote: "1", max: "2"), instruments: [penny])
        _ = h.market(penny.id, bid: level("10.00"), ask: level("10.02"))
        h.ack(ClOrdID("C1"))
        h.ack(ClOrdID("C2"))
        // First bid fills: position 1, room for one more.
        #expect(h.fill(ClOrdID("C1"), qty("1"), at: price("10.00")).submits == [quote(.buy, "10.00").submitted!])
        h.ack(ClOrdID("C3"))
        // Second fill: position 2 = maxPosition: no new bid; the ask keeps resting.
        #expect(h.fill(ClOrdID("C3"), qty("1"), at: price("10.00")).isEmpty)
        #expect(h.market(penny.id, bid: level("9.00"), ask: level("9.02")).allSatisfy { if case .submit(let n) = $0 { n.side != .buy } else { true } })
        #expect(h.openOrders.allSatisfy { $0.request.side == .sell })
    }

    @Test func cancelsARestingBidWhenThePositionReachesTheLimit() {
        var m = maker(quote: "1", max: "2")
        var request = OrderRequest(clOrdID: ClOrdID("B"), account: AccountID("ACC"), instrument: penny.id, side: .buy,
                                   type: .limit(price("10.00")), timeInForce: .day, quantity: qty("1"))
        var bid = Order(request: request)
        try! bid.apply(.acknowledged)
        request.clOrdID = ClOrdID("S")
        request.side = .sell
        request.type = .limit(price("10.02"))
        var ask = Order(request: request)
        try! ask.apply(.acknowledged)
        let ctx = StrategyContext(now: .epoch, account: AccountID("ACC"), instruments: [penny.id: penny],
                                  positions: [penny.id: qty("2")], openOrders: [bid, ask])
        let update = MarketUpdate(instrument: penny.id, bestBid: level("10.00"), bestAsk: level("10.02"), at: .epoch)
        #expect(m.onMarketData(update, context: ctx) == [.cancel(ClOrdID("B"))])
    }

    @Test func shrinksTheQuoteToTheRoomLeft() {
        var m = maker(quote: "2", max: "3")
        let ctx = StrategyContext(now: .epoch, account: AccountID("ACC"), instruments: [penny.id: penny], positions: [penny.id: qty("-2")])
        let update = MarketUpdate(instrument: penny.id, bestBid: level("10.00"), bestAsk: level("10.02"), at: .epoch)
        // Short 2: buying 2 is fine, selling only 1 more keeps |position| ≤ 3.
        #expect(m.onMarketData(update, context: ctx) == [quote(.buy, "10.00", "2"), quote(.sell, "10.02", "1")])
    }

    @Test func cancelsExtraOrdersOnASide() {
        var m = maker()
        var orders: [Order] = []
        for (id, p) in [("X", "9.99"), ("Y", "10.00")] {
            var o = Order(request: OrderRequest(clOrdID: ClOrdID(id), account: AccountID("ACC"), instrument: penny.id, side: .buy,
                                                type: .limit(price(p)), timeInForce: .day, quantity: qty("1")))
            try! o.apply(.acknowledged)
            orders.append(o)
        }
        let ctx = StrategyContext(now: .epoch, account: AccountID("ACC"), instruments: [penny.id: penny], openOrders: orders)
        let update = MarketUpdate(instrument: penny.id, bestBid: level("10.00"), bestAsk: level("10.02"), at: .epoch)
        // Keeps X (the first), cancels Y; X is 1 tick from the desired 10.00 and requoteTicks is 1, so X moves.
        #expect(m.onMarketData(update, context: ctx) == [
            .cancel(ClOrdID("Y")),
            .replace(ClOrdID("X"), quantity: qty("1"), type: .limit(price("10.00"))),
            quote(.sell, "10.02"),
        ])
    }

    @Test func backsOffAfterAReject() {
        var h = Harness(maker(), instruments: [penny])
        _ = h.market(penny.id, bid: level("10.00"), ask: level("10.02"))
        let r = h.reject(ClOrdID("C1"))
        #expect(r == [.setTimer(id: MarketMaker.resumeTimerID, after: .seconds(1))])
        #expect(h.market(penny.id, bid: level("10.00"), ask: level("10.02")).isEmpty)
        // The timer ends the pause and the bid comes back.
        #expect(h.advance(by: 1_000_000_000).submits == [quote(.buy, "10.00").submitted!])
    }

    @Test func adoptsOrdersItFindsAfterAFailover() {
        // A fresh value (new leader) sees the quotes the old one left: it keeps them, sends no duplicates.
        var h = Harness(maker(), instruments: [penny])
        _ = h.market(penny.id, bid: level("10.00"), ask: level("10.02"))
        h.ack(ClOrdID("C1"))
        h.ack(ClOrdID("C2"))
        h.strategy = maker()
        #expect(h.start().isEmpty)
        #expect(h.market(penny.id, bid: level("10.00"), ask: level("10.02")).isEmpty)
        #expect(h.market(penny.id, bid: level("10.01"), ask: level("10.03")) == [
            .replace(ClOrdID("C1"), quantity: qty("1"), type: .limit(price("10.01"))),
            .replace(ClOrdID("C2"), quantity: qty("1"), type: .limit(price("10.03"))),
        ])
    }

    @Test func backsOffAfterARefusedCancel() {
        var h = Harness(maker(quote: "1", max: "1"), instruments: [penny])
        _ = h.market(penny.id, bid: level("10.00"), ask: level("10.02"))
        h.ack(ClOrdID("C1"))
        h.ack(ClOrdID("C2"))
        // Long 1 from elsewhere (say a correction): the bid has no room and is canceled.
        h.positions[penny.id] = qty("1")
        #expect(h.market(penny.id, bid: level("10.00"), ask: level("10.02")) == [.cancel(ClOrdID("C1"))])
        // The venue refuses the cancel (the order works again): pause instead of cancelling in a loop.
        #expect(h.cancelRejected(ClOrdID("C1")) == [.setTimer(id: MarketMaker.resumeTimerID, after: .seconds(1))])
        #expect(h.market(penny.id, bid: level("10.00"), ask: level("10.02")).isEmpty)
        #expect(h.advance(by: 998_000_000).isEmpty)  // 1 ms was spent on the update above
        #expect(h.advance(by: 1_000_000) == [.cancel(ClOrdID("C1"))])
    }

    @Test func backsOffAfterARefusedReplace() {
        var h = Harness(maker(quote: "1", max: "1"), instruments: [penny])
        _ = h.market(penny.id, bid: level("10.00"), ask: level("10.02"))
        h.ack(ClOrdID("C1"))
        h.ack(ClOrdID("C2"))
        h.fill(ClOrdID("C2"), qty("1"), at: price("10.02"))  // short 1 = max: no new ask
        _ = h.market(penny.id, bid: level("10.00"), ask: level("10.02"))
        // The bid is requoted, the venue refuses the replace: one pause, then the requote is tried again.
        let moved = h.market(penny.id, bid: level("10.10"), ask: level("10.12"))
        #expect(moved == [.replace(ClOrdID("C1"), quantity: qty("1"), type: .limit(price("10.10")))])
        let after = h.replaceRejected(ClOrdID("C1"))
        #expect(after == [.setTimer(id: MarketMaker.resumeTimerID, after: .seconds(1))])
        #expect(h.market(penny.id, bid: level("10.20"), ask: level("10.22")).isEmpty)
        #expect(h.advance(by: 1_000_000_000) == [.replace(ClOrdID("C1"), quantity: qty("1"), type: .limit(price("10.20")))])
    }
}
