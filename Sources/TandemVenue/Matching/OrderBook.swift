import TandemCore

/// One instrument's price-time-priority book: resting orders in per-level FIFO queues, untriggered
/// stops, good-till-date expiries, and the matching itself.
///
/// Storage is index-based so the hot paths allocate nothing per order: records live in a slab
/// (`records`, free slots chained through `next`), each level's queue is an intrusive doubly
/// linked list of slab slots, levels live in their own slab, and each side's ladder is a sorted
/// array of (key, level) with the best price last. A cancel is an O(1) unlink; finding a level is
/// a search from the touch. All state transitions go through here; the engine routes commands and
/// keeps the registry.
struct OrderBook: Sendable {
    let index: Int
    let instrument: InstrumentID
    let makerRate: Int64
    let takerRate: Int64
    let rounding: RoundingRule
    let currency: Currency
    let multiplierNumerator: Int128
    /// 10⁸ (price × quantity scale down to Money) × 10⁶ (rate scale) × multiplier denominator.
    let feeDivisor: Int128

    var records: [OrderRecord] = []
    var identities: [OrderIdentity] = []
    var freeHead: Int32 = -1
    var levels: [Level] = []
    var freeLevels: [Int32] = []
    var bids = Ladder()
    var asks = Ladder()
    var buyStops = StopList()
    var sellStops = StopList()
    var expiries = ExpiryList()
    var lastTradePrice: Int64?
    /// The sequence of the last ``BookUpdate`` emitted.
    var sequence: UInt64 = 0
    /// Orders in the slab that are not free.
    var liveCount = 0

    init(index: Int, _ v: VenueInstrument) {
        self.index = index
        instrument = v.instrument.id
        makerRate = v.fees.maker.hundredthsOfBasisPoint
        takerRate = v.fees.taker.hundredthsOfBasisPoint
        rounding = v.fees.rounding
        currency = v.instrument.currency
        multiplierNumerator = Int128(v.instrument.multiplier.numerator)
        feeDivisor = 100_000_000 * 1_000_000 * Int128(v.instrument.multiplier.denominator)
    }

    // MARK: Liquidity

    /// ``fillable(buy:threshold:stpKey:stp:limit:)`` called in place: through `books[b]` a
    /// non-mutating call would copy the whole book value first.
    mutating func available(buy: Bool, threshold: Int64, stpKey: UInt32, stp: SelfTradePrevention, limit: Int64) -> Int64 {
        fillable(buy: buy, threshold: threshold, stpKey: stpKey, stp: stp, limit: limit)
    }

    /// Quantity an order could fill right now against the other side, up to `limit`, walking the
    /// levels within `threshold` in priority order exactly as ``match(_:registry:out:)`` would:
    /// with self-trade prevention, orders of the same key are skipped (`cancelResting`) or end the
    /// walk (`cancelIncoming`, `cancelBoth`). Used for FOK and for market orders' liquidity check.
    func fillable(buy: Bool, threshold: Int64, stpKey: UInt32, stp: SelfTradePrevention, limit: Int64) -> Int64 {
        var total: Int64 = 0
        let keys = buy ? asks.keys : bids.keys
        let lvls = buy ? asks.levels : bids.levels
        var i = keys.count - 1
        while i >= 0, keys[i] >= threshold {
            let lvl = Int(lvls[i])
            if stp == .none {
                total += levels[lvl].quantity
            } else {
                var m = levels[lvl].head
                while m >= 0 {
                    let r = records[Int(m)]
                    if r.stpKey == stpKey {
                        if stp != .cancelResting { return total }
                    } else {
                        total += r.leaves
                        if total >= limit { return total }
                    }
                    m = r.next
                }
            }
            if total >= limit { return total }
            i -= 1
        }
        return total
    }

    // MARK: Slab

    mutating func allocate(_ record: OrderRecord, _ identity: OrderIdentity) -> Int32 {
        liveCount += 1
        if freeHead >= 0 {
            let s = freeHead
            freeHead = records[Int(s)].next
            records[Int(s)] = record
            identities[Int(s)] = identity
            return s
        }
        records.append(record)
        identities.append(identity)
        return Int32(records.count - 1)
    }

    /// Ends an order's life: off the expiry list, remembered as finished, slot freed.
    mutating func retire(_ s: Int32, registry: inout Registry) {
        let r = records[Int(s)]
        if r.tif == .goodTillDate { expiries.remove(expiry: r.expiry, orderID: r.orderID) }
        registry.finish(hash: r.keyHash, book: index, slot: s, key: ClientKey(session: r.session, clOrdID: identities[Int(s)].clOrdID))
        records[Int(s)].state = .free
        records[Int(s)].next = freeHead
        freeHead = s
        liveCount -= 1
    }

