import TandemCore
import TandemFIX

/// The order manager, sans-I/O: commands and execution reports in, journal submissions and FIX
/// sends out. It reads the ``ExecutionLedger`` (the fold, including events applied and not yet
/// durable) and keeps only what the journal need not know: rate-limit buckets, which sessions are
/// up, sends waiting for a token, and orders whose fate must be confirmed with a status request.
///
/// **Write-ahead**: a new order's intent (with its risk decision) goes out as ``Action/send`` with
/// `writeAhead` events; the shell submits those held and sends the message gated on that hold, so the
/// intent and the stored message are durable, in one commit, before the bytes are written.
///
/// **Never a blind resend**: an order whose send failed, or that is pending when a session comes up
/// (after a restart or a takeover), is confirmed with OrderStatusRequest, with backoff; a venue that
/// does not know it gets it journaled as rejected. ClOrdIDs are `"<epoch>-<position>"`, the journal
/// position the intent (or cancel/replace request) lands at: unique across leaders and restarts.
public struct OrderManager: Sendable {
    /// A rate limit: `ordersPerSecond` sustained, `burst` at once.
    public struct Rate: Sendable, Hashable {
        public var ordersPerSecond: Int
        public var burst: Int
        public init(ordersPerSecond: Int, burst: Int) {
            self.ordersPerSecond = ordersPerSecond
            self.burst = burst
        }
    }

    public struct Venue: Sendable, Hashable {
        public var name: String
        /// Session ids (``FIXSessionID``) in preference order.
        public var sessions: [String]
        public var venueRate: Rate
        /// Per session; a session not listed takes `venueRate`.
        public var sessionRate: [String: Rate]

        public init(name: String, sessions: [String], venueRate: Rate, sessionRate: [String: Rate] = [:]) {
            self.name = name
            self.sessions = sessions
            self.venueRate = venueRate
            self.sessionRate = sessionRate
        }
    }

    public struct Configuration: Sendable {
        public var account: AccountID
        public var epoch: UInt64
        public var venues: [Venue]
        /// Which venue trades each instrument.
        public var routes: [InstrumentID: String]
        public var risk: any PreTradeRisk
        /// An order not acknowledged this long after it was sent is asked about.
        public var statusRequestTimeout: Duration
        public var retryInitial: Duration
        public var retryMax: Duration
        public var retryAttempts: Int

        public init(account: AccountID, epoch: UInt64, venues: [Venue], routes: [InstrumentID: String],
                    risk: any PreTradeRisk = AcceptAllRisk(), statusRequestTimeout: Duration = .seconds(1),
                    retryInitial: Duration = .milliseconds(100), retryMax: Duration = .seconds(2), retryAttempts: Int = 5) {
            self.account = account
            self.epoch = epoch
            self.venues = venues
            self.routes = routes
            self.risk = risk
            self.statusRequestTimeout = statusRequestTimeout
            self.retryInitial = retryInitial
            self.retryMax = retryMax
            self.retryAttempts = retryAttempts
        }
    }

    public enum Command: Sendable, Hashable {
        case submit(instrument: InstrumentID, side: Side, type: OrderType, timeInForce: TimeInForce, quantity: Quantity)
        case cancel(ClOrdID)
        case replace(ClOrdID, quantity: Quantity, type: OrderType?)
    }

    public enum Input: Sendable {
        case command(Command)
        case executionReport(session: String, seq: Int, ExecutionReport)
        case cancelReject(session: String, seq: Int, OrderCancelReject)
        case sessionUp(String)
        case sessionDown(String)
        /// A send did not (certainly) reach the venue: its write failed or the session refused it.
        case sendFailed(session: String, ClOrdID, reason: String)
        case tick
    }

