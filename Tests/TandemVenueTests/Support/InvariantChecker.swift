import TandemCore
import TandemVenue

/// Follows an engine's events command by command and checks what must always hold:
/// - every book update is consistent, and every execution takes the head of the best level
///   (price-time priority), at that level's price ("fill at the maker's price");
/// - every fill is within both orders' limits (buy limit ≥ price ≥ sell limit), between opposite
///   sides, and never within one self-trade key when prevention is on;
/// - per order, fills + open + canceled = ordered: leaves and cum reported on every fill, cancel
///   and replace agree with the running totals;
/// - a remainder canceled as unfillable really had nothing within its limit left;
/// - between commands the book is not crossed; the client book rebuilt from updates equals the
///   engine's depth snapshot; and the engine's live orders are exactly the ones not yet finished.
struct InvariantChecker {
    struct Info {
        var buy: Bool
        /// Price limit while working (nil: market-like).
        var limit: Int64?
        var stopLimit: Int64?
        var isStop: Bool
        var triggered = false
        var quantity: Int64
        var cum: Int64 = 0
        var finished = false
        var stpKey: String
        var tif: TimeInForce
        var instrument: InstrumentID
    }

    let stp: SelfTradePrevention
    var orders: [OrderID: Info] = [:]
    var books: [InstrumentID: ClientBook] = [V.xyz.id: ClientBook(instrument: V.xyz.id), V.fut.id: ClientBook(instrument: V.fut.id)]
    var lastOrderID: UInt64 = 0
    var lastTradeID: UInt64 = 0
    var failures: [String] = []
    var counts: [String: Int] = [:]

    init(stp: SelfTradePrevention) { self.stp = stp }

    mutating func fail(_ message: String) {
        if failures.count < 10 { failures.append(message) }
    }

    mutating func check(_ command: VenueCommand, _ events: [VenueEvent], engine: MatchingEngine, step: Int) {
        if events.isEmpty, command != .tick, command != .endOfDay { fail("step \(step): \(command) produced no events") }
        if case .rejected = events.first, events.count != 1 { fail("step \(step): a rejection with other events: \(events)") }
        for e in events { apply(e, command, step) }
        for (id, book) in books {
            if let b = book.bestBid, let a = book.bestAsk, b >= a { fail("step \(step): \(id) crossed: \(b) ≥ \(a)") }
            let top = engine.topOfBook(id)
            if top?.bid?.price.units != book.bestBid || top?.ask?.price.units != book.bestAsk { fail("step \(step): \(id) top of book differs") }
        }
    }