    func ref(_ s: Int32) -> OrderRef {
        let id = identities[Int(s)]
        return OrderRef(orderID: OrderID(records[Int(s)].orderID), clOrdID: id.clOrdID, session: id.session, account: id.account)
    }

    func orderType(_ r: OrderRecord) -> OrderType {
        switch r.kind {
        case .market: .market
        case .limit: .limit(Price(units: r.price))
        case .stop: .stop(Price(units: r.stopPrice))
        case .stopLimit: .stopLimit(stop: Price(units: r.stopPrice), limit: Price(units: r.price))
        }
    }

    func timeInForce(_ r: OrderRecord) -> TimeInForce {
        switch r.tif {
        case .day: .day
        case .goodTillCancel: .goodTillCancel
        case .immediateOrCancel: .immediateOrCancel
        case .fillOrKill: .fillOrKill
        case .goodTillDate: .goodTillDate(Timestamp(nanosecondsSinceEpoch: r.expiry))
        }
    }

    // MARK: Levels

    private mutating func newLevel(price: Int64) -> Int32 {
        let level = Level(price: price, quantity: 0, count: 0, head: -1, tail: -1)
        if let free = freeLevels.popLast() {
            levels[Int(free)] = level
            return free
        }
        levels.append(level)
        return Int32(levels.count - 1)
    }

    /// The level at `price` on a side, created (and placed in the ladder) if missing.
    private mutating func level(buy: Bool, price: Int64) -> Int32 {
        let key = buy ? price : -price
        let i = buy ? bids.lowerBound(key) : asks.lowerBound(key)
        if buy {
            if i < bids.keys.count, bids.keys[i] == key { return bids.levels[i] }
        } else {
            if i < asks.keys.count, asks.keys[i] == key { return asks.levels[i] }
        }
        let lvl = newLevel(price: price)
        if buy {
            bids.keys.insert(key, at: i)
            bids.levels.insert(lvl, at: i)
        } else {
            asks.keys.insert(key, at: i)
            asks.levels.insert(lvl, at: i)
        }
        return lvl
    }

    private mutating func removeLevel(_ lvl: Int32, buy: Bool) {
        let key = buy ? levels[Int(lvl)].price : -levels[Int(lvl)].price
        if buy {
            // Almost always the best level (matching empties the touch).
            if bids.keys.last == key {
                bids.keys.removeLast()
                bids.levels.removeLast()
            } else {
                let i = bids.lowerBound(key)
                bids.keys.remove(at: i)
                bids.levels.remove(at: i)
            }
        } else {
            if asks.keys.last == key {
                asks.keys.removeLast()
                asks.levels.removeLast()
            } else {
                let i = asks.lowerBound(key)
                asks.keys.remove(at: i)
                asks.levels.remove(at: i)
            }
        }
        freeLevels.append(lvl)
    }

    /// Appends a working order to the back of its level's queue.
    mutating func rest(_ s: Int32, out: inout [VenueEvent]) {
        let r = records[Int(s)]
        let lvl = level(buy: r.isBuy, price: r.price)
        let tail = levels[Int(lvl)].tail
        records[Int(s)].level = lvl
        records[Int(s)].prev = tail
        records[Int(s)].next = -1
        records[Int(s)].state = .resting
        if tail >= 0 { records[Int(tail)].next = s } else { levels[Int(lvl)].head = s }
        levels[Int(lvl)].tail = s
        levels[Int(lvl)].count += 1
        levels[Int(lvl)].quantity += r.leaves
        emitBook(.added(OrderID(r.orderID), quantity: Quantity(units: r.leaves)), side: r.side, price: r.price,
                 levelQuantity: levels[Int(lvl)].quantity, levelCount: levels[Int(lvl)].count, out: &out)
    }

    /// Takes a resting order out of its queue (its open quantity leaves the level); removes the
    /// level when it empties. Returns the level's totals afterwards.
    @discardableResult
    private mutating func unlink(_ s: Int32) -> (quantity: Int64, count: Int32) {
        let r = records[Int(s)]
        let lvl = Int(r.level)
        if r.prev >= 0 { records[Int(r.prev)].next = r.next } else { levels[lvl].head = r.next }
        if r.next >= 0 { records[Int(r.next)].prev = r.prev } else { levels[lvl].tail = r.prev }
        levels[lvl].count -= 1
        levels[lvl].quantity -= r.leaves
        let totals = (levels[lvl].quantity, levels[lvl].count)
        if totals.1 == 0 { removeLevel(r.level, buy: r.isBuy) }
        records[Int(s)].state = .working
        return totals
    }