    public enum Action: Sendable {
        /// Fold and journal these; `inbound` (session, MsgSeqNum) is restated with them as the
        /// session's last inbound seq, built from the ledger at submission.
        case journal([JournalEvent], inbound: (session: String, seq: Int)?)
        /// Journal `writeAhead` (held), then send `message` gated on that hold (or ungated when empty).
        case send(session: String, message: any FIXMessageBody, writeAhead: [JournalEvent], order: ClOrdID)
        /// Call again with `.tick` at this monotonic instant.
        case wake(at: Duration)
        /// Something an operator should see in the log.
        case log(LogLevel, String, order: ClOrdID?)
    }

    public enum LogLevel: Sendable { case info, warning, error }

    private struct Paced: Sendable {
        var venue: String
        var message: any FIXMessageBody
        var order: ClOrdID
    }

    private struct StatusCheck: Sendable {
        var due: Duration
        var attempts: Int
    }

    public let configuration: Configuration
    private var venueBuckets: [String: TokenBucket] = [:]
    private var sessionBuckets: [String: TokenBucket] = [:]
    private var up: Set<String> = []
    private var paced: [Paced] = []
    private var checks: [ClOrdID: StatusCheck] = [:]
    /// Cancel/replace request ClOrdID → the order it is about (reports may lack OrigClOrdID).
    private var requestFor: [ClOrdID: ClOrdID] = [:]
    private var venueOf: [String: String] = [:]
    /// Orders open in the journal when this term's sessions came up, not yet confirmed by the venue's
    /// status reply (takeover reconciliation); nil until a session first comes up.
    private var reconciling: Set<ClOrdID>?

    public init(configuration: Configuration) {
        self.configuration = configuration
        for v in configuration.venues {
            venueBuckets[v.name] = TokenBucket(rate: v.venueRate.ordersPerSecond, burst: v.venueRate.burst)
            for s in v.sessions {
                let r = v.sessionRate[s] ?? v.venueRate
                sessionBuckets[s] = TokenBucket(rate: r.ordersPerSecond, burst: r.burst)
                venueOf[s] = v.name
            }
        }
    }

    /// FIX sessions logged on.
    public var sessionsUp: Int { up.count }
    /// True once a session came up and every order the journal had open then has been confirmed (or
    /// corrected) by the venue's answer to a status request: the point where a new leader lets its
    /// strategy trade (DESIGN failover step 6–7).
    public var isReconciled: Bool { reconciling?.isEmpty ?? false }
    /// Orders still waiting for their reconciliation answer.
    public var reconcilingCount: Int { reconciling?.count ?? 0 }
    /// Sends waiting for a rate-limit token.
    public var pacedCount: Int { paced.count }
    /// Orders waiting to be confirmed by a status request.
    public var unconfirmedCount: Int { checks.count }

    public mutating func handle(_ input: Input, ledger: borrowing ExecutionLedger, now: Timestamp, mono: Duration) -> [Action] {
        var out: [Action] = []
        switch input {
        case .command(let c): command(c, ledger, now, mono, &out)
        case .executionReport(let s, let seq, let r): report(r, session: s, seq: seq, ledger, now, &out)
        case .cancelReject(let s, let seq, let r): cancelReject(r, session: s, seq: seq, ledger, now, &out)
        case .sessionUp(let s):
            up.insert(s)
            // After a restart or takeover every order the journal has open is confirmed with the
            // venue (reconciliation, DESIGN step 6) — what was in flight included, never resent blindly.
            var toConfirm = reconciling ?? []
            for order in ledger.state.openOrders where venue(for: order.request.instrument) == venueOf[s] {
                if reconciling == nil || isUnconfirmed(order) { toConfirm.insert(order.clOrdID) }
                if checks[order.clOrdID] == nil { checks[order.clOrdID] = StatusCheck(due: mono, attempts: 0) }
            }
            if reconciling == nil {
                out.append(.log(.info, "reconciling \(toConfirm.count) open orders with the venue (of \(ledger.state.openOrders.count) open in the journal)", order: nil))
            }
            reconciling = toConfirm
        case .sessionDown(let s):
            up.remove(s)
        case .sendFailed(_, let id, let reason):
            out.append(.log(.warning, "send not confirmed (\(reason)); will ask the venue", order: id))
            checks[id] = StatusCheck(due: mono + configuration.retryInitial, attempts: 0)
        case .tick:
            break
        }
        drainPaced(ledger, mono, &out)
        runChecks(ledger, mono, &out)
        if let next = nextWake(mono) { out.append(.wake(at: next)) }
        return out
    }

