import TandemCore

/// The venue's matching engine: one price-time-priority book per configured instrument, as a
/// sans-I/O value. Commands in, events out.
///
/// The shell (FIX acceptor, backtester, benchmark) feeds every ``VenueCommand`` with the time it
/// happened to ``handle(_:at:)`` and acts on the returned ``VenueEvent``s in order. Nothing here
/// reads a clock, does I/O or uses randomness, and no output depends on hash-table iteration
/// order, so the same commands at the same times always give the same events — the backtester and
/// replays rely on that. Prices, quantities and fees are exact fixed-point integers throughout.
///
/// See docs/venue.md for the semantics (order types, replace priority, self-trade prevention,
/// fees, events) and the performance design.
public struct MatchingEngine: Sendable {
    public let config: MatchingEngineConfig
    var books: [OrderBook]
    /// Each book's validation limits, apart from the books so reading them copies a few integers.
    private let limits: [BookLimits]
    var registry: Registry
    /// Book index by instrument id for ids below 65,536 (−1: none); larger ids use `sparseBooks`.
    private var denseBooks: [Int32]
    private var sparseBooks: [InstrumentID: Int]

    public init(config: MatchingEngineConfig) throws(VenueConfigError) {
        try config.validate()
        self.config = config
        books = config.instruments.enumerated().map { OrderBook(index: $0.offset, $0.element) }
        limits = config.instruments.map(BookLimits.init)
        registry = Registry(selfTradePrevention: config.selfTradePrevention, rememberedFinished: config.rememberedFinishedOrders)
        denseBooks = []
        sparseBooks = [:]
        for (i, v) in config.instruments.enumerated() {
            let raw = Int(v.instrument.id.rawValue)
            if raw < 65_536 {
                if denseBooks.count <= raw { denseBooks += repeatElement(-1, count: raw + 1 - denseBooks.count) }
                denseBooks[raw] = Int32(i)
            } else {
                sparseBooks[v.instrument.id] = i
            }
        }
    }

    @inline(__always)
    func bookIndex(_ id: InstrumentID) -> Int? {
        let raw = Int(id.rawValue)
        if raw < denseBooks.count {
            let b = denseBooks[raw]
            return b >= 0 ? Int(b) : nil
        }
        return raw < 65_536 ? nil : sparseBooks[id]
    }

    // MARK: Commands

    /// Applies one command at `time` and returns what happened, in order.
    public mutating func handle(_ command: consuming VenueCommand, at time: Timestamp) -> [VenueEvent] {
        var out: [VenueEvent] = []
        handle(command, at: time, into: &out)
        return out
    }

    /// Applies one command at `time`, appending its events to `out` (reuse one buffer on hot paths).
    ///
    /// Good-till-date orders due at `time` expire first, so an order never trades after its time.
    /// The command is consumed, so its strings move into the engine's records and events instead
    /// of being copied.
    public mutating func handle(_ command: consuming VenueCommand, at time: Timestamp, into out: inout [VenueEvent]) {
        let now = time.nanosecondsSinceEpoch
        if now >= registry.earliestExpiry { expireDue(now, out: &out) }
        switch consume command {
        case .newOrder(let o): newOrder(o, now: now, out: &out)
        case .cancel(let c): cancel(c, out: &out)
        case .replace(let r): replace(r, out: &out)
        case .cancelAll(let m): cancelAll(m, out: &out)
        case .massStatus(let m): massStatus(m, out: &out)
        case .setSessionBlocked(let session, let blocked):
            let h = registry.session(session)
            registry.blocked[Int(h)] = blocked
            out.append(.sessionBlocked(session, blocked: blocked))
        case .endOfDay: endOfDay(out: &out)
        case .tick: break
        }
    }