    private mutating func apply(_ e: VenueEvent, _ command: VenueCommand, _ step: Int) {
        switch e {
        case .accepted(let a):
            counts["accepted", default: 0] += 1
            guard case .newOrder(let o) = command else { return fail("step \(step): accepted without a new order") }
            if a.ref.orderID.rawValue != lastOrderID + 1 { fail("step \(step): OrderID \(a.ref.orderID) after \(lastOrderID)") }
            lastOrderID = a.ref.orderID.rawValue
            let limit: Int64?, stopLimit: Int64?
            switch a.type {
            case .limit(let p): limit = p.units; stopLimit = nil
            case .stopLimit(_, let p): limit = nil; stopLimit = p.units
            case .market, .stop: limit = nil; stopLimit = nil
            }
            orders[a.ref.orderID] = Info(buy: a.side == .buy, limit: limit, stopLimit: stopLimit, isStop: a.type.stopPrice != nil,
                                         quantity: a.quantity.units, stpKey: o.selfTradeGroup.map { "g:" + $0.rawValue } ?? "a:" + o.account.rawValue,
                                         tif: a.timeInForce, instrument: a.instrument)
        case .triggered(let t):
            counts["triggered", default: 0] += 1
            guard var o = orders[t.ref.orderID], o.isStop, !o.triggered, !o.finished else { return fail("step \(step): bad trigger \(t)") }
            if o.buy ? t.lastTradePrice < t.stopPrice : t.lastTradePrice > t.stopPrice { fail("step \(step): \(t.ref) triggered without crossing") }
            o.triggered = true
            o.limit = o.stopLimit
            orders[t.ref.orderID] = o
        case .fill(let f):
            counts["fills", default: 0] += 1
            if f.tradeID.rawValue != lastTradeID + 1 { fail("step \(step): TradeID \(f.tradeID) after \(lastTradeID)") }
            lastTradeID = f.tradeID.rawValue
            guard var maker = orders[f.maker.ref.orderID], var taker = orders[f.taker.ref.orderID], !maker.finished, !taker.finished else {
                return fail("step \(step): fill of an unknown or finished order \(f)")
            }
            if maker.buy == taker.buy { fail("step \(step): fill between two orders of one side") }
            if f.aggressor != f.taker.side { fail("step \(step): aggressor is not the taker's side") }
            let buyer = maker.buy ? maker : taker, seller = maker.buy ? taker : maker
            if let l = buyer.limit, l < f.price.units { fail("step \(step): buy limit \(l) below fill price \(f.price)") }
            if let l = seller.limit, l > f.price.units { fail("step \(step): sell limit \(l) above fill price \(f.price)") }
            if stp != .none, maker.stpKey == taker.stpKey { fail("step \(step): self-trade \(maker.stpKey) with prevention \(stp)") }
            if maker.isStop && !maker.triggered || taker.isStop && !taker.triggered { fail("step \(step): an untriggered stop traded") }
            maker.cum += f.quantity.units
            taker.cum += f.quantity.units
            for (info, side, name) in [(maker, f.maker, "maker"), (taker, f.taker, "taker")] {
                if side.cumulativeQuantity.units != info.cum || side.leavesQuantity.units != info.quantity - info.cum {
                    fail("step \(step): \(name) \(side.ref) cum \(side.cumulativeQuantity)/leaves \(side.leavesQuantity) ≠ model \(info.cum)/\(info.quantity - info.cum)")
                }
            }
            maker.finished = f.maker.leavesQuantity.isZero
            taker.finished = f.taker.leavesQuantity.isZero
            orders[f.maker.ref.orderID] = maker
            orders[f.taker.ref.orderID] = taker
            // The maker's price is the price of its level in the client book.
            if let at = books[f.instrument]?.location[f.maker.ref.orderID], at.price != f.price.units {
                fail("step \(step): fill at \(f.price) but maker rests at \(at.price)")
            }
        case .canceled(let c):
            counts["canceled.\(c.reason)", default: 0] += 1
            guard var o = orders[c.ref.orderID], !o.finished else { return fail("step \(step): cancel of an unknown or finished order \(c)") }
            if c.canceledQuantity.units != o.quantity - o.cum || c.cumulativeQuantity.units != o.cum || c.canceledQuantity.units <= 0 {
                fail("step \(step): cancel of \(c.ref) reports \(c.canceledQuantity)/\(c.cumulativeQuantity), model \(o.quantity - o.cum)/\(o.cum)")
            }
            if c.reason == .unfilledRemainder, o.tif != .fillOrKill, let book = books[c.instrument] {
                // Nothing within the limit may be left on the other side.
                if let best = o.buy ? book.bestAsk : book.bestBid, o.limit.map({ o.buy ? best <= $0 : best >= $0 }) ?? true {
                    fail("step \(step): \(c.ref) canceled as unfillable with \(best) available")
                }
            }
            o.finished = true
            orders[c.ref.orderID] = o
        case .replaced(let r):
            counts["replaced", default: 0] += 1
            guard var o = orders[r.ref.orderID], !o.finished else { return fail("step \(step): replace of an unknown or finished order") }
            if r.cumulativeQuantity.units != o.cum || r.leavesQuantity.units != r.quantity.units - o.cum || r.leavesQuantity.units <= 0 {
                fail("step \(step): replace of \(r.ref) reports cum \(r.cumulativeQuantity) leaves \(r.leavesQuantity), model cum \(o.cum)")
            }
            o.quantity = r.quantity.units
            switch r.type {
            case .limit(let p): o.limit = p.units
            case .stopLimit(_, let p):
                o.stopLimit = p.units
                if o.triggered { o.limit = p.units }
            case .market, .stop: break
            }
            orders[r.ref.orderID] = o
        case .book(let u):
            counts["book", default: 0] += 1
            if let problem = books[u.instrument]?.apply(u) { fail("step \(step): \(problem)") }
        case .rejected(let r):
            counts["rejected.\(r.reason)", default: 0] += 1
        case .massCanceled, .massStatus, .sessionBlocked:
            break
        }
    }

    /// The end-of-stream checks against the engine itself.
    mutating func finish(engine: MatchingEngine) {
        for (id, book) in books {
            let mine = book.snapshot(lastTradePrice: engine.lastTradePrice(id))
            if mine != engine.depthSnapshot(id) { fail("client book of \(id) differs from the engine's snapshot") }
        }
        var copy = engine
        let events = copy.handle(.massStatus(MassStatusRequest(requestID: "end", session: V.s1, scope: .all)), at: Timestamp(nanosecondsSinceEpoch: 0))
        guard case .massStatus(let report) = events.first else { return fail("no final status") }
        let live = Set(report.orders.map(\.ref.orderID))
        let open = Set(orders.filter { !$0.value.finished }.map(\.key))
        if live != open { fail("live orders differ: engine \(live.subtracting(open).sorted()), model \(open.subtracting(live).sorted())") }
        for o in report.orders {
            guard let info = orders[o.ref.orderID] else { continue }
            if o.cumulativeQuantity.units != info.cum || o.leavesQuantity.units + info.cum != info.quantity {
                fail("\(o.ref): cum \(o.cumulativeQuantity) + leaves \(o.leavesQuantity) ≠ \(info.quantity)")
            }
        }
    }
}