    // MARK: Commands

    private mutating func command(_ c: Command, _ ledger: borrowing ExecutionLedger, _ now: Timestamp, _ mono: Duration, _ out: inout [Action]) {
        let state = ledger.state
        let position = state.eventCount + 1
        let id = ClOrdID("\(configuration.epoch)-\(position)")
        switch c {
        case .submit(let instrument, let side, let type, let tif, let quantity):
            let request = OrderRequest(clOrdID: id, account: configuration.account, instrument: instrument, side: side,
                                       type: type, timeInForce: tif, quantity: quantity)
            var decision = configuration.risk.check(request, state: state, now: now)
            let venue = venue(for: instrument)
            let symbol = state.instruments[instrument]?.symbol
            if case .accepted = decision {
                if venue == nil || symbol == nil {
                    decision = .rejected(rule: "no_route", reason: "instrument \(instrument) has no configured venue or definition")
                } else if session(of: venue!) == nil {
                    decision = .rejected(rule: "venue_unavailable", reason: "no FIX session of \(venue!) is logged on")
                }
            }
            let intent = JournalEvent.orderIntent(OrderIntent(request: request, decision: decision, at: now))
            guard case .accepted = decision, let venue, let symbol else {
                out.append(.journal([intent], inbound: nil))
                return
            }
            let nos = NewOrderSingle(request, symbol: symbol, transactTime: now)
            sendOrPace(venue: venue, message: nos, order: id, writeAhead: [intent], mono, &out)
        case .cancel(let target):
            guard let order = state.order(target), !order.status.isFinal, let venue = venue(for: order.request.instrument),
                  let symbol = state.instruments[order.request.instrument]?.symbol else {
                out.append(.log(.warning, "cancel of an order that is not open", order: target))
                return
            }
            guard order.status != .pendingCancel, order.status != .pendingReplace else {
                out.append(.log(.info, "cancel ignored: a cancel or replace is already outstanding", order: target))
                return
            }
            let request = OrderCancelRequest(origClOrdID: target, clOrdID: id, orderID: order.venueOrderID, account: configuration.account,
                                             symbol: symbol, side: order.request.side, transactTime: now, orderQty: order.request.quantity)
            requestFor[id] = target
            sendOrPace(venue: venue, message: request, order: target,
                       writeAhead: [.cancelRequested(clOrdID: target, at: now)], mono, &out)
        case .replace(let target, let quantity, let type):
            guard let order = state.order(target), order.status == .new || order.status == .partiallyFilled,
                  let venue = venue(for: order.request.instrument),
                  let symbol = state.instruments[order.request.instrument]?.symbol else {
                out.append(.log(.warning, "replace of an order that is not working", order: target))
                return
            }
            let replacement = ReplaceRequest(newClOrdID: id, quantity: quantity, type: type)
            if case .rejected(let rule, let reason) = configuration.risk.checkReplace(order, with: replacement, state: state, now: now) {
                // Recorded like a refused intent: the request and its refusal naming the rule, never sent.
                out.append(.journal([.replaceRequested(clOrdID: target, replacement: replacement, at: now),
                                     .replaceRejected(clOrdID: target, reason: "risk \(rule): \(reason)", at: now)], inbound: nil))
                out.append(.log(.warning, "replace refused by pre-trade risk (\(rule)): \(reason)", order: target))
                return
            }
            let message = OrderCancelReplaceRequest(replacement, of: order.request, orderID: order.venueOrderID, symbol: symbol, transactTime: now)
            requestFor[id] = target
            sendOrPace(venue: venue, message: message, order: target,
                       writeAhead: [.replaceRequested(clOrdID: target, replacement: replacement, at: now)], mono, &out)
        }
    }

