import PropertyBased
import Testing
import TandemCore
@testable import TandemRisk

/// The engine keeps its P&L and exposure figures incrementally (``PositionBook``): after any stream
/// of orders, fills, cancels, corrections and mark changes — and when handed another copy of the
/// state — they must equal a computation from scratch (``BookFigures/fromScratch(state:marks:limits:)``).
@Suite struct PositionBookTests {
    /// A futures contract in another currency, with a multiplier (other totals, other rounding).
    static let fut = Instrument(id: InstrumentID(5_000), symbol: "FUT", venue: "SIM", tickSize: Price(units: 1_000_000),
                                lotSize: Quantity(units: 100_000_000), multiplier: try! Ratio(50), currency: .eur)
    static let instruments = [abc, xyz, fut]
    static let accounts = [acct, AccountID("B"), AccountID("C-long-account-name-beyond-small-strings")]

    static func limits() -> RiskLimits {
        var l = RiskLimits()
        l.perTradeLossLimit = amt("300")
        l.instruments = [InstrumentLimits(instrument: xyz.id, perTradeLossLimit: amt("50"))]
        l.maxGrossExposure = amt("60000")
        l.maxNetExposure = amt("20000")
        l.maxPosition = qty("100000")
        l.maxOrderQuantity = qty("100000")
        l.maxOrderNotional = amt("100000000")
        l.maxOpenOrders = 100_000
        l.maxOrdersPerWindow = 1_000_000
        l.maxMessagesPerWindow = 1_000_000
        l.staleMarkAfterMs = 0
        l.pnlSigmaLimit = 0
        l.maxDailyLoss = amt("1000000000")
        l.maxDrawdown = amt("1000000000")
        return l
    }

    /// One step: (action 0–11, account, instrument, lots 1–40, price offset in ticks −2000…2000).
    static let steps = zip(Gen.int(in: 0...11), Gen.int(in: 0...2), Gen.int(in: 0...2), Gen.int64(in: 1...40), Gen.int64(in: -2_000...2_000))
        .array(of: 1...120)

    /// Applies a stream to a state (and a second copy that diverges from it), calling `after` with
    /// the state the engine is handed and the marks after every step.
    static func run(_ steps: [(Int, Int, Int, Int64, Int64)], after: (borrowing TradingState, [InstrumentID: Price]) -> Void) throws {
        var state = TradingState()
        for i in instruments { try state.apply(.instrumentDefined(i, at: t(0))) }
        var other = state
        var marks: [InstrumentID: Price] = [abc.id: px("100"), fut.id: px("100")]
        var open: [ClOrdID] = []
        var n = 0
        for (action, a, k, lots, offset) in steps {
            let instrument = instruments[k], account = accounts[a]
            let price = Price(units: 100_00_000_000 + offset * 1_000_000)
            switch action {
            case 0, 1, 2:  // a new order resting; action 0 fills it at once
                n += 1
                let id = ClOrdID("O\(n)")
                let r = OrderRequest(clOrdID: id, account: account, instrument: instrument.id, side: offset % 2 == 0 ? .buy : .sell,
                                     type: .limit(price), timeInForce: .day, quantity: Quantity(units: lots * 100_000_000))
                try state.apply(.orderIntent(OrderIntent(request: r, decision: .accepted, at: t(0))))
                try state.apply(.orderAcknowledged(clOrdID: id, venueOrderID: "V\(n)", at: t(0)))
                if action == 0 {
                    try state.apply(.fill(Execution(clOrdID: id, execID: "E\(n)", quantity: r.quantity, price: price,
                                                    fee: Money(units: lots * 1_000_000, currency: instrument.currency), at: t(0))))
                } else {
                    open.append(id)
                }
            case 3, 4:  // a partial or full fill of an open order, at the step's price
                guard !open.isEmpty else { break }
                let id = open[Int(lots) % open.count]
                guard let o = state.order(id), !o.status.isFinal else { open.removeAll { $0 == id }; break }
                let q = Swift.max(1, o.leavesQuantity.units / 100_000_000 * (offset.magnitude % 2 == 0 ? 1 : 2) / 2)
                n += 1
                let currency = state.instruments[o.request.instrument]?.currency ?? .usd
                let e = Execution(clOrdID: id, execID: "E\(n)", quantity: Quantity(units: q * 100_000_000), price: price, fee: .zero(currency), at: t(0))
                try state.apply(q * 100_000_000 == o.leavesQuantity.units ? .fill(e) : .partialFill(e))
            case 5:  // cancel
                guard let id = open.popLast(), state.order(id)?.status.isFinal == false else { break }
                try state.apply(.cancelRequested(clOrdID: id, at: t(0)))
                try state.apply(.cancelAccepted(clOrdID: id, at: t(0)))
            case 6, 7:  // a mark moves
                marks[instrument.id] = price
            case 8:  // a mark disappears, or an absurd one (positions cannot be valued at it)
                if offset > 1_500 { marks[instrument.id] = Price(units: .max / 2) } else { marks[instrument.id] = nil }
            case 9:  // a reconciliation sets a position outright (flat sometimes)
                let target = offset % 3 == 0 ? Int64(0) : (offset < 0 ? -lots : lots)
                try state.apply(.reconciliationCorrection(ReconciliationCorrection(
                    account: account, instrument: instrument.id, quantity: Quantity(units: target * 100_000_000), price: price, reason: "test", at: t(0))))
            case 10:  // keep a copy that will diverge
                other = state
            default:  // hand the engine the other copy from now on (its own, different history)
                swap(&state, &other)
                open = open.filter { state.order($0)?.status.isFinal == false }
            }
            after(state, marks)
        }
    }

