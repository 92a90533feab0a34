import Testing
import TandemCore
@testable import TandemStrategy

private let penny = instrument(7, tick: "0.01", lot: "1")
private let odd = instrument(7, tick: "0.03", lot: "5")

private func crossover(
    _ i: Instrument = penny, fast: Int = 2, slow: Int = 4, size: String = "10", source: MovingAverageCrossover.Source = .trade,
    allowShort: Bool = true, slippage: Int64 = 0
) -> MovingAverageCrossover {
    try! MovingAverageCrossover(instrument: i, fast: fast, slow: slow, positionSize: qty(size), source: source,
                                allowShort: allowShort, slippageTicks: slippage)
}

private func ioc(_ side: Side, _ p: String, _ q: String) -> NewOrder {
    NewOrder(instrument: InstrumentID(7), side: side, type: .limit(price(p)), timeInForce: .immediateOrCancel, quantity: qty(q))
}

extension Harness {
    /// A trade at `p` with the book one tick around it (bid p − 0.01, ask p + 0.01).
    @discardableResult
    mutating func trade(_ p: String) -> [StrategyAction] {
        let t = price(p)
        let tick = price("0.01")
        return market(InstrumentID(7), bid: PriceLevel(price: t - tick, quantity: qty("100")),
                      ask: PriceLevel(price: t + tick, quantity: qty("100")), trade: PriceLevel(price: t, quantity: qty("1")))
    }
}