    /// Sends now if both the venue's and a session's bucket have a token; otherwise journals the
    /// write-ahead events now (so the order exists and the strategy sees it) and sends when a token comes.
    private mutating func sendOrPace(venue: String, message: any FIXMessageBody, order: ClOrdID, writeAhead: [JournalEvent],
                                     _ mono: Duration, _ out: inout [Action]) {
        if paced.isEmpty, let s = takeToken(venue: venue, mono) {
            out.append(.send(session: s, message: message, writeAhead: writeAhead, order: order))
            expectAnswer(order, mono)
            return
        }
        out.append(.journal(writeAhead, inbound: nil))
        paced.append(Paced(venue: venue, message: message, order: order))
        out.append(.log(.info, "rate limit: send paced (\(paced.count) waiting)", order: order))
    }

    private mutating func takeToken(venue: String, _ mono: Duration) -> String? {
        guard var vb = venueBuckets[venue], vb.available(now: mono) else { return nil }
        for s in configuration.venues.first(where: { $0.name == venue })?.sessions ?? [] where up.contains(s) {
            if sessionBuckets[s]?.take(now: mono) == true {
                _ = vb.take(now: mono)
                venueBuckets[venue] = vb
                return s
            }
        }
        venueBuckets[venue] = vb
        return nil
    }

    private mutating func drainPaced(_ ledger: borrowing ExecutionLedger, _ mono: Duration, _ out: inout [Action]) {
        while let first = paced.first {
            guard let s = takeToken(venue: first.venue, mono) else { return }
            paced.removeFirst()
            if let order = ledger.state.order(first.order), order.status.isFinal { continue }
            out.append(.send(session: s, message: first.message, writeAhead: [], order: first.order))
            expectAnswer(first.order, mono)
        }
    }

    /// An order just sent is asked about if the venue has not answered within the timeout.
    private mutating func expectAnswer(_ order: ClOrdID, _ mono: Duration) {
        if checks[order] == nil { checks[order] = StatusCheck(due: mono + configuration.statusRequestTimeout, attempts: 0) }
    }

    // MARK: Reports