    private mutating func emitBook(_ change: BookChange, side: Side, price: Int64, levelQuantity: Int64, levelCount: Int32, out: inout [VenueEvent]) {
        sequence &+= 1
        out.append(.book(BookUpdate(instrument: instrument, sequence: sequence, change: change, side: side.bookSide,
                                    price: Price(units: price), levelQuantity: Quantity(units: levelQuantity), levelOrderCount: levelCount)))
    }

    // MARK: Fees

    /// `|price| × quantity × multiplier × rate`, rounded once. The configured limits keep every
    /// intermediate inside Int128 and the result inside Int64 (``MatchingEngineConfig/validate()``).
    @inline(__always)
    func fee(price: Int64, quantity: Int64, rate: Int64) -> Money {
        if rate == 0 { return Money(units: 0, currency: currency) }
        let numerator = Int128(price.magnitude) * Int128(quantity) * multiplierNumerator * Int128(rate)
        return Money(units: Int64(rounding.divide(numerator, by: feeDivisor)), currency: currency)
    }

    // MARK: Matching

    /// Runs a working order (new, triggered, or re-entered by a replace) against the book, then
    /// rests what is left or cancels it (immediate, market-like, or stopped by self-trade prevention).
    /// `checkFillOrKill` re-checks FOK fillability (new orders were checked before acceptance).
    mutating func execute(_ t: Int32, checkFillOrKill: Bool, registry: inout Registry, out: inout [VenueEvent]) {
        let tif = records[Int(t)].tif
        if checkFillOrKill, tif == .fillOrKill {
            let r = records[Int(t)]
            let available = fillable(buy: r.isBuy, threshold: r.crossThreshold, stpKey: r.stpKey,
                                     stp: registry.selfTradePrevention, limit: r.leaves)
            if available < r.leaves {
                cancelWorking(t, reason: .unfilledRemainder, registry: &registry, out: &out)
                return
            }
        }
        let stoppedBySTP = match(t, registry: &registry, out: &out)
        let r = records[Int(t)]
        if r.leaves == 0 {
            retire(t, registry: &registry)
        } else if stoppedBySTP {
            cancelWorking(t, reason: .selfTradePrevention, registry: &registry, out: &out)
        } else if r.kind.isMarketLike || tif.isImmediate {
            cancelWorking(t, reason: .unfilledRemainder, registry: &registry, out: &out)
        } else {
            rest(t, out: &out)
        }
    }

    /// Matches a working order against the opposite side, best level first, FIFO within a level.
    /// Returns true when self-trade prevention canceled (or must cancel) the incoming order.
    private mutating func match(_ t: Int32, registry: inout Registry, out: inout [VenueEvent]) -> Bool {
        let taker = records[Int(t)]
        let buy = taker.isBuy
        let threshold = taker.crossThreshold
        let stp = registry.selfTradePrevention
        while records[Int(t)].leaves > 0 {
            let lvl: Int32
            if buy {
                guard let k = asks.keys.last, k >= threshold else { break }
                lvl = asks.levels[asks.levels.count - 1]
            } else {
                guard let k = bids.keys.last, k >= threshold else { break }
                lvl = bids.levels[bids.levels.count - 1]
            }
            var m = levels[Int(lvl)].head
            while m >= 0 {
                let next = records[Int(m)].next
                if stp != .none, records[Int(m)].stpKey == taker.stpKey {
                    switch stp {
                    case .cancelIncoming:
                        return true
                    case .cancelBoth:
                        cancel(m, reason: .selfTradePrevention, request: nil, registry: &registry, out: &out)
                        return true
                    case .cancelResting, .none:
                        cancel(m, reason: .selfTradePrevention, request: nil, registry: &registry, out: &out)
                    }
                } else {
                    trade(maker: m, taker: t, level: lvl, registry: &registry, out: &out)
                    if records[Int(t)].leaves == 0 { return false }
                }
                m = next
            }
        }
        return false
    }

