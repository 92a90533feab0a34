import TandemCore
import TandemExecution
import TandemFIX
import Testing

/// The order manager alone (sans-I/O): commands and reports in, journal submissions and sends out.
@Suite("Order manager")
struct OrderManagerTests {
    let session = FIXSessionID.make(sender: "TANDEM", target: "VENUE")
    let t = Timestamp(nanosecondsSinceEpoch: 1_800_000_000_000_000_000)

    func manager(rate: (Int, Int) = (100, 10)) -> OrderManager {
        OrderManager(configuration: .init(
            account: AccountID("ACC1"), epoch: 7,
            venues: [.init(name: "VENUE", sessions: [session], venueRate: .init(ordersPerSecond: rate.0, burst: rate.1))],
            routes: [InstrumentID(1): "VENUE"], statusRequestTimeout: .milliseconds(500)))
    }

    func ledger() throws -> ExecutionLedger {
        var l = ExecutionLedger()
        try l.apply(.instrumentDefined(Instrument(id: InstrumentID(1), symbol: "ACME", venue: "VENUE", tickSize: try Price("0.01"),
                                                  lotSize: try Quantity("1"), currency: .usd), at: t), seq: 1)
        return l
    }

    /// Applies what the shell would journal, as the pipeline does.
    func apply(_ actions: [OrderManager.Action], to l: inout ExecutionLedger) throws {
        for a in actions {
            switch a {
            case .journal(let events, _): for e in events { try l.apply(e) }
            case .send(_, _, let writeAhead, _): for e in writeAhead { try l.apply(e) }
            default: break
            }
        }
    }

    func buy(_ px: String) throws -> OrderManager.Command {
        .submit(instrument: InstrumentID(1), side: .buy, type: .limit(try Price(px)), timeInForce: .day, quantity: try Quantity("5"))
    }

