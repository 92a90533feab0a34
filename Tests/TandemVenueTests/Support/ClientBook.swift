import TandemCore
import TandemVenue

/// A market-data client's book, rebuilt only from ``BookUpdate``s: what the feed will do. It checks
/// each update against itself (sequence, level totals, and that every execution takes the head of
/// the best level — price-time priority seen from outside).
struct ClientBook {
    let instrument: InstrumentID
    var sequence: UInt64 = 0
    /// Price units → queue of (order, open quantity), per side.
    var bids: [Int64: [(id: OrderID, quantity: Int64)]] = [:]
    var asks: [Int64: [(id: OrderID, quantity: Int64)]] = [:]
    var location: [OrderID: (buy: Bool, price: Int64)] = [:]

    init(instrument: InstrumentID) { self.instrument = instrument }

    /// Starts from a snapshot, as a late-joining client does.
    init(_ snapshot: BookSnapshot) {
        instrument = snapshot.instrument
        sequence = snapshot.sequence
        for (levels, buy) in [(snapshot.bids, true), (snapshot.asks, false)] {
            for l in levels {
                let queue = l.orders.map { (id: $0.orderID, quantity: $0.quantity.units) }
                if buy { bids[l.price.units] = queue } else { asks[l.price.units] = queue }
                for o in l.orders { location[o.orderID] = (buy, l.price.units) }
            }
        }
    }

    var bestBid: Int64? { bids.keys.max() }
    var bestAsk: Int64? { asks.keys.min() }

    func levelTotals(buy: Bool, price: Int64) -> (Int64, Int32) {
        let q = (buy ? bids : asks)[price] ?? []
        return (q.reduce(0) { $0 + $1.quantity }, Int32(q.count))
    }

    /// Applies one update; returns a description of the first inconsistency, if any.
    mutating func apply(_ u: BookUpdate) -> String? {
        guard u.instrument == instrument else { return nil }
        guard u.sequence == sequence + 1 else { return "book sequence \(u.sequence) after \(sequence)" }
        sequence = u.sequence
        let buy = u.side == .buy
        let price = u.price.units
        func withQueue(_ body: (inout [(id: OrderID, quantity: Int64)]) -> String?) -> String? {
            var q = (buy ? bids : asks)[price] ?? []
            let r = body(&q)
            if buy { bids[price] = q.isEmpty ? nil : q } else { asks[price] = q.isEmpty ? nil : q }
            return r
        }
        var problem: String?
        switch u.change {
        case .added(let id, let quantity):
            if location[id] != nil { return "\(id) added twice" }
            if quantity.units <= 0 { return "\(id) added with \(quantity)" }
            location[id] = (buy, price)
            problem = withQueue { $0.append((id, quantity.units)); return nil }
        case .modified(let id, let quantity):
            guard let at = location[id], at == (buy, price) else { return "\(id) modified but not at \(u.side) \(u.price)" }
            problem = withQueue { q in
                guard let i = q.firstIndex(where: { $0.id == id }) else { return "\(id) missing" }
                // Keeping the queue position is only allowed for a reduction.
                guard quantity.units > 0, quantity.units < q[i].quantity else { return "\(id) modified in place from \(q[i].quantity) to \(quantity)" }
                q[i].quantity = quantity.units
                return nil
            }
        case .deleted(let id):
            guard let at = location[id], at == (buy, price) else { return "\(id) deleted but not at \(u.side) \(u.price)" }
            location[id] = nil
            problem = withQueue { q in
                guard let i = q.firstIndex(where: { $0.id == id }) else { return "\(id) missing" }
                q.remove(at: i)
                return nil
            }
        case .executed(let id, let quantity, let remaining, _, let aggressor):
            guard let at = location[id], at == (buy, price) else { return "\(id) executed but not at \(u.side) \(u.price)" }
            if (aggressor == .buy) == buy { return "\(id) executed by an aggressor on its own side" }
            // Price-time priority: only the best level's first order can trade.
            if price != (buy ? bestBid : bestAsk) { return "\(id) executed at \(u.price) while a better level rests" }
            problem = withQueue { q in
                guard q.first?.id == id else { return "\(id) executed while \(q.first.map { "\($0.id)" } ?? "nothing") is ahead of it" }
                if q[0].quantity - quantity.units != remaining.units { return "\(id) remaining \(remaining) ≠ \(q[0].quantity) − \(quantity)" }
                if quantity.units <= 0 || remaining.units < 0 { return "\(id) executed \(quantity), remaining \(remaining)" }
                if remaining.units == 0 { q.removeFirst() } else { q[0].quantity = remaining.units }
                return nil
            }
            if remaining.units == 0 { location[id] = nil }
        }
        if let problem { return problem }
        let (q, n) = levelTotals(buy: buy, price: price)
        if q != u.levelQuantity.units || n != u.levelOrderCount {
            return "level \(u.side) \(u.price) totals \(u.levelQuantity)/\(u.levelOrderCount), client has \(q)/\(n)"
        }
        return nil
    }

    /// The client's book in snapshot form, for comparison with the engine's.
    func snapshot(lastTradePrice: Price?) -> BookSnapshot {
        func levels(_ side: [Int64: [(id: OrderID, quantity: Int64)]], descending: Bool) -> [DepthLevel] {
            side.keys.sorted(by: descending ? (>) : (<)).map { p in
                let q = side[p]!
                return DepthLevel(price: Price(units: p), quantity: Quantity(units: q.reduce(0) { $0 + $1.quantity }),
                                  orders: q.map { RestingOrder(orderID: $0.id, quantity: Quantity(units: $0.quantity)) })
            }
        }
        return BookSnapshot(instrument: instrument, sequence: sequence, lastTradePrice: lastTradePrice,
                            bids: levels(bids, descending: true), asks: levels(asks, descending: false))
    }
}
