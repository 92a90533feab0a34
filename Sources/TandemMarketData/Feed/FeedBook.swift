import TandemCore

/// An order-level book for every instrument of a feed, built only from feed messages: what a
/// feed client sees, and (on the venue side) what a snapshot is taken from.
public struct FeedBook: Sendable, Equatable {
    public struct RestingOrder: Sendable, Hashable {
        public var instrument: InstrumentID
        public var side: Side
        public var price: Price
        public var quantity: Quantity
        /// Arrival order within the book, so a snapshot lists orders in time priority.
        public var arrival: UInt64
    }

    public struct Level: Sendable, Hashable {
        public var price: Price
        public var quantity: Quantity
        public var orders: Int
    }

    public struct Depth: Sendable, Hashable {
        /// Best first.
        public var bids: [Level]
        public var asks: [Level]
    }

    public private(set) var orders: [UInt64: RestingOrder] = [:]
    public private(set) var lastTrade: [InstrumentID: (price: Price, quantity: Quantity)] = [:]
    private var arrivals: UInt64 = 0

    public init() {}

    public static func == (lhs: FeedBook, rhs: FeedBook) -> Bool {
        lhs.orders.mapValues { [$0.side.rawValue: [$0.price.units, $0.quantity.units]] }
            == rhs.orders.mapValues { [$0.side.rawValue: [$0.price.units, $0.quantity.units]] }
    }

    public enum ApplyError: Error, Sendable, Hashable {
        case duplicateOrder(UInt64)
        case unknownOrder(UInt64)
    }

    /// Applies one message. An add for a live id, or a modify/delete of an unknown id, means this
    /// book and the venue's disagree: the caller must recover (snapshot).
    public mutating func apply(_ m: FeedMessage) throws(ApplyError) {
        switch m.kind {
        case .addOrder:
            guard orders[m.orderID] == nil else { throw .duplicateOrder(m.orderID) }
            arrivals += 1
            orders[m.orderID] = RestingOrder(instrument: m.instrument, side: m.side, price: m.price, quantity: m.quantity, arrival: arrivals)
        case .modifyOrder:
            guard orders[m.orderID] != nil else { throw .unknownOrder(m.orderID) }
            if m.quantity.units == 0 {
                orders[m.orderID] = nil
            } else {
                orders[m.orderID]!.quantity = m.quantity
                if orders[m.orderID]!.price != m.price {
                    // A price change loses time priority.
                    arrivals += 1
                    orders[m.orderID]!.price = m.price
                    orders[m.orderID]!.arrival = arrivals
                }
            }
        case .deleteOrder:
            guard orders.removeValue(forKey: m.orderID) != nil else { throw .unknownOrder(m.orderID) }
        case .trade:
            lastTrade[m.instrument] = (m.price, m.quantity)
        case .clearBook:
            orders = orders.filter { $0.value.instrument != m.instrument }
        }
    }

    /// Aggregated price levels, best first, at most `levels` per side.
    public func depth(_ instrument: InstrumentID, levels: Int = .max) -> Depth {
        var bids: [Int64: Level] = [:]
        var asks: [Int64: Level] = [:]
        for o in orders.values where o.instrument == instrument {
            if o.side == .buy {
                bids[o.price.units, default: Level(price: o.price, quantity: .zero, orders: 0)].add(o.quantity)
            } else {
                asks[o.price.units, default: Level(price: o.price, quantity: .zero, orders: 0)].add(o.quantity)
            }
        }
        return Depth(bids: Array(bids.values.sorted { $0.price > $1.price }.prefix(levels)),
                     asks: Array(asks.values.sorted { $0.price < $1.price }.prefix(levels)))
    }

    public func topOfBook(_ instrument: InstrumentID) -> (bid: Level?, ask: Level?) {
        let d = depth(instrument, levels: 1)
        return (d.bids.first, d.asks.first)
    }

    /// The mid of the best bid and ask (rounded toward zero to a price unit); nil unless both sides quote.
    public func mid(_ instrument: InstrumentID) -> Price? {
        let top = topOfBook(instrument)
        guard let bid = top.bid, let ask = top.ask else { return nil }
        return Price(units: Int64((Int128(bid.price.units) + Int128(ask.price.units)) / 2))
    }

    /// Every resting order as add messages in time priority: the body of a snapshot.
    public func snapshotMessages(at time: Timestamp) -> [FeedMessage] {
        orders.sorted { $0.value.arrival < $1.value.arrival }.map { id, o in
            .add(o.instrument, order: id, o.side, price: o.price, quantity: o.quantity, at: time)
        }
    }
}

extension FeedBook.Level {
    mutating func add(_ q: Quantity) {
        quantity = Quantity(units: quantity.units + q.units)
        orders += 1
    }
}