    private mutating func newOrder(_ o: NewOrder, now: Int64, out: inout [VenueEvent]) {
        let session = registry.session(o.session)
        func reject(_ reason: RejectReason) {
            out.append(.rejected(Rejection(command: .newOrder, session: o.session, clOrdID: o.clOrdID, origClOrdID: nil, orderID: nil, reason: reason)))
        }
        if registry.isBlocked(session) { return reject(.sessionBlocked) }
        guard let b = bookIndex(o.instrument) else { return reject(.unknownInstrument) }
        let quantity = o.quantity.units
        let limits = limits[b]
        if let r = limits.validate(quantity: quantity) { return reject(r) }

        let kind: OrderKind
        var price: Int64 = 0, stop: Int64 = 0
        switch o.type {
        case .market: kind = .market
        case .limit(let p): kind = .limit; price = p.units
        case .stop(let s): kind = .stop; stop = s.units
        case .stopLimit(let s, let p): kind = .stopLimit; stop = s.units; price = p.units
        }
        if kind == .limit || kind == .stopLimit, let r = limits.validate(price: price) { return reject(r) }
        if kind.isStop, let r = limits.validate(price: stop) { return reject(r) }

        let tif: TIFCode
        var expiry = Int64.max
        switch o.timeInForce {
        case .day: tif = .day
        case .goodTillCancel: tif = .goodTillCancel
        case .immediateOrCancel: tif = .immediateOrCancel
        case .fillOrKill: tif = .fillOrKill
        case .goodTillDate(let t):
            tif = .goodTillDate
            expiry = t.nanosecondsSinceEpoch
            if expiry <= now { return reject(.expiryInPast) }
        }

        let keyHash = ClientIndex.hash(session: session, clOrdID: o.clOrdID)
        if !lookup(session: session, clOrdID: o.clOrdID, hash: keyHash).isAbsent { return reject(.duplicateClOrdID) }
        let account = registry.accounts.intern(o.account)
        let stpKey = registry.selfTradeKey(account: account, group: o.selfTradeGroup)
        let buy = o.side == .buy

        if !kind.isStop, kind == .market || tif == .fillOrKill {
            let threshold = kind == .market ? Int64.min : (buy ? -price : price)
            let available = books[b].available(buy: buy, threshold: threshold, stpKey: stpKey, stp: registry.selfTradePrevention, limit: quantity)
            if kind == .market, available == 0 { return reject(.noLiquidity) }
            if tif == .fillOrKill, available < quantity { return reject(.fillOrKillNotFillable) }
        }

        let orderID = registry.nextOrderID
        registry.nextOrderID &+= 1
        let record = OrderRecord(
            price: price, stopPrice: stop, quantity: quantity, leaves: quantity, cum: 0, orderID: orderID,
            sequence: registry.takeSequence(), expiry: expiry, prev: -1, next: -1, level: -1, session: session,
            account: account, stpKey: stpKey, keyHash: keyHash, side: o.side, kind: kind, tif: tif, state: .working)
        let slot = books[b].allocate(record, OrderIdentity(clOrdID: o.clOrdID, session: o.session, account: o.account))
        registry.insertLive(hash: keyHash, book: b, slot: slot)
        out.append(.accepted(OrderAccepted(
            ref: OrderRef(orderID: OrderID(orderID), clOrdID: o.clOrdID, session: o.session, account: o.account),
            instrument: o.instrument, side: o.side, type: o.type, timeInForce: o.timeInForce, quantity: o.quantity)))
        if tif == .goodTillDate {
            books[b].addExpiry(slot)
            registry.earliestExpiry = min(registry.earliestExpiry, expiry)
        }
        if kind.isStop {
            books[b].addStop(slot)
        } else {
            books[b].execute(slot, checkFillOrKill: false, registry: &registry, out: &out)
        }
        books[b].runTriggers(registry: &registry, out: &out)
    }

    /// Finds a live order by session and ClOrdID, or the reason it cannot be reached.
    private enum Located {
        case live(book: Int, slot: Int32, session: UInt32)
        case failure(RejectReason)
    }

    private func locate(session: SessionID, clOrdID: ClOrdID) -> Located {
        guard let h = registry.sessions.find(session) else { return .failure(.unknownOrder) }
        switch lookup(session: h, clOrdID: clOrdID, hash: ClientIndex.hash(session: h, clOrdID: clOrdID)) {
        case .absent: return .failure(.unknownOrder)
        case .finished: return .failure(.tooLateToCancel)
        case .live(let b, let s): return .live(book: b, slot: s, session: h)
        }
    }