    private mutating func trade(maker m: Int32, taker t: Int32, level lvl: Int32, registry: inout Registry, out: inout [VenueEvent]) {
        let price = levels[Int(lvl)].price
        let q = min(records[Int(m)].leaves, records[Int(t)].leaves)
        records[Int(m)].leaves -= q
        records[Int(m)].cum += q
        records[Int(t)].leaves -= q
        records[Int(t)].cum += q
        levels[Int(lvl)].quantity -= q
        lastTradePrice = price
        let tradeID = registry.takeTradeID()
        let maker = records[Int(m)]
        let taker = records[Int(t)]
        out.append(.fill(Fill(
            tradeID: tradeID, instrument: instrument, price: Price(units: price), quantity: Quantity(units: q), aggressor: taker.side,
            maker: FillSide(ref: ref(m), side: maker.side, fee: fee(price: price, quantity: q, rate: makerRate),
                            leavesQuantity: Quantity(units: maker.leaves), cumulativeQuantity: Quantity(units: maker.cum)),
            taker: FillSide(ref: ref(t), side: taker.side, fee: fee(price: price, quantity: q, rate: takerRate),
                            leavesQuantity: Quantity(units: taker.leaves), cumulativeQuantity: Quantity(units: taker.cum))
        )))
        let levelQuantity: Int64, levelCount: Int32
        if maker.leaves == 0 {
            (levelQuantity, levelCount) = unlink(m)
            retire(m, registry: &registry)
        } else {
            levelQuantity = levels[Int(lvl)].quantity
            levelCount = levels[Int(lvl)].count
        }
        emitBook(.executed(OrderID(maker.orderID), quantity: Quantity(units: q), remaining: Quantity(units: maker.leaves),
                           trade: tradeID, aggressor: taker.side),
                 side: maker.side, price: price, levelQuantity: levelQuantity, levelCount: levelCount, out: &out)
    }

    // MARK: Cancels

    /// Cancels a live order (resting or untriggered stop) and retires it. No-op for any other state.
    mutating func cancel(_ s: Int32, reason: CancelReason, request: ClOrdID?, registry: inout Registry, out: inout [VenueEvent]) {
        let r = records[Int(s)]
        switch r.state {
        case .resting:
            out.append(canceledEvent(s, reason: reason, request: request))
            let totals = unlink(s)
            emitBook(.deleted(OrderID(r.orderID)), side: r.side, price: r.price, levelQuantity: totals.quantity, levelCount: totals.count, out: &out)
        case .pendingStop:
            out.append(canceledEvent(s, reason: reason, request: request))
            if r.isBuy { buyStops.remove(key: -r.stopPrice, sequence: r.sequence) } else { sellStops.remove(key: r.stopPrice, sequence: r.sequence) }
        case .working, .free:
            return
        }
        retire(s, registry: &registry)
    }

    /// Cancels the remainder of an order that is being worked (not on the book) and retires it.
    private mutating func cancelWorking(_ s: Int32, reason: CancelReason, registry: inout Registry, out: inout [VenueEvent]) {
        out.append(canceledEvent(s, reason: reason, request: nil))
        retire(s, registry: &registry)
    }

    private func canceledEvent(_ s: Int32, reason: CancelReason, request: ClOrdID?) -> VenueEvent {
        let r = records[Int(s)]
        return .canceled(OrderCanceled(ref: ref(s), instrument: instrument, side: r.side, reason: reason,
                                       canceledQuantity: Quantity(units: r.leaves), cumulativeQuantity: Quantity(units: r.cum),
                                       requestClOrdID: request))
    }

    // MARK: Stops

    mutating func addStop(_ s: Int32) {
        records[Int(s)].state = .pendingStop
        let r = records[Int(s)]
        if r.isBuy { buyStops.insert(key: -r.stopPrice, sequence: r.sequence, slot: s) } else { sellStops.insert(key: r.stopPrice, sequence: r.sequence, slot: s) }
    }

    /// Triggers every stop the last trade price has crossed, one at a time (each triggered order's
    /// trades can move the price and trigger more): on each side the stop nearest the market first,
    /// then earliest; between sides, the earlier sequence.
    mutating func runTriggers(registry: inout Registry, out: inout [VenueEvent]) {
        while let last = lastTradePrice {
            var pick: Int32 = -1
            var fromBuy = false
            if let k = buyStops.keys.last, k >= -last {
                pick = buyStops.slots[buyStops.slots.count - 1]
                fromBuy = true
            }
            if let k = sellStops.keys.last, k >= last {
                let s = sellStops.slots[sellStops.slots.count - 1]
                if pick < 0 || records[Int(s)].sequence < records[Int(pick)].sequence {
                    pick = s
                    fromBuy = false
                }
            }
            guard pick >= 0 else { return }
            if fromBuy { buyStops.removeLast() } else { sellStops.removeLast() }
            records[Int(pick)].state = .working
            records[Int(pick)].sequence = registry.takeSequence()
            let r = records[Int(pick)]
            out.append(.triggered(StopTriggered(
                ref: ref(pick), instrument: instrument, side: r.side, stopPrice: Price(units: r.stopPrice),
                lastTradePrice: Price(units: last), workingType: r.kind == .stop ? .market : .limit(Price(units: r.price)))))
            execute(pick, checkFillOrKill: true, registry: &registry, out: &out)
        }
    }