@Suite struct MovingAverageCrossoverTests {
    @Test func nothingBeforeSlowSamples() {
        var h = Harness(crossover(fast: 2, slow: 4), instruments: [penny])
        // Three samples that would be a cross for shorter windows; no trade (no target) yet.
        for p in ["10.00", "9.00", "12.00"] { #expect(h.trade(p).isEmpty) }
        // Book updates without a trade are no samples.
        for _ in 0..<5 { #expect(h.market(penny.id, bid: level("20.00"), ask: level("20.02")).isEmpty) }
        guard case let s as MovingAverageCrossover = h.strategy else { Issue.record("type"); return }
        #expect(s.sampleCount == 3 && s.target == nil && s.slowAverage == nil)
        #expect(s.fastAverage == price("10.5"))
    }

    @Test func theFirstFullWindowSetsNoTarget() {
        var h = Harness(crossover(fast: 2, slow: 4), instruments: [penny])
        // fast > slow already at the 4th sample: a state, not a cross.
        for p in ["10.00", "10.00", "11.00", "12.00"] { #expect(h.trade(p).isEmpty) }
        #expect(h.trade("13.00").isEmpty)
    }

    @Test func buysOnAnUpCross() {
        var h = Harness(crossover(fast: 2, slow: 4, slippage: 2), instruments: [penny])
        for p in ["10.00", "10.00", "10.00", "10.00"] { #expect(h.trade(p).isEmpty) }  // fast = slow
        // fast (10 + 11)/2 = 10.5 > slow 41/4 = 10.25: up-cross; buy 10 at the ask 11.01 + 2 ticks.
        #expect(h.trade("11.00") == [.submit(ioc(.buy, "11.03", "10"))])
    }

    @Test func sellsOnADownCrossAndFlipsShort() {
        var h = Harness(crossover(fast: 2, slow: 4), instruments: [penny])
        for p in ["10.00", "10.00", "10.00", "10.00", "11.00"] { h.trade(p) }
        h.fill(ClOrdID("C1"), qty("10"), at: price("11.01"))
        // Long 10 at target: nothing more while the trend holds.
        #expect(h.trade("11.50").isEmpty)
        #expect(h.trade("10.00").isEmpty)  // fast 10.75, slow 10.625: still above
        // fast (10 + 9)/2 = 9.5 < slow 41.5/4: down-cross, target −10: sell 20 at the bid.
        #expect(h.trade("9.00") == [.submit(ioc(.sell, "8.99", "20"))])
    }

    @Test func respectsAllowShort() {
        var h = Harness(crossover(fast: 2, slow: 4, allowShort: false), instruments: [penny])
        for p in ["10.00", "10.00", "10.00", "10.00"] { h.trade(p) }
        // A down-cross from flat: target 0, so nothing to sell.
        #expect(h.trade("9.00").isEmpty)
        #expect(h.trade("8.00").isEmpty)
        // Up-cross: buy 10; then a down-cross only flattens.
        for p in ["12.00", "13.00"] { h.trade(p) }
        #expect(h.log.submits == [ioc(.buy, "12.01", "10")])
        h.fill(ClOrdID("C1"), qty("10"), at: price("12.01"))
        for p in ["13.00", "5.00"] { h.trade(p) }
        #expect(h.log.submits == [ioc(.buy, "12.01", "10"), ioc(.sell, "4.99", "10")])
        h.fill(ClOrdID("C2"), qty("10"), at: price("4.99"))
        #expect(h.positions[penny.id] == .zero)
        #expect(h.trade("4.00").isEmpty)
    }

    @Test func neverTwoWorkingOrders() {
        var h = Harness(crossover(fast: 2, slow: 4), instruments: [penny])
        for p in ["10.00", "10.00", "10.00", "10.00", "11.00"] { h.trade(p) }
        #expect(h.openOrders.count == 1)
        // Pending new, then acknowledged: no second order however the market moves.
        #expect(h.trade("11.50").isEmpty)
        h.ack(ClOrdID("C1"))
        #expect(h.trade("12.00").isEmpty)
        // A partial fill and the IOC remainder canceled: the rest goes at the next update's price.
        h.fill(ClOrdID("C1"), qty("4"), at: price("11.01"))
        #expect(h.trade("12.50").isEmpty)  // still working
        #expect(h.cancelled(ClOrdID("C1")).isEmpty)  // acts on market data only
        #expect(h.trade("13.00") == [.submit(ioc(.buy, "13.01", "6"))])
        #expect(h.trade("13.00").isEmpty)
        #expect(h.openOrders.count == 1)
    }

    @Test func waitsForAnyOpenOrderInTheInstrument() {
        var s = crossover(fast: 2, slow: 4)
        let other = Order(request: OrderRequest(clOrdID: ClOrdID("M"), account: AccountID("ACC"), instrument: penny.id, side: .sell,
                                                type: .limit(price("50")), timeInForce: .goodTillCancel, quantity: qty("1")))
        var ctx = StrategyContext(now: .epoch, account: AccountID("ACC"), instruments: [penny.id: penny])
        var out: [StrategyAction] = []
        for (i, p) in ["10", "10", "10", "10", "11"].enumerated() {
            if i == 4 { ctx.openOrders = [other] }
            out += s.onMarketData(MarketUpdate(instrument: penny.id, bestBid: level("9"), bestAsk: level(p), lastTrade: level(p), at: .epoch), context: ctx)
        }
        #expect(out.isEmpty && s.target == qty("10"))
    }

    @Test func midSourceAveragesMidsAndIgnoresTrades() {
        var h = Harness(crossover(fast: 2, slow: 4, source: .mid), instruments: [penny])
        // Trades alone are no samples for the mid source.
        for _ in 0..<5 { #expect(h.market(penny.id, bid: nil, ask: nil, trade: level("50.00")).isEmpty) }
        // Mids 10.005 (half a tick, kept exactly) ×4, then 9.005: down-cross, short 10 at the bid.
        for _ in 0..<4 { #expect(h.market(penny.id, bid: level("10.00"), ask: level("10.01")).isEmpty) }
        guard case let s as MovingAverageCrossover = h.strategy else { Issue.record("type"); return }
        #expect(s.sampleCount == 4 && s.slowAverage == price("10.005"))
        #expect(h.market(penny.id, bid: level("9.00"), ask: level("9.01")) == [.submit(ioc(.sell, "9.00", "10"))])
    }

    @Test func slippageRoundsTowardMarketableOnAnOddGrid() {
        // Far touch off the 0.03 grid: buy rounds up, sell rounds down; quantity in whole lots of 5.
        var h = Harness(crossover(odd, fast: 2, slow: 4, size: "10", slippage: 1), instruments: [odd])
        for _ in 0..<4 { h.market(odd.id, bid: level("9.99"), ask: level("10.04"), trade: level("10.00")) }
        // 11.05 + 0.03 = 11.08 = 369.33 ticks → 370 ticks = 11.10.
        #expect(h.market(odd.id, bid: level("10.99"), ask: level("11.05"), trade: level("11.00"))
            == [.submit(NewOrder(instrument: odd.id, side: .buy, type: .limit(price("11.10")), timeInForce: .immediateOrCancel, quantity: qty("10")))])
        // A fill of 7 leaves 3 to go: under one lot, so nothing more.
        h.fill(ClOrdID("C1"), qty("7"), at: price("11.05"))
        h.cancelled(ClOrdID("C1"))
        #expect(h.market(odd.id, bid: level("10.99"), ask: level("11.04"), trade: level("11.00")).isEmpty)
        // Down-cross: from 7 to −10 is 17 → 15 (whole lots), at bid 8.00 − 0.03 = 7.97 → 7.95 (down to the grid).
        for p in ["8.00", "7.00"] { h.market(odd.id, bid: level("8.00"), ask: level("8.05"), trade: level(p)) }
        #expect(h.log.submits.last == NewOrder(instrument: odd.id, side: .sell, type: .limit(price("7.95")), timeInForce: .immediateOrCancel, quantity: qty("15")))
    }

    @Test func backsOffAfterAReject() {
        var h = Harness(crossover(fast: 2, slow: 4), instruments: [penny])
        for p in ["10.00", "10.00", "10.00", "10.00", "11.00"] { h.trade(p) }
        #expect(h.reject(ClOrdID("C1")).isEmpty)
        #expect(h.trade("11.00").isEmpty)  // paused (1 s)
        h.advance(by: 1_000_000_000)
        #expect(h.trade("11.00").submits.count == 1)
    }
}