    enum Lookup {
        case absent
        case finished
        case live(book: Int, slot: Int32)

        var isAbsent: Bool {
            if case .absent = self { return true }
            return false
        }
    }

    /// What the index holds for (session, ClOrdID): candidates with the same hash are confirmed
    /// against the live order's identity or the remembered finished key.
    func lookup(session: UInt32, clOrdID: ClOrdID, hash: UInt32) -> Lookup {
        var result = Lookup.absent
        _ = registry.index.first(hash: hash) { e in
            if e.isFinished {
                guard let key = registry.finishedKey(e), key.session == session, key.clOrdID == clOrdID else { return false }
                result = .finished
                return true
            }
            let b = Int(e.book), s = Int(e.index)
            guard books[b].records[s].session == session, books[b].identities[s].clOrdID == clOrdID else { return false }
            result = .live(book: b, slot: Int32(s))
            return true
        }
        return result
    }

    private mutating func cancel(_ c: CancelOrder, out: inout [VenueEvent]) {
        switch locate(session: c.session, clOrdID: c.origClOrdID) {
        case .failure(let reason):
            out.append(.rejected(Rejection(command: .cancel, session: c.session, clOrdID: c.clOrdID, origClOrdID: c.origClOrdID, orderID: nil, reason: reason)))
        case .live(let book, let slot, _):
            books[book].cancel(slot, reason: .requested, request: c.clOrdID, registry: &registry, out: &out)
        }
    }

    private mutating func replace(_ r: ReplaceOrder, out: inout [VenueEvent]) {
        func reject(_ reason: RejectReason, _ orderID: UInt64? = nil) {
            out.append(.rejected(Rejection(command: .replace, session: r.session, clOrdID: r.clOrdID, origClOrdID: r.origClOrdID,
                                           orderID: orderID.map(OrderID.init), reason: reason)))
        }
        let at: (book: Int, slot: Int32, session: UInt32)
        switch locate(session: r.session, clOrdID: r.origClOrdID) {
        case .failure(let reason): return reject(reason)
        case .live(let book, let slot, let session): at = (book, slot, session)
        }
        let rec = books[at.book].records[Int(at.slot)]
        if registry.isBlocked(at.session) { return reject(.sessionBlocked, rec.orderID) }
        let quantity = r.quantity.units
        let limits = limits[at.book]
        if let reason = limits.validate(quantity: quantity) { return reject(reason, rec.orderID) }
        if quantity <= rec.cum { return reject(.replaceQuantityNotAboveFilled, rec.orderID) }

        var price = rec.price, stop = rec.stopPrice
        if let type = r.type {
            switch (rec.kind, type) {
            case (.limit, .limit(let p)): price = p.units
            case (.stop, .stop(let s)): stop = s.units
            case (.stopLimit, .stopLimit(let s, let p)): stop = s.units; price = p.units
            default: return reject(.replaceChangesOrderType, rec.orderID)
            }
            if rec.kind != .stop, let reason = limits.validate(price: price) { return reject(reason, rec.orderID) }
            if rec.kind.isStop, let reason = limits.validate(price: stop) { return reject(reason, rec.orderID) }
        }
        let newHash = ClientIndex.hash(session: at.session, clOrdID: r.clOrdID)
        if !lookup(session: at.session, clOrdID: r.clOrdID, hash: newHash).isAbsent { return reject(.duplicateClOrdID, rec.orderID) }

        registry.finish(hash: rec.keyHash, book: at.book, slot: at.slot, key: ClientKey(session: at.session, clOrdID: r.origClOrdID))
        registry.insertLive(hash: newHash, book: at.book, slot: at.slot)
        books[at.book].replace(at.slot, quantity: quantity, price: price, stopPrice: stop, clOrdID: r.clOrdID, keyHash: newHash,
                               origClOrdID: r.origClOrdID, registry: &registry, out: &out)
        books[at.book].runTriggers(registry: &registry, out: &out)
    }