    @Test func incrementalFiguresEqualAComputationFromScratch() async {
        let limits = Self.limits()
        await propertyCheck(count: 300, input: Self.steps) { steps in
            var book = PositionBook()
            do {
                try Self.run(steps) { state, marks in
                    book.sync(state: state, marks: marks, limits: limits)
                    let expected = BookFigures.fromScratch(state: state, marks: marks, limits: limits)
                    #expect(book.figures == expected)
                }
            } catch {
                Issue.record("fold: \(error)")
            }
        }
    }

    /// A long-lived engine (figures kept across steps) decides every probe as a new engine does,
    /// whose figures are computed from nothing: the exposure rules see the same totals.
    @Test func aLongLivedEngineDecidesAsANewOne() async {
        var limits = Self.limits()
        limits.perTradeLossAction = .report  // a restriction would outlive the loss in the kept engine only
        await propertyCheck(count: 150, input: Self.steps) { steps in
            var engine = RiskEngine(limits: limits)
            var step = 0
            do {
                try Self.run(steps) { state, marks in
                    step += 1
                    var fresh = RiskEngine(limits: limits)
                    // The day's history (start, peak) is the kept engine's alone: start its day over
                    // so no loss rule moves its mode; its position figures are kept.
                    _ = engine.handle(.dayRolled(startOfDayPnL: nil, at: t(Int64(step))))
                    for (i, instrument) in Self.instruments.enumerated() {
                        for side in [Side.buy, .sell] {
                            let r = OrderRequest(clOrdID: ClOrdID("probe"), account: Self.accounts[i], instrument: instrument.id, side: side,
                                                 type: .market, timeInForce: .day, quantity: qty("\(1 + step % 30)"))
                            let (kept, _) = engine.check(r, state: state, marks: marks, now: t(Int64(step)))
                            let (new, _) = fresh.check(r, state: state, marks: marks, now: t(Int64(step)))
                            #expect(kept == new, "step \(step): \(r.side) \(r.quantity) \(instrument.symbol)")
                            // Both halt on a position that cannot be valued; go on deciding.
                            engine.restore(mode: .active)
                            fresh.restore(mode: .active)
                        }
                    }
                }
            } catch {
                Issue.record("fold: \(error)")
            }
        }
    }

    /// Handing the engine two copies of one state that diverged (same event count, different fills)
    /// never reuses one copy's figures for the other.
    @Test func divergedCopiesAreNotConfused() throws {
        var a = try Book()
        try a.fill(.buy, "10", at: "100")
        var b = a
        try a.fill(.buy, "5", at: "100")
        try b.fill(.sell, "5", at: "100")
        #expect(a.state.eventCount == b.state.eventCount)
        #expect(a.state.positionRevision != b.state.positionRevision)
        let limits = Self.limits()
        let marks = [abc.id: px("110")]
        var book = PositionBook()
        for state in [a.state, b.state, a.state, b.state] {
            book.sync(state: state, marks: marks, limits: limits)
            #expect(book.figures == BookFigures.fromScratch(state: state, marks: marks, limits: limits))
        }
        let pnl = book.figures.totals.first.flatMap { Int64(exactly: $0.pnl) }
        #expect(pnl == 5_000_000_000)  // b: long 5 bought at 100, marked at 110: +50
    }
}