    private mutating func report(_ r: ExecutionReport, session: String, seq: Int, _ ledger: borrowing ExecutionLedger,
                                 _ now: Timestamp, _ out: inout [Action]) {
        let state = ledger.state
        let at = r.transactTime ?? now
        let refersToRequest = r.execType == .canceled || r.execType == .replaced || r.execType == .pendingCancel || r.execType == .pendingReplace
        // A report names the order by its current ClOrdID (after a replace, the replacement's), a
        // cancel's or replace's answer by the request's with OrigClOrdID the order's.
        var candidates: [ClOrdID] = []
        if refersToRequest, let o = r.origClOrdID { candidates.append(o) }
        if let c = r.clOrdID {
            candidates.append(c)
            if let target = requestFor[c] { candidates.append(target) }
        }
        if let o = r.origClOrdID { candidates.append(o) }
        guard let id = candidates.first(where: { state.order($0) != nil }), let order = state.order(id) else {
            out.append(.log(.warning, "execution report for an order this node does not know (exec \(r.execID), \(r.execType))", order: r.clOrdID))
            out.append(.journal([], inbound: (session, seq)))
            return
        }
        var events: [JournalEvent] = []
        let pendingNew = order.status == .pendingNew
        func ackIfNeeded() {
            if pendingNew { events.append(.orderAcknowledged(clOrdID: id, venueOrderID: r.orderID, at: at)) }
        }
        switch r.execType {
        case .new:
            ackIfNeeded()
        case .trade:
            guard let qty = r.lastQty, let px = r.lastPx, qty.units > 0 else {
                out.append(.log(.warning, "trade report without LastQty/LastPx (exec \(r.execID))", order: id))
                break
            }
            guard !ledger.bookedExecIDs.contains(r.execID) else {
                out.append(.log(.info, "execution \(r.execID) already booked (a resend)", order: id))
                break
            }
            ackIfNeeded()
            let currency = state.instruments[order.request.instrument]?.currency ?? .usd
            let e = Execution(clOrdID: id, execID: r.execID, quantity: qty, price: px, fee: Money(units: 0, currency: currency), at: at)
            let completes = order.filledQuantity.units + qty.units >= order.request.quantity.units
            events.append(completes ? .fill(e) : .partialFill(e))
        case .canceled:
            if !order.status.isFinal { events.append(.cancelAccepted(clOrdID: id, at: at)) }
        case .replaced:
            if order.status == .pendingReplace { events.append(.replaceAccepted(clOrdID: id, at: at)) }
        case .rejected:
            switch order.status {
            case .pendingNew: events.append(.orderRejected(clOrdID: id, reason: r.text ?? "rejected by the venue (\(r.ordRejReason.map(String.init) ?? "no reason"))", at: at))
            case .pendingCancel: events.append(.cancelRejected(clOrdID: id, reason: r.text ?? "rejected", at: at))
            case .pendingReplace: events.append(.replaceRejected(clOrdID: id, reason: r.text ?? "rejected", at: at))
            default: break
            }
        case .expired, .doneForDay:
            if pendingNew { events.append(.orderAcknowledged(clOrdID: id, venueOrderID: r.orderID, at: at)) }
            if !order.status.isFinal { events.append(.orderExpired(clOrdID: id, at: at)) }
        case .orderStatus:
            statusReply(r, order: order, at: at, &events, &out)
            if reconciling?.remove(id) != nil, reconciling?.isEmpty == true {
                out.append(.log(.info, "reconciliation complete", order: nil))
            }
        default:
            break
        }
        if let after = (events.isEmpty ? order : nil) ?? projected(order, events), !isUnconfirmed(after),
           reconciling?.contains(id) != true {
            checks[id] = nil
        }
        out.append(.journal(events, inbound: (session, seq)))
    }

    /// What a status reply tells about an order we are unsure of.
    private func statusReply(_ r: ExecutionReport, order: Order, at: Timestamp, _ events: inout [JournalEvent], _ out: inout [Action]) {
        let id = order.clOrdID
        switch (order.status, r.ordStatus) {
        case (.pendingNew, .rejected):
            events.append(.orderRejected(clOrdID: id, reason: "the venue does not know the order: \(r.text ?? "status rejected")", at: at))
        case (.pendingNew, .new), (.pendingNew, .partiallyFilled), (.pendingNew, .filled):
            events.append(.orderAcknowledged(clOrdID: id, venueOrderID: r.orderID, at: at))
        case (.pendingNew, .canceled), (.pendingNew, .expired):
            events.append(.orderAcknowledged(clOrdID: id, venueOrderID: r.orderID, at: at))
            events.append(.cancelAccepted(clOrdID: id, at: at))
        case (.pendingCancel, .canceled), (.new, .canceled), (.partiallyFilled, .canceled), (.pendingReplace, .canceled):
            events.append(.cancelAccepted(clOrdID: id, at: at))
        case (.new, .rejected), (.partiallyFilled, .rejected), (.pendingCancel, .rejected), (.pendingReplace, .rejected),
             (.new, .expired), (.partiallyFilled, .expired):
            // The venue no longer has it working (it answers "unknown" for a finished order): it ended
            // while no one was listening. Its fills, if any, come by the FIX resend, not from here.
            events.append(.orderExpired(clOrdID: id, at: at))
        case (.pendingCancel, .new), (.pendingCancel, .partiallyFilled):
            events.append(.cancelRejected(clOrdID: id, reason: "the venue still works the order: the cancel never reached it", at: at))
        case (.pendingReplace, .new), (.pendingReplace, .partiallyFilled):
            events.append(.replaceRejected(clOrdID: id, reason: "the venue still works the order unchanged: the replace never reached it", at: at))
        default:
            break
        }
        if r.cumQty.units > order.filledQuantity.units {
            out.append(.log(.warning, "the venue reports \(r.cumQty) filled, the journal \(order.filledQuantity): reconciliation corrects this", order: id))
        }
    }

