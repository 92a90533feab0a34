import TandemCore

/// Best bid and offer of one instrument.
public struct TopOfBook: Sendable, Hashable {
    public var instrument: InstrumentID
    /// The sequence of the last ``BookUpdate`` this reflects.
    public var sequence: UInt64
    public var bid: LevelSummary?
    public var ask: LevelSummary?

    public init(instrument: InstrumentID, sequence: UInt64, bid: LevelSummary?, ask: LevelSummary?) {
        self.instrument = instrument
        self.sequence = sequence
        self.bid = bid
        self.ask = ask
    }
}

public struct LevelSummary: Sendable, Hashable {
    public var price: Price
    public var quantity: Quantity
    public var orderCount: Int32

    public init(price: Price, quantity: Quantity, orderCount: Int32) {
        self.price = price
        self.quantity = quantity
        self.orderCount = orderCount
    }
}

/// The whole visible book of one instrument at order level: what a market-data snapshot carries.
/// Applying every ``BookUpdate`` with a greater `sequence` to it gives the live book.
public struct BookSnapshot: Sendable, Hashable {
    public var instrument: InstrumentID
    public var sequence: UInt64
    public var lastTradePrice: Price?
    /// Best (highest) first.
    public var bids: [DepthLevel]
    /// Best (lowest) first.
    public var asks: [DepthLevel]

    public init(instrument: InstrumentID, sequence: UInt64, lastTradePrice: Price?, bids: [DepthLevel], asks: [DepthLevel]) {
        self.instrument = instrument
        self.sequence = sequence
        self.lastTradePrice = lastTradePrice
        self.bids = bids
        self.asks = asks
    }
}

public struct DepthLevel: Sendable, Hashable {
    public var price: Price
    public var quantity: Quantity
    /// In queue (time-priority) order.
    public var orders: [RestingOrder]

    public init(price: Price, quantity: Quantity, orders: [RestingOrder]) {
        self.price = price
        self.quantity = quantity
        self.orders = orders
    }
}

public struct RestingOrder: Sendable, Hashable {
    public var orderID: OrderID
    public var quantity: Quantity

    public init(orderID: OrderID, quantity: Quantity) {
        self.orderID = orderID
        self.quantity = quantity
    }
}

extension MatchingEngine {
    public func topOfBook(_ instrument: InstrumentID) -> TopOfBook? {
        guard let b = bookIndex(instrument) else { return nil }
        let book = books[b]
        func summary(_ ladder: Ladder) -> LevelSummary? {
            guard let lvl = ladder.levels.last else { return nil }
            let l = book.levels[Int(lvl)]
            return LevelSummary(price: Price(units: l.price), quantity: Quantity(units: l.quantity), orderCount: l.count)
        }
        return TopOfBook(instrument: instrument, sequence: book.sequence, bid: summary(book.bids), ask: summary(book.asks))
    }

    /// Every visible level and order of `instrument`, up to `maxLevels` per side.
    public func depthSnapshot(_ instrument: InstrumentID, maxLevels: Int = .max) -> BookSnapshot? {
        guard let b = bookIndex(instrument) else { return nil }
        let book = books[b]
        func side(_ ladder: Ladder) -> [DepthLevel] {
            var out: [DepthLevel] = []
            for lvl in ladder.levels.reversed().prefix(maxLevels) {
                let l = book.levels[Int(lvl)]
                var orders: [RestingOrder] = []
                orders.reserveCapacity(Int(l.count))
                var m = l.head
                while m >= 0 {
                    let r = book.records[Int(m)]
                    orders.append(RestingOrder(orderID: OrderID(r.orderID), quantity: Quantity(units: r.leaves)))
                    m = r.next
                }
                out.append(DepthLevel(price: Price(units: l.price), quantity: Quantity(units: l.quantity), orders: orders))
            }
            return out
        }
        return BookSnapshot(instrument: instrument, sequence: book.sequence, lastTradePrice: book.lastTradePrice.map(Price.init(units:)),
                            bids: side(book.bids), asks: side(book.asks))
    }

    public func lastTradePrice(_ instrument: InstrumentID) -> Price? {
        bookIndex(instrument).flatMap { books[$0].lastTradePrice.map(Price.init(units:)) }
    }

    /// The live order a session knows as `clOrdID` (resting or an untriggered stop), if any.
    public func order(session: SessionID, clOrdID: ClOrdID) -> OrderStatusReport? {
        guard let h = registry.sessions.find(session),
              case .live(let b, let s) = lookup(session: h, clOrdID: clOrdID, hash: ClientIndex.hash(session: h, clOrdID: clOrdID))
        else { return nil }
        return books[b].statusReport(s)
    }

    /// Live orders (resting plus untriggered stops) in one instrument's book, or in all books.
    public func liveOrderCount(_ instrument: InstrumentID? = nil) -> Int {
        if let instrument { return bookIndex(instrument).map { books[$0].liveCount } ?? 0 }
        return books.reduce(0) { $0 + $1.liveCount }
    }

    /// Untriggered stop orders of one instrument.
    public func pendingStopCount(_ instrument: InstrumentID) -> Int {
        bookIndex(instrument).map { books[$0].buyStops.keys.count + books[$0].sellStops.keys.count } ?? 0
    }

    /// Matches so far (the last TradeID assigned).
    public var tradeCount: UInt64 { registry.nextTradeID - 1 }

    /// Orders accepted so far (the last OrderID assigned).
    public var acceptedCount: UInt64 { registry.nextOrderID - 1 }

    /// Whether a session's new orders are refused.
    public func isBlocked(_ session: SessionID) -> Bool {
        registry.sessions.find(session).map { registry.isBlocked($0) } ?? false
    }
}