    @Test("a new order is sent with its intent as write-ahead; its ClOrdID is the epoch and the journal position")
    func newOrder() throws {
        var m = manager()
        var l = try ledger()
        _ = m.handle(.sessionUp(session), ledger: l, now: t, mono: .zero)
        let actions = m.handle(.command(try buy("10.00")), ledger: l, now: t, mono: .zero)
        let send = try #require(actions.compactMap { a -> (any FIXMessageBody, [JournalEvent])? in
            if case .send(_, let m, let w, _) = a { return (m, w) } else { return nil }
        }.first)
        let nos = try #require(send.0 as? NewOrderSingle)
        #expect(nos.clOrdID == ClOrdID("7-2"))
        guard case .orderIntent(let intent) = try #require(send.1.first) else { Issue.record("no intent"); return }
        #expect(intent.decision == .accepted && intent.request.clOrdID == nos.clOrdID)
        try apply(actions, to: &l)
        #expect(l.state.order(ClOrdID("7-2"))?.status == .pendingNew)
    }

    @Test("with no session logged on, the intent is journaled rejected by rule venue_unavailable and nothing is sent")
    func noSession() throws {
        var m = manager()
        let actions = m.handle(.command(try buy("10.00")), ledger: try ledger(), now: t, mono: .zero)
        #expect(!actions.contains { if case .send = $0 { true } else { false } })
        guard case .journal(let events, _) = try #require(actions.first), case .orderIntent(let i) = try #require(events.first),
              case .rejected(let rule, _) = i.decision else { Issue.record("expected a rejected intent"); return }
        #expect(rule == "venue_unavailable")
    }

    /// A hook that refuses replaces to more than 6 (and accepts every new order).
    struct CappedReplaces: PreTradeRisk {
        func check(_ request: OrderRequest, state: borrowing TradingState, now: Timestamp) -> RiskDecision { .accepted }
        func checkReplace(_ order: Order, with replacement: ReplaceRequest, state: borrowing TradingState, now: Timestamp) -> RiskDecision {
            replacement.quantity.units > 600_000_000 ? .rejected(rule: "max_order_quantity", reason: "over 6") : .accepted
        }
    }

    @Test("a replace refused by pre-trade risk is journaled as requested and rejected with the rule, and never sent")
    func refusedReplace() throws {
        var m = OrderManager(configuration: .init(
            account: AccountID("ACC1"), epoch: 7,
            venues: [.init(name: "VENUE", sessions: [session], venueRate: .init(ordersPerSecond: 100, burst: 10))],
            routes: [InstrumentID(1): "VENUE"], risk: CappedReplaces()))
        var l = try ledger()
        _ = m.handle(.sessionUp(session), ledger: l, now: t, mono: .zero)
        try apply(m.handle(.command(try buy("10.00")), ledger: l, now: t, mono: .zero), to: &l)
        let id = ClOrdID("7-2")
        try apply(m.handle(.executionReport(session: session, seq: 2, ExecutionReport(
            orderID: "O1", clOrdID: id, execID: "E1", execType: .new, ordStatus: .new, symbol: "ACME", side: .buy,
            leavesQty: try Quantity("5"), cumQty: .zero, avgPx: .zero)), ledger: l, now: t, mono: .zero), to: &l)
        let refused = m.handle(.command(.replace(id, quantity: try Quantity("8"), type: nil)), ledger: l, now: t, mono: .zero)
        #expect(!refused.contains { if case .send = $0 { true } else { false } })
        guard case .journal(let events, _) = try #require(refused.first), events.count == 2,
              case .replaceRequested(id, let replacement, _) = events[0], case .replaceRejected(id, let reason, _) = events[1] else {
            Issue.record("expected replaceRequested + replaceRejected, got \(refused)")
            return
        }
        #expect(replacement.quantity == (try Quantity("8")) && reason == "risk max_order_quantity: over 6")
        try apply(refused, to: &l)
        #expect(l.state.order(id)?.status == .new)
        // Within the cap it goes out as an OrderCancelReplaceRequest.
        let accepted = m.handle(.command(.replace(id, quantity: try Quantity("6"), type: nil)), ledger: l, now: t, mono: .zero)
        #expect(accepted.contains { if case .send(_, let msg, _, _) = $0 { msg is OrderCancelReplaceRequest } else { false } })
    }

    @Test("a replaced order's fills are booked on the replacement, once per ExecID")
    func replaceThenFill() throws {
        var m = manager()
        var l = try ledger()
        _ = m.handle(.sessionUp(session), ledger: l, now: t, mono: .zero)
        try apply(m.handle(.command(try buy("10.00")), ledger: l, now: t, mono: .zero), to: &l)
        let id = ClOrdID("7-2")
        func report(_ r: ExecutionReport, seq: Int) throws {
            try apply(m.handle(.executionReport(session: session, seq: seq, r), ledger: l, now: t, mono: .zero), to: &l)
        }
        try report(ExecutionReport(orderID: "O1", clOrdID: id, execID: "E1", execType: .new, ordStatus: .new, symbol: "ACME", side: .buy,
                                   leavesQty: try Quantity("5"), cumQty: .zero, avgPx: .zero), seq: 2)
        try apply(m.handle(.command(.replace(id, quantity: try Quantity("8"), type: .limit(try Price("10.05")))), ledger: l, now: t, mono: .zero), to: &l)
        let newID = try #require(l.state.order(id)?.pendingReplace?.newClOrdID)
        try report(ExecutionReport(orderID: "O1", clOrdID: newID, origClOrdID: id, execID: "E2", execType: .replaced, ordStatus: .new,
                                   symbol: "ACME", side: .buy, leavesQty: try Quantity("8"), cumQty: .zero, avgPx: .zero), seq: 3)
        #expect(l.state.order(id)?.status == .replaced)
        let fill = ExecutionReport(orderID: "O1", clOrdID: newID, execID: "E3", execType: .trade, ordStatus: .partiallyFilled, symbol: "ACME",
                                   side: .buy, leavesQty: try Quantity("5"), cumQty: try Quantity("3"), avgPx: try Price("10.05"),
                                   lastQty: try Quantity("3"), lastPx: try Price("10.05"))
        try report(fill, seq: 4)
        try report(fill, seq: 5)  // the same execution again (a resend after a takeover)
        #expect(l.state.order(newID)?.filledQuantity == (try Quantity("3")))
        #expect(l.state.position(account: AccountID("ACC1"), instrument: InstrumentID(1))?.netQuantity == (try Quantity("3")))
    }

    @Test("an unanswered order is asked about after the timeout; a venue that does not know it gets it journaled rejected")
    func statusRequestResolves() throws {
        var m = manager()
        var l = try ledger()
        _ = m.handle(.sessionUp(session), ledger: l, now: t, mono: .zero)
        try apply(m.handle(.command(try buy("10.00")), ledger: l, now: t, mono: .zero), to: &l)
        #expect(m.handle(.tick, ledger: l, now: t, mono: .milliseconds(100)).allSatisfy { if case .send = $0 { false } else { true } })
        let later = m.handle(.tick, ledger: l, now: t, mono: .milliseconds(600))
        #expect(later.contains { if case .send(_, let msg, _, _) = $0 { msg is OrderStatusRequest } else { false } })
        let unknown = ExecutionReport(orderID: "NONE", clOrdID: ClOrdID("7-2"), execID: "X9", execType: .orderStatus, ordStatus: .rejected,
                                      symbol: "ACME", side: .buy, leavesQty: .zero, cumQty: .zero, avgPx: .zero, ordRejReason: 5, text: "unknown order")
        try apply(m.handle(.executionReport(session: session, seq: 2, unknown), ledger: l, now: t, mono: .milliseconds(610)), to: &l)
        #expect(l.state.order(ClOrdID("7-2"))?.status == .rejected)
        #expect(m.unconfirmedCount == 0)
    }

    @Test("a burst beyond the token bucket is paced: the intents are journaled now, the sends follow as tokens come")
    func pacing() throws {
        var m = manager(rate: (10, 2))
        var l = try ledger()
        _ = m.handle(.sessionUp(session), ledger: l, now: t, mono: .zero)
        var sent = 0
        for i in 0..<5 {
            let actions = m.handle(.command(try buy("1\(i).00")), ledger: l, now: t, mono: .zero)
            sent += actions.filter { if case .send = $0 { true } else { false } }.count
            try apply(actions, to: &l)
        }
        #expect(sent == 2 && m.pacedCount == 3)
        #expect(l.state.openOrders.count == 5)
        let after = m.handle(.tick, ledger: l, now: t, mono: .milliseconds(210))
        #expect(after.filter { if case .send = $0 { true } else { false } }.count == 2)
        #expect(m.pacedCount == 1)
    }

    @Test("after a takeover every open order is confirmed with the venue before the strategy may trade; differences are journaled")
    func reconciliation() throws {
        var old = manager()
        var l = try ledger()
        _ = old.handle(.sessionUp(session), ledger: l, now: t, mono: .zero)
        for px in ["10.00", "11.00", "12.00"] { try apply(old.handle(.command(try buy(px)), ledger: l, now: t, mono: .zero), to: &l) }
        let ids = l.state.openOrders.map(\.clOrdID)
        // The old leader journaled the first order's ack only, then died.
        try l.apply(.orderAcknowledged(clOrdID: ids[0], venueOrderID: "O1", at: t))

        var m = manager()
        let up = m.handle(.sessionUp(session), ledger: l, now: t, mono: .seconds(10))
        #expect(!m.isReconciled && m.reconcilingCount == 3)
        let asked = up.compactMap { a -> ClOrdID? in
            if case .send(_, let msg as OrderStatusRequest, _, _) = a { return msg.clOrdID } else { return nil }
        }
        #expect(Set(asked) == Set(ids))
        func status(_ id: ClOrdID, _ s: OrderStatus, _ seq: Int) throws {
            let r = ExecutionReport(orderID: s == .rejected ? "NONE" : "O\(seq)", clOrdID: id, execID: "S\(seq)", execType: .orderStatus, ordStatus: s,
                                    symbol: "ACME", side: .buy, leavesQty: try Quantity("5"), cumQty: .zero, avgPx: .zero,
                                    text: s == .rejected ? "unknown order" : nil)
            try apply(m.handle(.executionReport(session: session, seq: seq, r), ledger: l, now: t, mono: .seconds(10)), to: &l)
        }
        try status(ids[0], .new, 2)        // as journaled: nothing to correct
        try status(ids[1], .new, 3)        // accepted, ack never journaled: found and journaled
        #expect(!m.isReconciled)
        try status(ids[2], .rejected, 4)   // never reached the venue: journaled rejected
        #expect(m.isReconciled)
        #expect(l.state.order(ids[0])?.status == .new)
        #expect(l.state.order(ids[1])?.status == .new)
        #expect(l.state.order(ids[2])?.status == .rejected)
        #expect(l.state.positions.values.allSatisfy { $0.netQuantity.isZero })  // no fill invented
    }
}