    // MARK: Replace

    /// Applies a validated replace to a live order. The caller has already moved the registry's
    /// index from the old ClOrdID to the new one.
    ///
    /// Priority is kept only when the price (and, for a stop, the stop price) is unchanged and the
    /// open quantity does not grow; otherwise the order goes to the back of the queue at its (new)
    /// price — and, being re-entered, may trade at once if the new price crosses.
    mutating func replace(_ s: Int32, quantity: Int64, price: Int64, stopPrice: Int64, clOrdID: ClOrdID, keyHash: UInt32, origClOrdID: ClOrdID,
                          registry: inout Registry, out: inout [VenueEvent]) {
        identities[Int(s)].clOrdID = clOrdID
        records[Int(s)].keyHash = keyHash
        let old = records[Int(s)]
        let leaves = quantity - old.cum
        // A triggered stop-limit resting on the book is a limit order: its stop price no longer matters.
        let keep = price == old.price && leaves <= old.leaves && (old.state != .pendingStop || stopPrice == old.stopPrice)
        func replacedEvent(_ r: OrderRecord) -> VenueEvent {
            .replaced(OrderReplaced(ref: ref(s), origClOrdID: origClOrdID, instrument: instrument, side: r.side, type: orderType(r),
                                    quantity: Quantity(units: r.quantity), leavesQuantity: Quantity(units: r.leaves),
                                    cumulativeQuantity: Quantity(units: r.cum), priorityKept: keep))
        }
        switch old.state {
        case .pendingStop:
            if old.isBuy { buyStops.remove(key: -old.stopPrice, sequence: old.sequence) } else { sellStops.remove(key: old.stopPrice, sequence: old.sequence) }
            records[Int(s)].quantity = quantity
            records[Int(s)].leaves = leaves
            records[Int(s)].price = price
            records[Int(s)].stopPrice = stopPrice
            if !keep { records[Int(s)].sequence = registry.takeSequence() }
            addStop(s)
            out.append(replacedEvent(records[Int(s)]))
        case .resting where keep:
            let delta = old.leaves - leaves
            records[Int(s)].quantity = quantity
            records[Int(s)].leaves = leaves
            levels[Int(old.level)].quantity -= delta
            out.append(replacedEvent(records[Int(s)]))
            if delta != 0 {
                emitBook(.modified(OrderID(old.orderID), quantity: Quantity(units: leaves)), side: old.side, price: old.price,
                         levelQuantity: levels[Int(old.level)].quantity, levelCount: levels[Int(old.level)].count, out: &out)
            }
        case .resting:
            let totals = unlink(s)
            records[Int(s)].quantity = quantity
            records[Int(s)].leaves = leaves
            records[Int(s)].price = price
            records[Int(s)].stopPrice = stopPrice
            records[Int(s)].sequence = registry.takeSequence()
            out.append(replacedEvent(records[Int(s)]))
            emitBook(.deleted(OrderID(old.orderID)), side: old.side, price: old.price, levelQuantity: totals.quantity, levelCount: totals.count, out: &out)
            execute(s, checkFillOrKill: false, registry: &registry, out: &out)
        case .working, .free:
            return
        }
    }

    // MARK: Expiry

    mutating func addExpiry(_ s: Int32) {
        let r = records[Int(s)]
        expiries.insert(expiry: r.expiry, orderID: r.orderID, slot: s)
    }

    /// Expires every good-till-date order due at `now` (expiry ≤ now), earliest first.
    mutating func expireDue(_ now: Int64, registry: inout Registry, out: inout [VenueEvent]) {
        while let e = expiries.next, e <= now {
            let s = expiries.slots[expiries.slots.count - 1]
            let state = records[Int(s)].state
            guard state == .resting || state == .pendingStop else {
                expiries.removeLast()  // cannot happen (retiring removes the entry); never loop on it
                continue
            }
            cancel(s, reason: .expired, request: nil, registry: &registry, out: &out)
        }
    }
}
