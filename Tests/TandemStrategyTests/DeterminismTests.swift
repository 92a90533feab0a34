import Testing
import TandemCore
@testable import TandemStrategy

private let xyz = instrument(7, tick: "0.05", lot: "10")

extension Harness {
    /// A crude venue for long runs: after each update it acks new orders, fills IOCs against the
    /// touch (cancelling the rest), fills resting limits the trade price reaches, and accepts every
    /// cancel and replace. Deterministic: it walks the open orders in journal order.
    mutating func venueStep(bid: PriceLevel?, ask: PriceLevel?, trade: PriceLevel?) {
        for id in openOrders.map(\.clOrdID) {
            guard let o = order(id), !o.status.isFinal else { continue }
            switch o.status {
            case .pendingNew: ack(id)
            case .pendingCancel: cancelled(id); continue
            case .pendingReplace: replaceAccepted(id); continue
            default: break
            }
            guard let o = order(id), !o.status.isFinal, let limit = o.request.type.limitPrice else { continue }
            let buying = o.request.side == .buy
            if o.request.timeInForce == .immediateOrCancel {
                if let touch = buying ? ask : bid, buying ? limit >= touch.price : limit <= touch.price {
                    fill(id, min(o.leavesQuantity, touch.quantity), at: touch.price)
                }
                if let o = order(id), !o.status.isFinal { cancelled(id) }
            } else if let t = trade, buying ? t.price <= limit : t.price >= limit {
                fill(id, min(o.leavesQuantity, t.quantity), at: limit)
            }
        }
    }
}

/// A seeded random walk in ticks, with one-sided books and trades now and then.
private func run(
    _ strategy: any Strategy, seed: UInt64, steps: Int, echo: Bool = false, check: (Harness) -> Bool = { _ in true }
) -> (Harness, violations: Int) {
    var rng = SplitMix64(seed: seed)
    var h = Harness(strategy, instruments: [xyz])
    h.echoOwnActions = echo
    h.start()
    var violations = 0
    var mid: Int64 = 2_000  // ticks of 0.05: 100.00
    for _ in 0..<steps {
        mid += Int64(rng.below(3)) - 1
        let half = Int64(rng.below(3)) + 1
        let tick = xyz.tickSize.units
        let size = Quantity(units: Int64(rng.below(5) + 1) * xyz.lotSize.units)
        let bid: PriceLevel? = rng.below(20) == 0 ? nil : PriceLevel(price: Price(units: (mid - half) * tick), quantity: size)
        let ask: PriceLevel? = rng.below(20) == 0 ? nil : PriceLevel(price: Price(units: (mid + half) * tick), quantity: size)
        let trade: PriceLevel? = rng.below(2) == 0 ? nil : (rng.below(2) == 0 ? bid : ask)
        h.market(xyz.id, bid: bid, ask: ask, trade: trade)
        if !check(h) { violations += 1 }
        h.venueStep(bid: bid, ask: ask, trade: trade)
        if !check(h) { violations += 1 }
        if rng.below(50) == 0 { h.advance(by: 2_000_000_000) }
    }
    return (h, violations)
}

@Suite struct DeterminismTests {
    static let configs: [(String, [String: String])] = [
        ("market-maker", ["instrument": "7", "quoteQuantity": "20", "maxPosition": "60", "halfSpreadTicks": "1", "requoteTicks": "2"]),
        ("ma-crossover", ["instrument": "7", "positionSize": "30", "fast": "3", "slow": "8"]),
        ("ma-crossover", ["instrument": "7", "positionSize": "30", "fast": "4", "slow": "9", "source": "mid", "allowShort": "false", "slippageTicks": "1"]),
    ]

    @Test(arguments: 0..<configs.count, [false, true])
    func sameInputsGiveTheSameActions(config: Int, echo: Bool) throws {
        let (name, parameters) = Self.configs[config]
        let instruments = [xyz.id: xyz]
        let (a, _) = run(try StrategyCatalog.make(name: name, parameters: parameters, instruments: instruments), seed: 42, steps: 1_500, echo: echo)
        let (b, _) = run(try StrategyCatalog.make(name: name, parameters: parameters, instruments: instruments), seed: 42, steps: 1_500, echo: echo)
        #expect(a.log.count > 20, "the run should trade")
        #expect(a.log == b.log)
        #expect(a.orders == b.orders)
        #expect(a.positions == b.positions)
    }

    /// With and without order updates for the strategy's own requests: either engine behaviour is safe.
    @Test(arguments: [false, true])
    func marketMakerInvariantsOnARandomWalk(echo: Bool) throws {
        let m = try StrategyCatalog.make(
            name: "market-maker", parameters: Self.configs[0].1, instruments: [xyz.id: xyz])
        let (h, violations) = run(m, seed: 7, steps: 1_500, echo: echo) { h in
            let open = h.openOrders
            return open.filter { $0.request.side == .buy }.count <= 1
                && open.filter { $0.request.side != .buy }.count <= 1
                && (h.positions[xyz.id] ?? .zero).units.magnitude <= qty("60").units.magnitude
        }
        #expect(violations == 0)
        #expect(h.orders.contains { $0.filledQuantity.units > 0 })
    }

    @Test(arguments: [false, true])
    func crossoverInvariantsOnARandomWalk(echo: Bool) throws {
        let s = try StrategyCatalog.make(name: "ma-crossover", parameters: Self.configs[2].1, instruments: [xyz.id: xyz])
        let (h, violations) = run(s, seed: 9, steps: 1_500, echo: echo) { h in
            let p = h.positions[xyz.id] ?? .zero
            return h.openOrders.count <= 1 && p >= .zero && p <= qty("30")  // allowShort=false: never short
        }
        #expect(violations == 0)
        #expect(h.orders.contains { $0.request.side == .sell && $0.filledQuantity.units > 0 })
    }
}