    private func projected(_ order: Order, _ events: [JournalEvent]) -> Order? {
        var o = order
        for e in events {
            let ev: OrderEvent? = switch e {
            case .orderAcknowledged: .acknowledged
            case .orderRejected: .rejected
            case .cancelAccepted: .canceled
            case .orderExpired: .expired
            case .replaceAccepted: .replaceAccepted
            case .cancelRejected: .cancelRejected
            case .replaceRejected: .replaceRejected
            case .fill(let x), .partialFill(let x): .fill(quantity: x.quantity, price: x.price)
            default: nil
            }
            if let ev { o = (try? o.applying(ev)) ?? o }
        }
        return o
    }

    private func isUnconfirmed(_ o: Order) -> Bool {
        o.status == .pendingNew || o.status == .pendingCancel || o.status == .pendingReplace
    }

    private mutating func cancelReject(_ r: OrderCancelReject, session: String, seq: Int, _ ledger: borrowing ExecutionLedger,
                                       _ now: Timestamp, _ out: inout [Action]) {
        let id = ledger.state.order(r.origClOrdID) != nil ? r.origClOrdID : (requestFor[r.clOrdID] ?? r.origClOrdID)
        var events: [JournalEvent] = []
        if let order = ledger.state.order(id) {
            let reason = r.text ?? "rejected (\(r.cxlRejReason.map(String.init) ?? "no reason"))"
            if r.respondingToReplace, order.status == .pendingReplace {
                events.append(.replaceRejected(clOrdID: id, reason: reason, at: now))
            } else if !r.respondingToReplace, order.status == .pendingCancel {
                events.append(.cancelRejected(clOrdID: id, reason: reason, at: now))
            }
            checks[id] = nil
        }
        out.append(.journal(events, inbound: (session, seq)))
    }

    // MARK: Status checks

    private mutating func runChecks(_ ledger: borrowing ExecutionLedger, _ mono: Duration, _ out: inout [Action]) {
        for (id, check) in checks where check.due <= mono {
            guard let order = ledger.state.order(id), isUnconfirmed(order) || reconciling?.contains(id) == true else {
                checks[id] = nil
                continue
            }
            if order.status.isFinal {
                checks[id] = nil
                reconciling?.remove(id)
                continue
            }
            guard let venue = venue(for: order.request.instrument), let s = session(of: venue),
                  let symbol = ledger.state.instruments[order.request.instrument]?.symbol else { continue }
            if check.attempts >= configuration.retryAttempts {
                out.append(.log(.error, "no answer to \(check.attempts) status requests; the order stays \(order.status)", order: id))
                checks[id] = nil
                reconciling?.remove(id)
                continue
            }
            let request = OrderStatusRequest(orderID: order.venueOrderID, clOrdID: id, symbol: symbol, side: order.request.side)
            out.append(.send(session: s, message: request, writeAhead: [], order: id))
            let backoff = min(configuration.retryMax, configuration.retryInitial * (1 << min(check.attempts, 20)))
            checks[id] = StatusCheck(due: mono + max(backoff, configuration.statusRequestTimeout), attempts: check.attempts + 1)
        }
    }

    private mutating func nextWake(_ mono: Duration) -> Duration? {
        var next: Duration?
        for check in checks.values where next == nil || check.due < next! { next = check.due }  // no array per input
        if let first = paced.first, var vb = venueBuckets[first.venue] {
            let t = vb.nextToken(now: mono)
            next = next.map { min($0, t) } ?? t
        }
        return next.map { max($0, mono + .milliseconds(1)) }
    }

    private func venue(for instrument: InstrumentID) -> String? { configuration.routes[instrument] }

    private func session(of venue: String) -> String? {
        configuration.venues.first(where: { $0.name == venue })?.sessions.first(where: { up.contains($0) })
    }
}
