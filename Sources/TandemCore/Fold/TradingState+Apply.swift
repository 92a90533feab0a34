extension TradingState {
    /// Folds one journal event into the state, and sets ``lastOrderEffect`` to what it did to an
    /// order. On a thrown ``FoldError`` nothing has changed.
    public mutating func apply(_ event: consuming JournalEvent) throws(FoldError) {
        var effect = OrderEffect.none
        switch consume event {  // payloads move into the cases' bindings instead of being copied out
        case .instrumentDefined(let instrument, _):
            try define(instrument)
        case .orderIntent(let intent):
            effect = try accept(intent)
        case .orderAcknowledged(let id, let venueOrderID, _):
            try updateOrder(id, .acknowledged, .orderAcknowledged) { $0.venueOrderID = venueOrderID }
        case .partialFill(let e):
            effect = try execute(e, completes: false)
        case .fill(let e):
            effect = try execute(e, completes: true)
        case .cancelRequested(let id, _):
            try updateOrder(id, .cancelRequested, .cancelRequested)
        case .cancelAccepted(let id, _):
            let handle = try updateOrder(id, .canceled, .cancelAccepted)
            effect = self.effect(.ended, handle)
        case .cancelRejected(let id, _, _):
            try updateOrder(id, .cancelRejected, .cancelRejected)
        case .replaceRequested(let id, let replacement, _):
            guard handle(of: replacement.newClOrdID) == nil else {
                throw FoldError(.duplicateOrder, .replaceRequested, "replacement ClOrdID \(replacement.newClOrdID) is already in use", clOrdID: id)
            }
            try updateOrder(id, .replaceRequested(replacement), .replaceRequested)
        case .replaceAccepted(let id, _):
            let (order, replacement) = try acceptReplace(id)
            effect = self.effect(.replaced, order, replacement: replacement)
        case .replaceRejected(let id, _, _):
            try updateOrder(id, .replaceRejected, .replaceRejected)
        case .orderRejected(let id, _, _):
            let handle = try updateOrder(id, .rejected, .orderRejected)
            effect = self.effect(.venueRejected, handle)
        case .orderExpired(let id, _):
            let handle = try updateOrder(id, .expired, .orderExpired)
            effect = self.effect(.ended, handle)
        case .orderSuspended(let id, _):
            try updateOrder(id, .suspended, .orderSuspended)
        case .orderResumed(let id, _):
            try updateOrder(id, .resumed, .orderResumed)
        case .fixSessionState(let s):
            fixSessions[s.sessionID] = FixSequences(lastInbound: s.lastInboundSequence, lastOutbound: s.lastOutboundSequence)
        case .fixOutboundMessage(let m):
            var seqs = fixSessions[m.sessionID] ?? FixSequences(lastInbound: 0, lastOutbound: 0)
            guard seqs.lastOutbound < .max, m.sequence == seqs.lastOutbound + 1 else {
                throw FoldError(.sequenceGap, .fixOutboundMessage, "session \(m.sessionID) expected outbound MsgSeqNum \(seqs.lastOutbound &+ 1), got \(m.sequence)")
            }
            seqs.lastOutbound = m.sequence
            fixSessions[m.sessionID] = seqs
        case .leaderElected(let epoch, let nodeID, let at):
            if let current = leader, epoch <= current.epoch {
                throw FoldError(.staleLeaderEpoch, .leaderElected, "epoch \(epoch) for \(nodeID) does not exceed current epoch \(current.epoch) of \(current.nodeID)")
            }
            leader = Leader(epoch: epoch, nodeID: nodeID, at: at)
        case .riskCommand(let c):
            if c.action == .resume { restrictions[c.scope] = nil } else { restrictions[c.scope] = c.action }
            // A global halt or resume is also the trading mode's (docs/risk.md, "Restore").
            if c.scope == .global, c.action == .halt || c.action == .resume {
                let to: TradingMode = c.action == .halt ? .halted : .active
                if riskMode != to {
                    lastRiskModeChange = RiskModeChange(
                        from: riskMode, to: to, rule: c.action == .halt ? "operator_halt" : "operator_resume",
                        reason: "global risk command \(c.action == .halt ? "halt" : "resume") by \(c.issuedBy)", at: c.at)
                    riskMode = to
                }
            }
        case .riskModeChanged(let c):
            // `from` is informational: the writer's engine may have been behind the fold (e.g. a
            // global command journaled meanwhile); the journaled `to` is the mode from here on.
            riskMode = c.to
            lastRiskModeChange = c
        case .reconciliationCorrection(let c):
            try correct(c)
        case .snapshotMarker(let sequence, _):
            lastSnapshotSequence = sequence
        case .corporateAction(let e):
            try applyCorporateAction(e)
        }
        lastOrderEffect = effect
        eventCount &+= 1
    }

    /// The effect on the order at `handle`. Take the handle first, then call this: as an argument of
    /// this call, a mutation of `self` would run while the call holds a copy of `self` (copying the
    /// order store on write, every event).
    @inline(__always)
    private func effect(_ kind: OrderEffect.Kind, _ handle: Int, replacement: Int = -1, price: Price = Price(units: 0)) -> OrderEffect {
        OrderEffect(kind: kind, order: handle, replacement: replacement, side: orderStore[handle].request.side,
                    instrument: orderStore[handle].request.instrument, price: price)
    }

    private mutating func define(_ instrument: Instrument) throws(FoldError) {
        if let existing = instruments[instrument.id] {
            guard existing == instrument else {
                throw FoldError(.invalidInstrument, .instrumentDefined, "instrument \(instrument.id) is already defined differently (\(existing.symbol) on \(existing.venue))")
            }
            return
        }
        guard instrument.tickSize.units > 0, instrument.lotSize.units > 0 else {
            throw FoldError(.invalidInstrument, .instrumentDefined, "instrument \(instrument.id) \(instrument.symbol) needs a positive tick (\(instrument.tickSize)) and lot (\(instrument.lotSize))")
        }
        definedInstruments.insert(instrument.id)
        instruments[instrument.id] = instrument
    }

    private mutating func accept(_ intent: OrderIntent) throws(FoldError) -> OrderEffect {
        let request = intent.request
        let hash = ClOrdIDHash.of(request.clOrdID)
        guard handle(of: request.clOrdID, hash: hash) == nil else {
            throw FoldError(.duplicateOrder, .orderIntent, "ClOrdID \(request.clOrdID) is already in use", clOrdID: request.clOrdID)
        }
        guard definedInstruments.contains(request.instrument, instruments) else {
            throw FoldError(.unknownInstrument, .orderIntent, "order \(request.clOrdID) names undefined instrument \(request.instrument)", clOrdID: request.clOrdID)
        }
        guard request.quantity.units > 0 else {
            throw FoldError(.invalidOrder, .orderIntent, "order \(request.clOrdID) quantity \(request.quantity) is not positive", clOrdID: request.clOrdID)
        }
        let handle = orderStore.count
        guard case .rejected = intent.decision else {
            insert(Order(request: request), hash: hash)  // built in place: no local copy to destroy
            return effect(.accepted, handle)
        }
        var order = Order(request: request)
        do throws(OrderError) { try order.apply(.rejected) } catch {
            throw FoldError(.orderTransition, .orderIntent, error.message, clOrdID: request.clOrdID, orderError: error)
        }
        insert(order, hash: hash)
        return effect(.riskRejected, handle)
    }

    /// The handle of the order `id` names, and its hash: open orders from the small open table;
    /// final ones from the full index (their state machine then refuses the event).
    @inline(__always)
    private func locate(_ id: ClOrdID, _ kind: JournalEventKind) throws(FoldError) -> (handle: Int, hash: UInt64) {
        let hash = ClOrdIDHash.of(id)
        if let handle = openIndex.find(id, hash: hash, in: orderStore) { return (handle, hash) }
        if let handle = handle(of: id, hash: hash) { return (handle, hash) }
        throw FoldError(.unknownOrder, kind, "no order with ClOrdID \(id)", clOrdID: id)
    }

    /// Keeps `openIndex` exactly the non-final orders after a successful transition.
    @inline(__always)
    private mutating func closeIfFinal(_ handle: Int, hash: UInt64) {
        if orderStore[handle].status.isFinal { openIndex.remove(hash: hash, handle: handle) }
    }

    /// Returns the order's handle.
    @discardableResult
    private mutating func updateOrder(
        _ id: ClOrdID, _ event: OrderEvent, _ kind: JournalEventKind, then update: (inout Order) -> Void = { _ in }
    ) throws(FoldError) -> Int {
        let (index, hash) = try locate(id, kind)
        do throws(OrderError) { try orderStore[index].apply(event) } catch {  // atomic: unchanged on throw
            throw FoldError(.orderTransition, kind, error.description, clOrdID: id, orderError: error)
        }
        update(&orderStore[index])
        closeIfFinal(index, hash: hash)
        return index
    }

    /// Returns the order's handle and its replacement's.
    private mutating func acceptReplace(_ id: ClOrdID) throws(FoldError) -> (Int, Int) {
        let (index, hash) = try locate(id, .replaceAccepted)
        var order = orderStore[index]
        do throws(OrderError) { try order.apply(.replaceAccepted) } catch {
            throw FoldError(.orderTransition, .replaceAccepted, error.description, clOrdID: id, orderError: error)
        }
        guard let next = order.successor() else {
            throw FoldError(.orderTransition, .replaceAccepted, "order \(id) has no replacement to continue as", clOrdID: id)
        }
        let nextHash = ClOrdIDHash.of(next.clOrdID)
        guard handle(of: next.clOrdID, hash: nextHash) == nil else {
            throw FoldError(.duplicateOrder, .replaceAccepted, "replacement ClOrdID \(next.clOrdID) is already in use", clOrdID: id)
        }
        orderStore[index] = order
        closeIfFinal(index, hash: hash)
        let replacement = orderStore.count
        insert(next, hash: nextHash)
        return (index, replacement)
    }

    private mutating func execute(_ e: Execution, completes: Bool) throws(FoldError) -> OrderEffect {
        let kind: JournalEventKind = completes ? .fill : .partialFill
        let (index, hash) = try locate(e.clOrdID, kind)
        let undo = orderStore[index].fillUndo
        do throws(OrderError) { try orderStore[index].apply(.fill(quantity: e.quantity, price: e.price)) } catch {
            throw FoldError(.orderTransition, kind, error.description, clOrdID: e.clOrdID, orderError: error)
        }
        guard (orderStore[index].status == .filled) == completes else {
            let order = orderStore[index]
            orderStore[index].undo(undo)
            throw FoldError(.fillKindMismatch, kind, completes
                ? "fill \(e.execID) leaves \(order.request.quantity - order.filledQuantity) of \(e.clOrdID) open; expected partial_fill"
                : "partial fill \(e.execID) completes \(e.clOrdID); expected fill", clOrdID: e.clOrdID)
        }
        // The order's position slot is cached after its first fill: later fills skip the key hash.
        let cached = Int(orderPositions[index])
        let direction = orderStore[index].request.side.direction
        do throws(FoldError) {
            let slot: Int
            if cached >= 0 {
                slot = cached
                try trade(slot, direction: direction, quantity: e.quantity, price: e.price, fee: e.fee, kind, e.clOrdID)
            } else {
                let key = PositionKey(account: orderStore[index].request.account, instrument: orderStore[index].request.instrument)
                slot = try book(key, direction: direction, quantity: e.quantity, price: e.price, fee: e.fee, kind, e.clOrdID)
            }
            orderPositions[index] = Int32(truncatingIfNeeded: slot)
        } catch {
            orderStore[index].undo(undo)
            throw error
        }
        closeIfFinal(index, hash: hash)
        return effect(completes ? .filled : .partiallyFilled, index, price: e.price)
    }

    @inline(__always)
    private mutating func insert(_ order: __owned Order, hash: UInt64) {
        let handle = orderStore.count
        let open = !order.status.isFinal
        orderStore.append(order)
        orderPositions.append(-1)
        if orderIndex.isFull { orderIndex.grow(orderStore) }
        orderIndex.insert(hash: hash, handle: handle)
        if open { openIndex.insert(hash: hash, handle: handle) }
    }

    /// Books a trade to a position, creating it on first use; all-or-nothing. Returns its slot.
    @discardableResult
    private mutating func book(
        _ key: PositionKey, direction: Int64, quantity: Quantity, price: Price, fee: Money?,
        _ kind: JournalEventKind, _ id: ClOrdID?
    ) throws(FoldError) -> Int {
        if let slot = positionSlot(key) {
            try trade(slot, direction: direction, quantity: quantity, price: price, fee: fee, kind, id)
            return slot
        }
        guard let instrument = instruments[key.instrument] else {
            throw FoldError(.unknownInstrument, kind, "position \(key) names undefined instrument \(key.instrument)", clOrdID: id)
        }
        var position = Position(currency: instrument.currency, multiplier: instrument.multiplier)
        do throws(ArithmeticError) {
            try position.trade(direction: direction, quantity: quantity, price: price, fee: fee ?? .zero(instrument.currency))
        } catch {
            throw FoldError(.arithmetic, kind, "position \(key): \(error.message)", clOrdID: id, arithmeticError: error)
        }
        return addPosition(key, position)
    }

    /// Trades an existing position in place (``Position/trade`` leaves it unchanged when it throws).
    @inline(__always)
    private mutating func trade(
        _ slot: Int, direction: Int64, quantity: Quantity, price: Price, fee: Money?, _ kind: JournalEventKind, _ id: ClOrdID?
    ) throws(FoldError) {
        let currency = positionStore[slot].currency
        do throws(ArithmeticError) {
            try positionStore[slot].trade(direction: direction, quantity: quantity, price: price, fee: fee ?? .zero(currency))
        } catch {
            throw FoldError(.arithmetic, kind, "position \(positionKeys[slot]): \(error.message)", clOrdID: id, arithmeticError: error)
        }
    }

    private mutating func correct(_ c: ReconciliationCorrection) throws(FoldError) {
        guard instruments.index(forKey: c.instrument) != nil else {
            throw FoldError(.unknownInstrument, .reconciliationCorrection, "correction names undefined instrument \(c.instrument)")
        }
        let key = PositionKey(account: c.account, instrument: c.instrument)
        let current = positionSlot(key).map { positionStore[$0].netQuantity } ?? .zero
        let (delta, o) = c.quantity.units.subtractingReportingOverflow(current.units)
        guard !o, delta != .min else {
            throw FoldError(.arithmetic, .reconciliationCorrection, "correction of \(key) from \(current) to \(c.quantity) overflows")
        }
        guard delta != 0 else { return }
        try book(key, direction: delta > 0 ? 1 : -1, quantity: Quantity(units: abs(delta)),
                 price: c.price, fee: nil, .reconciliationCorrection, nil)
    }

    private mutating func applyCorporateAction(_ e: CorporateActionEvent) throws(FoldError) {
        guard var instrument = instruments[e.instrument] else {
            throw FoldError(.unknownInstrument, .corporateAction, "corporate action names undefined instrument \(e.instrument)")
        }
        var updated: [(Int, Position)] = []
        for slot in positionKeys.indices where positionKeys[slot].instrument == e.instrument {  // creation order
            var p = positionStore[slot]
            do throws(ArithmeticError) { try p.apply(e.action) } catch {
                throw FoldError(.arithmetic, .corporateAction, "position \(positionKeys[slot]): \(error.message)", arithmeticError: error)
            }
            updated.append((slot, p))
        }
        for (slot, p) in updated { positionStore[slot] = p }
        if case .symbolChange(let symbol) = e.action {
            instrument.symbol = symbol
            instruments[e.instrument] = instrument
        }
    }
}
