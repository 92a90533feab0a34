extension TradingState {
    /// Folds one journal event into the state. On a thrown ``FoldError`` nothing has changed.
    public mutating func apply(_ event: JournalEvent) throws(FoldError) {
        let kind = event.kind
        switch event {
        case .instrumentDefined(let instrument, _):
            try define(instrument)
        case .orderIntent(let intent):
            try accept(intent)
        case .orderAcknowledged(let id, let venueOrderID, _):
            try updateOrder(id, .acknowledged, kind) { $0.venueOrderID = venueOrderID }
        case .partialFill(let e):
            try execute(e, completes: false)
        case .fill(let e):
            try execute(e, completes: true)
        case .cancelRequested(let id, _):
            try updateOrder(id, .cancelRequested, kind)
        case .cancelAccepted(let id, _):
            try updateOrder(id, .canceled, kind)
        case .cancelRejected(let id, _, _):
            try updateOrder(id, .cancelRejected, kind)
        case .replaceRequested(let id, let replacement, _):
            guard orderSlots[replacement.newClOrdID] == nil else {
                throw FoldError(.duplicateOrder, kind, "replacement ClOrdID \(replacement.newClOrdID) is already in use", clOrdID: id)
            }
            try updateOrder(id, .replaceRequested(replacement), kind)
        case .replaceAccepted(let id, _):
            try acceptReplace(id)
        case .replaceRejected(let id, _, _):
            try updateOrder(id, .replaceRejected, kind)
        case .orderRejected(let id, _, _):
            try updateOrder(id, .rejected, kind)
        case .orderExpired(let id, _):
            try updateOrder(id, .expired, kind)
        case .orderSuspended(let id, _):
            try updateOrder(id, .suspended, kind)
        case .orderResumed(let id, _):
            try updateOrder(id, .resumed, kind)
        case .fixSessionState(let s):
            fixSessions[s.sessionID] = FixSequences(lastInbound: s.lastInboundSequence, lastOutbound: s.lastOutboundSequence)
        case .fixOutboundMessage(let m):
            var seqs = fixSessions[m.sessionID] ?? FixSequences(lastInbound: 0, lastOutbound: 0)
            guard seqs.lastOutbound < .max, m.sequence == seqs.lastOutbound + 1 else {
                throw FoldError(.sequenceGap, kind, "session \(m.sessionID) expected outbound MsgSeqNum \(seqs.lastOutbound &+ 1), got \(m.sequence)")
            }
            seqs.lastOutbound = m.sequence
            fixSessions[m.sessionID] = seqs
        case .leaderElected(let epoch, let nodeID, let at):
            if let current = leader, epoch <= current.epoch {
                throw FoldError(.staleLeaderEpoch, kind, "epoch \(epoch) for \(nodeID) does not exceed current epoch \(current.epoch) of \(current.nodeID)")
            }
            leader = Leader(epoch: epoch, nodeID: nodeID, at: at)
        case .riskCommand(let c):
            if c.action == .resume { restrictions[c.scope] = nil } else { restrictions[c.scope] = c.action }
        case .reconciliationCorrection(let c):
            try correct(c)
        case .snapshotMarker(let sequence, _):
            lastSnapshotSequence = sequence
        case .corporateAction(let e):
            try applyCorporateAction(e)
        }
        eventCount &+= 1
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
        instruments[instrument.id] = instrument
    }

    private mutating func accept(_ intent: OrderIntent) throws(FoldError) {
        let request = intent.request
        guard orderSlots[request.clOrdID] == nil else {
            throw FoldError(.duplicateOrder, .orderIntent, "ClOrdID \(request.clOrdID) is already in use", clOrdID: request.clOrdID)
        }
        guard instruments[request.instrument] != nil else {
            throw FoldError(.unknownInstrument, .orderIntent, "order \(request.clOrdID) names undefined instrument \(request.instrument)", clOrdID: request.clOrdID)
        }
        guard request.quantity.units > 0 else {
            throw FoldError(.invalidOrder, .orderIntent, "order \(request.clOrdID) quantity \(request.quantity) is not positive", clOrdID: request.clOrdID)
        }
        var order = Order(request: request)
        if case .rejected = intent.decision {
            do throws(OrderError) { try order.apply(.rejected) } catch {
                throw FoldError(.orderTransition, .orderIntent, error.message, clOrdID: request.clOrdID, orderError: error)
            }
        }
        insert(order)
    }

    private mutating func updateOrder(
        _ id: ClOrdID, _ event: OrderEvent, _ kind: JournalEventKind, then update: (inout Order) -> Void = { _ in }
    ) throws(FoldError) {
        guard let index = orderSlots[id] else {
            throw FoldError(.unknownOrder, kind, "no order with ClOrdID \(id)", clOrdID: id)
        }
        do throws(OrderError) { try orderStore[index].apply(event) } catch {  // atomic: unchanged on throw
            throw FoldError(.orderTransition, kind, error.description, clOrdID: id, orderError: error)
        }
        update(&orderStore[index])
    }

    private mutating func acceptReplace(_ id: ClOrdID) throws(FoldError) {
        guard let index = orderSlots[id] else {
            throw FoldError(.unknownOrder, .replaceAccepted, "no order with ClOrdID \(id)", clOrdID: id)
        }
        var order = orderStore[index]
        do throws(OrderError) { try order.apply(.replaceAccepted) } catch {
            throw FoldError(.orderTransition, .replaceAccepted, error.description, clOrdID: id, orderError: error)
        }
        guard let next = order.successor() else {
            throw FoldError(.orderTransition, .replaceAccepted, "order \(id) has no replacement to continue as", clOrdID: id)
        }
        guard orderSlots[next.clOrdID] == nil else {
            throw FoldError(.duplicateOrder, .replaceAccepted, "replacement ClOrdID \(next.clOrdID) is already in use", clOrdID: id)
        }
        orderStore[index] = order
        insert(next)
    }

    private mutating func execute(_ e: Execution, completes: Bool) throws(FoldError) {
        let kind: JournalEventKind = completes ? .fill : .partialFill
        guard let index = orderSlots[e.clOrdID] else {
            throw FoldError(.unknownOrder, kind, "no order with ClOrdID \(e.clOrdID)", clOrdID: e.clOrdID)
        }
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
        let request = orderStore[index].request
        let key = PositionKey(account: request.account, instrument: request.instrument)
        do throws(FoldError) {
            try book(key, direction: request.side.direction, quantity: e.quantity, price: e.price, fee: e.fee, kind, e.clOrdID)
        } catch {
            orderStore[index].undo(undo)
            throw error
        }
    }

    private mutating func insert(_ order: Order) {
        orderSlots[order.clOrdID] = orderStore.count
        orderStore.append(order)
    }

    /// Books a trade to a position, creating it on first use; all-or-nothing.
    private mutating func book(
        _ key: PositionKey, direction: Int64, quantity: Quantity, price: Price, fee: Money?,
        _ kind: JournalEventKind, _ id: ClOrdID?
    ) throws(FoldError) {
        let existing = positions.index(forKey: key)
        let instrument = existing == nil ? instruments[key.instrument] : nil
        if existing == nil, instrument == nil {
            throw FoldError(.unknownInstrument, kind, "position \(key) names undefined instrument \(key.instrument)", clOrdID: id)
        }
        do throws(ArithmeticError) {
            if let existing {
                let currency = positions.values[existing].currency
                try positions.values[existing].trade(direction: direction, quantity: quantity, price: price, fee: fee ?? .zero(currency))
            } else if let instrument {
                var position = Position(currency: instrument.currency, multiplier: instrument.multiplier)
                try position.trade(direction: direction, quantity: quantity, price: price, fee: fee ?? .zero(instrument.currency))
                positions[key] = position
            }
        } catch {
            throw FoldError(.arithmetic, kind, "position \(key): \(error.message)", clOrdID: id, arithmeticError: error)
        }
    }

    private mutating func correct(_ c: ReconciliationCorrection) throws(FoldError) {
        guard instruments[c.instrument] != nil else {
            throw FoldError(.unknownInstrument, .reconciliationCorrection, "correction names undefined instrument \(c.instrument)")
        }
        let key = PositionKey(account: c.account, instrument: c.instrument)
        let current = positions[key]?.netQuantity ?? .zero
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
        var updated: [(PositionKey, Position)] = []
        for (key, position) in positions where key.instrument == e.instrument {
            var p = position
            do throws(ArithmeticError) { try p.apply(e.action) } catch {
                throw FoldError(.arithmetic, .corporateAction, "position \(key): \(error.message)", arithmeticError: error)
            }
            updated.append((key, p))
        }
        for (key, p) in updated { positions[key] = p }
        if case .symbolChange(let symbol) = e.action {
            instrument.symbol = symbol
            instruments[e.instrument] = instrument
        }
    }
}