    // MARK: Mass commands

    /// Live orders matching a scope, by OrderID (the engine's deterministic order for mass output).
    private func liveOrders(scope: OrderScope, instrument: InstrumentID?) -> [(orderID: UInt64, book: Int, slot: Int32)] {
        let sessionFilter: UInt32?, accountFilter: UInt32?
        switch scope {
        case .all:
            sessionFilter = nil
            accountFilter = nil
        case .session(let s):
            guard let h = registry.sessions.find(s) else { return [] }
            sessionFilter = h
            accountFilter = nil
        case .account(let a):
            guard let h = registry.accounts.find(a) else { return [] }
            sessionFilter = nil
            accountFilter = h
        }
        var found: [(orderID: UInt64, book: Int, slot: Int32)] = []
        for (b, book) in books.enumerated() {
            if let instrument, book.instrument != instrument { continue }
            for (s, r) in book.records.enumerated() where r.state == .resting || r.state == .pendingStop {
                if let sessionFilter, r.session != sessionFilter { continue }
                if let accountFilter, r.account != accountFilter { continue }
                found.append((r.orderID, b, Int32(s)))
            }
        }
        found.sort { $0.orderID < $1.orderID }
        return found
    }

    private mutating func cancelAll(_ m: MassCancel, out: inout [VenueEvent]) {
        if let instrument = m.instrument, bookIndex(instrument) == nil {
            out.append(.rejected(Rejection(command: .massCancel, session: m.session, clOrdID: ClOrdID(m.requestID), origClOrdID: nil, orderID: nil, reason: .unknownInstrument)))
            return
        }
        let targets = liveOrders(scope: m.scope, instrument: m.instrument)
        let reason: CancelReason = m.reason == .killSwitch ? .killSwitch : .massCancel
        for t in targets {
            books[t.book].cancel(t.slot, reason: reason, request: nil, registry: &registry, out: &out)
        }
        out.append(.massCanceled(MassCancelReport(requestID: m.requestID, session: m.session, scope: m.scope, instrument: m.instrument, canceledCount: targets.count)))
    }

    private func massStatus(_ m: MassStatusRequest, out: inout [VenueEvent]) {
        if let instrument = m.instrument, bookIndex(instrument) == nil {
            out.append(.rejected(Rejection(command: .massStatus, session: m.session, clOrdID: ClOrdID(m.requestID), origClOrdID: nil, orderID: nil, reason: .unknownInstrument)))
            return
        }
        let reports = liveOrders(scope: m.scope, instrument: m.instrument).map { books[$0.book].statusReport($0.slot) }
        out.append(.massStatus(MassStatusReport(requestID: m.requestID, session: m.session, orders: reports)))
    }

    private mutating func endOfDay(out: inout [VenueEvent]) {
        for t in liveOrders(scope: .all, instrument: nil) where books[t.book].records[Int(t.slot)].tif == .day {
            books[t.book].cancel(t.slot, reason: .expired, request: nil, registry: &registry, out: &out)
        }
    }

    private mutating func expireDue(_ now: Int64, out: inout [VenueEvent]) {
        // Books in configuration order, each earliest first: deterministic.
        var next = Int64.max
        for b in books.indices {
            books[b].expireDue(now, registry: &registry, out: &out)
            if let e = books[b].expiries.next { next = min(next, e) }
        }
        registry.earliestExpiry = next
    }
}

extension OrderBook {
    func statusReport(_ s: Int32) -> OrderStatusReport {
        let r = records[Int(s)]
        return OrderStatusReport(ref: ref(s), instrument: instrument, side: r.side, type: orderType(r), timeInForce: timeInForce(r),
                                 quantity: Quantity(units: r.quantity), leavesQuantity: Quantity(units: r.leaves),
                                 cumulativeQuantity: Quantity(units: r.cum), status: r.cum > 0 ? .partiallyFilled : .new,
                                 isTriggered: r.state != .pendingStop)
    }
}
