import PropertyBased
import Testing
import TandemCore
@testable import TandemRisk

/// Random order streams through the engine into the fold: accepted orders rest, fill (fully or
/// partly) or are cancelled later, in any interleaving.
@Suite struct PropertyTests {
    func limits() -> RiskLimits {
        var l = RiskLimits()
        l.maxOrderQuantity = qty("100")
        l.maxOrderNotional = amt("1000000")
        l.maxPosition = qty("200")
        l.maxOpenOrders = 10_000
        l.maxOrdersPerWindow = 1_000_000
        l.maxMessagesPerWindow = 1_000_000
        l.staleMarkAfterMs = 0
        l.pnlSigmaLimit = 0
        l.perTradeLossLimit = amt("1000000000")
        l.maxDailyLoss = amt("1000000000")
        l.maxDrawdown = amt("1000000000")
        return l
    }

    /// One step: (side draw 0–9, quantity in lots, action 0–5, limit offset in ticks, fill fraction
    /// 1–4 quarters). A step buys when its side draw is below the stream's bias (0–10), so some
    /// streams drift hard to one side and pile up resting orders against the limit.
    static let steps = zip(Gen.int(in: 0...9), Gen.int64(in: 1...120), Gen.int(in: 0...5), Gen.int64(in: -300...300), Gen.int64(in: 1...4))
        .array(of: 1...80)
    static let biasedSteps = zip(Gen.int(in: 0...10), steps)

    /// Runs a stream; calls `after(before, after)` with the net position around every step.
    func run(_ steps: [(Int, Int64, Int, Int64, Int64)], bias: Int, engine: inout RiskEngine, book: inout Book,
             after check: (Quantity, Quantity) -> Void) throws {
        var open: [ClOrdID] = []
        var n = 0
        for (draw, lots, action, offset, quarters) in steps {
            let buy = draw < bias
            let before = book.net
            switch action {
            case 0, 1, 2:   // a new order: market or limit around the mark; action 0 fills at once
                n += 1
                let id = ClOrdID("P\(n)")
                let type: OrderType = action == 2 ? .market : .limit(Price(units: 10_000_000_000 + offset * 1_000_000))
                let r = OrderRequest(clOrdID: id, account: acct, instrument: abc.id, side: buy ? .buy : .sell,
                                     type: type, timeInForce: .day, quantity: Quantity(units: lots * 100_000_000))
                let (d, _) = engine.check(r, state: book.state, marks: mark100, now: t(Int64(n)))
                try book.state.apply(.orderIntent(OrderIntent(request: r, decision: d, at: t(Int64(n)))))
                guard d == .accepted else { break }
                try book.state.apply(.orderAcknowledged(clOrdID: id, venueOrderID: "V\(n)", at: t(Int64(n))))
                if action == 0 { try book.fillOpen(id, r.quantity, at: px("100")) } else { open.append(id) }
            case 3, 4:      // a fill of the oldest open order, a quarter to all of it
                guard let id = open.first, let o = book.state.order(id) else { break }
                let leaves = o.leavesQuantity.units / 100_000_000
                let part = Swift.max(1, leaves * quarters / 4)
                try book.fillOpen(id, Quantity(units: part * 100_000_000), at: px("100"))
                if book.state.order(id)?.status.isFinal == true { open.removeFirst() }
            default:        // cancel the newest open order
                guard let id = open.popLast() else { break }
                try book.state.apply(.cancelRequested(clOrdID: id, at: t(0)))
                try book.state.apply(.cancelAccepted(clOrdID: id, at: t(0)))
            }
            check(before, book.net)
        }
    }

    @Test func acceptedOrdersNeverTakeAPositionBeyondItsLimit() async {
        await propertyCheck(count: 300, input: Self.biasedSteps) { bias, steps in
            var engine = RiskEngine(limits: limits())
            guard var book = try? Book() else { Issue.record("book"); return }
            do {
                try run(steps, bias: bias, engine: &engine, book: &book) { _, after in
                    #expect(abs(after.units) <= qty("200").units, "net \(after)")
                }
            } catch {
                Issue.record("fold: \(error)")
            }
        }
    }

    @Test func inHaltedThePositionNeverGrows() async {
        let input = zip(Gen.int64(in: -300...300), Self.biasedSteps)
        await propertyCheck(count: 300, input: input) { start, biased in
            let (bias, steps) = biased
            var engine = RiskEngine(limits: limits(), mode: .halted)
            guard var book = try? Book() else { Issue.record("book"); return }
            do {
                if start != 0 { try book.fill(start > 0 ? .buy : .sell, "\(abs(start))", at: "100") }
                try run(steps, bias: bias, engine: &engine, book: &book) { before, after in
                    #expect(abs(after.units) <= abs(before.units), "net \(before) → \(after)")
                    #expect(after.units == 0 || before.units == 0 || after.signum == before.signum, "crossed zero: \(before) → \(after)")
                }
            } catch {
                Issue.record("fold: \(error)")
            }
            #expect(engine.mode == .halted)
        }
    }
}
