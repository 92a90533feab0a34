import PropertyBased
import Testing
import TandemCore

@Suite struct TradingStateTests {
    typealias F = Fixtures
    static let t = Fixtures.t0

    static func exec(_ id: String, _ q: String, _ px: String, fee: String = "0") -> Execution {
        Execution(clOrdID: ClOrdID(id), execID: "E-\(id)-\(q)", quantity: F.qty(q), price: F.px(px), fee: F.usd(fee), at: t)
    }

    static func started() throws -> TradingState {
        var s = TradingState()
        try s.apply(.instrumentDefined(F.aapl, at: t))
        return s
    }

    @Test func orderLifecycleDrivesOrdersPositionsAndPnL() throws {
        var s = try Self.started()
        try s.apply(.orderIntent(OrderIntent(request: F.request("B1", side: .buy, quantity: 10), decision: .accepted, at: Self.t)))
        try s.apply(.orderAcknowledged(clOrdID: ClOrdID("B1"), venueOrderID: "V9", at: Self.t))
        try s.apply(.partialFill(Self.exec("B1", "4", "100", fee: "0.4")))
        try s.apply(.fill(Self.exec("B1", "6", "101", fee: "0.6")))
        let b1 = try #require(s.order(ClOrdID("B1")))
        #expect(b1.status == .filled && b1.venueOrderID == "V9" && b1.averagePrice == F.px("100.6"))
        try s.apply(.orderIntent(OrderIntent(request: F.request("S1", side: .sellShort, quantity: 15), decision: .accepted, at: Self.t)))
        try s.apply(.orderAcknowledged(clOrdID: ClOrdID("S1"), venueOrderID: "V10", at: Self.t))
        try s.apply(.fill(Self.exec("S1", "15", "102")))
        let p = try #require(s.position(account: F.acct, instrument: F.aapl.id))
        #expect(p.netQuantity == F.qty("-5"))
        #expect(p.realizedPnL == F.usd("14"))
        #expect(s.realizedPnL(account: F.acct) == [.usd: F.usd("14")])
        #expect(s.fees(account: F.acct) == [.usd: F.usd("1")])
        #expect(try s.unrealizedPnL(account: F.acct, marks: [F.aapl.id: F.px("100")]) == [.usd: F.usd("10")])
        #expect(s.eventCount == 8 && s.openOrders.isEmpty)
    }

    @Test("each applied event's effect on an order names it by handle, with its side, instrument and fill price; other events and refused ones leave none or the last")
    func orderEffects() throws {
        var s = try Self.started()
        #expect(s.lastOrderEffect == .none)
        func effect(_ event: JournalEvent) throws -> OrderEffect {
            try s.apply(event)
            return s.lastOrderEffect
        }
        let i = F.aapl.id
        #expect(try effect(.orderIntent(OrderIntent(request: F.request("B1", side: .buy), decision: .accepted, at: Self.t)))
                == OrderEffect(kind: .accepted, order: 0, side: .buy, instrument: i))
        #expect(try effect(.orderAcknowledged(clOrdID: ClOrdID("B1"), venueOrderID: "V1", at: Self.t)) == .none)
        #expect(try effect(.partialFill(Self.exec("B1", "4", "100.5")))
                == OrderEffect(kind: .partiallyFilled, order: 0, side: .buy, instrument: i, price: F.px("100.5")))
        #expect(try effect(.fill(Self.exec("B1", "6", "101"))) == OrderEffect(kind: .filled, order: 0, side: .buy, instrument: i, price: F.px("101")))
        #expect(try effect(.orderIntent(OrderIntent(request: F.request("R1", side: .sell), decision: .rejected(rule: "max_qty", reason: "x"), at: Self.t)))
                == OrderEffect(kind: .riskRejected, order: 1, side: .sell, instrument: i))
        _ = try effect(.orderIntent(OrderIntent(request: F.request("V1", side: .sell), decision: .accepted, at: Self.t)))
        #expect(try effect(.orderRejected(clOrdID: ClOrdID("V1"), reason: "unknown symbol", at: Self.t))
                == OrderEffect(kind: .venueRejected, order: 2, side: .sell, instrument: i))
        _ = try effect(.orderIntent(OrderIntent(request: F.request("C1"), decision: .accepted, at: Self.t)))
        #expect(try effect(.cancelRequested(clOrdID: ClOrdID("C1"), at: Self.t)) == .none)
        #expect(try effect(.cancelAccepted(clOrdID: ClOrdID("C1"), at: Self.t)) == OrderEffect(kind: .ended, order: 3, side: .buy, instrument: i))
        _ = try effect(.orderIntent(OrderIntent(request: F.request("X1"), decision: .accepted, at: Self.t)))
        _ = try effect(.orderAcknowledged(clOrdID: ClOrdID("X1"), venueOrderID: "V4", at: Self.t))
        #expect(try effect(.orderExpired(clOrdID: ClOrdID("X1"), at: Self.t)) == OrderEffect(kind: .ended, order: 4, side: .buy, instrument: i))
        _ = try effect(.orderIntent(OrderIntent(request: F.request("P1"), decision: .accepted, at: Self.t)))
        _ = try effect(.orderAcknowledged(clOrdID: ClOrdID("P1"), venueOrderID: "V5", at: Self.t))
        #expect(try effect(.replaceRequested(clOrdID: ClOrdID("P1"), replacement: ReplaceRequest(newClOrdID: ClOrdID("P2"), quantity: F.qty("5")), at: Self.t)) == .none)
        #expect(try effect(.replaceAccepted(clOrdID: ClOrdID("P1"), at: Self.t))
                == OrderEffect(kind: .replaced, order: 5, replacement: 6, side: .buy, instrument: i))
        #expect(s.order(ClOrdID("P2")) == s.allOrders[6])
        // A refused event changes nothing, its effect included.
        let before = s.lastOrderEffect
        #expect(throws: FoldError.self) { try s.apply(.fill(Self.exec("nope", "1", "1"))) }
        #expect(s.lastOrderEffect == before)
        #expect(try effect(.riskCommand(RiskCommand(action: .halt, scope: .global, issuedBy: "test", signature: [], at: Self.t))) == .none)
    }

    @Test func misfitEventsThrowTypedErrorsAndLeaveStateUnchanged() throws {
        var s = try Self.started()
        try s.apply(.orderIntent(OrderIntent(request: F.request("A"), decision: .accepted, at: Self.t)))
        try s.apply(.orderIntent(OrderIntent(request: F.request("R"), decision: .rejected(rule: "max_qty", reason: "10 > 5"), at: Self.t)))
        #expect(s.order(ClOrdID("R"))?.status == .rejected)
        let cases: [(JournalEvent, FoldError.Code)] = [
            (.orderAcknowledged(clOrdID: ClOrdID("nope"), venueOrderID: "", at: Self.t), .unknownOrder),
            (.orderIntent(OrderIntent(request: F.request("A"), decision: .accepted, at: Self.t)), .duplicateOrder),
            (.orderIntent(OrderIntent(request: F.request("X", instrument: InstrumentID(99)), decision: .accepted, at: Self.t)), .unknownInstrument),
            (.orderIntent(OrderIntent(request: F.request("Z", quantity: 0), decision: .accepted, at: Self.t)), .invalidOrder),
            (.orderAcknowledged(clOrdID: ClOrdID("R"), venueOrderID: "", at: Self.t), .orderTransition),
            (.fill(Self.exec("A", "3", "100")), .fillKindMismatch),
            (.partialFill(Self.exec("A", "10", "100")), .fillKindMismatch),
            (.partialFill(Self.exec("A", "11", "100")), .orderTransition),
            (.replaceRequested(clOrdID: ClOrdID("A"), replacement: ReplaceRequest(newClOrdID: ClOrdID("R"), quantity: F.qty("20")), at: Self.t), .duplicateOrder),
            (.fixOutboundMessage(FixOutboundMessage(sessionID: "S", sequence: 2, raw: [], at: Self.t)), .sequenceGap),
            (.instrumentDefined(Instrument(id: F.aapl.id, symbol: "MSFT", venue: "XNAS", tickSize: F.px("0.01"), lotSize: F.qty("1"), currency: .usd), at: Self.t), .invalidInstrument),
            (.corporateAction(CorporateActionEvent(instrument: InstrumentID(99), action: .symbolChange(newSymbol: "X"), at: Self.t)), .unknownInstrument),
            (.partialFill(Execution(clOrdID: ClOrdID("A"), execID: "E", quantity: F.qty("1"), price: F.px("1"), fee: Money(units: 1, currency: .eur), at: Self.t)), .arithmetic),
        ]
        for (event, code) in cases {
            let before = s
            do {
                try s.apply(event)
                Issue.record("\(event.kind.name) applied")
            } catch {
                #expect(error.code == code, "\(event.kind.name): \(error)")
                #expect(error.eventKind == event.kind)
            }
            #expect(s == before)
        }
        try s.apply(.leaderElected(epoch: 2, nodeID: "a", at: Self.t))
        do { try s.apply(.leaderElected(epoch: 2, nodeID: "b", at: Self.t)); Issue.record("stale epoch") } catch { #expect(error.code == .staleLeaderEpoch) }
    }

    @Test func replaceContinuesUnderTheNewClOrdID() throws {
        var s = try Self.started()
        try s.apply(.orderIntent(OrderIntent(request: F.request("A"), decision: .accepted, at: Self.t)))
        try s.apply(.orderAcknowledged(clOrdID: ClOrdID("A"), venueOrderID: "V", at: Self.t))
        try s.apply(.partialFill(Self.exec("A", "2", "100")))
        try s.apply(.replaceRequested(clOrdID: ClOrdID("A"), replacement: ReplaceRequest(newClOrdID: ClOrdID("A2"), quantity: F.qty("5"), type: .limit(F.px("99"))), at: Self.t))
        try s.apply(.replaceAccepted(clOrdID: ClOrdID("A"), at: Self.t))
        #expect(s.order(ClOrdID("A"))?.status == .replaced)
        let a2 = try #require(s.order(ClOrdID("A2")))
        #expect(a2.status == .partiallyFilled && a2.leavesQuantity == F.qty("3") && a2.request.type == .limit(F.px("99")))
        try s.apply(.fill(Self.exec("A2", "3", "99")))
        #expect(s.position(account: F.acct, instrument: F.aapl.id)?.netQuantity == F.qty("5"))
    }

    @Test func controlEventsUpdateSessionsLeaderRiskAndCorrections() throws {
        var s = try Self.started()
        try s.apply(.fixSessionState(FixSessionState(sessionID: "S", lastInboundSequence: 7, lastOutboundSequence: 41, at: Self.t)))
        try s.apply(.fixOutboundMessage(FixOutboundMessage(sessionID: "S", sequence: 42, raw: [1], at: Self.t)))
        #expect(s.fixSessions["S"] == FixSequences(lastInbound: 7, lastOutbound: 42))
        try s.apply(.riskCommand(RiskCommand(action: .halt, scope: .global, issuedBy: "ops", signature: [], at: Self.t)))
        try s.apply(.riskCommand(RiskCommand(action: .block, scope: .account(F.acct), issuedBy: "ops", signature: [], at: Self.t)))
        try s.apply(.riskCommand(RiskCommand(action: .resume, scope: .global, issuedBy: "ops", signature: [], at: Self.t)))
        #expect(s.restrictions == [.account(F.acct): .block])
        try s.apply(.reconciliationCorrection(ReconciliationCorrection(account: F.acct, instrument: F.aapl.id, quantity: F.qty("-3"), price: F.px("50"), reason: "stmt", at: Self.t)))
        #expect(s.position(account: F.acct, instrument: F.aapl.id)?.costBasis == F.usd("-150"))
        try s.apply(.corporateAction(CorporateActionEvent(instrument: F.aapl.id, action: .split(Ratio(3, 1)), at: Self.t)))
        try s.apply(.corporateAction(CorporateActionEvent(instrument: F.aapl.id, action: .symbolChange(newSymbol: "APPL2"), at: Self.t)))
        #expect(s.position(account: F.acct, instrument: F.aapl.id)?.netQuantity == F.qty("-9"))
        #expect(s.instruments[F.aapl.id]?.symbol == "APPL2")
        try s.apply(.snapshotMarker(journalSequence: 77, at: Self.t))
        #expect(s.lastSnapshotSequence == 77)
    }

    /// The fold keeps the journaled risk mode and its last change; a global halt / resume command
    /// sets and clears it too; other scopes and actions leave it alone.
    @Test func riskModeFollowsModeChangesAndGlobalCommands() throws {
        var s = TradingState()
        #expect(s.riskMode == .active && s.lastRiskModeChange == nil)
        let reducing = RiskModeChange(from: .active, to: .reducing, rule: "max_drawdown", reason: "dd 80 > 75", at: Self.t)
        try s.apply(.riskModeChanged(reducing))
        #expect(s.riskMode == .reducing && s.lastRiskModeChange == reducing)
        // Account-scoped and block commands are restrictions only.
        try s.apply(.riskCommand(RiskCommand(action: .halt, scope: .account(F.acct), issuedBy: "ops", signature: [], at: Self.t)))
        try s.apply(.riskCommand(RiskCommand(action: .block, scope: .global, issuedBy: "ops", signature: [], at: Self.t)))
        #expect(s.riskMode == .reducing)
        try s.apply(.riskCommand(RiskCommand(action: .halt, scope: .global, issuedBy: "watchdog", signature: [1], at: Self.t)))
        #expect(s.riskMode == .halted && s.restrictions[.global] == .halt)
        #expect(s.lastRiskModeChange == RiskModeChange(from: .reducing, to: .halted, rule: "operator_halt",
                                                       reason: "global risk command halt by watchdog", at: Self.t))
        // A snapshot keeps mode and reason.
        let restored = try TradingState(snapshotBytes: s.snapshotBytes())
        #expect(restored == s && restored.riskMode == .halted && restored.lastRiskModeChange == s.lastRiskModeChange)
        try s.apply(.riskCommand(RiskCommand(action: .resume, scope: .global, issuedBy: "alice", signature: [], at: Self.t)))
        #expect(s.riskMode == .active && s.restrictions[.global] == nil)
        #expect(s.lastRiskModeChange?.rule == "operator_resume" && s.lastRiskModeChange?.reason == "global risk command resume by alice")
        // A resume when already ACTIVE records no change.
        let last = s.lastRiskModeChange
        try s.apply(.riskCommand(RiskCommand(action: .resume, scope: .global, issuedBy: "bob", signature: [], at: Self.t)))
        #expect(s.lastRiskModeChange == last)
        // `from` is informational: the journaled `to` wins.
        try s.apply(.riskModeChanged(RiskModeChange(from: .reducing, to: .halted, rule: "stale_market_data", reason: "x", at: Self.t)))
        #expect(s.riskMode == .halted)
        #expect(s.eventCount == 7)
    }

    /// The allocation-free scans see exactly the open orders and positions the array views hold,
    /// live and after a snapshot restore.
    @Test func scansAgreeWithTheViews() throws {
        var s = TradingState()
        for e in SyntheticJournal.events(count: 3000, seed: 11, instrumentCount: 7, controlEvents: true) { try s.apply(e) }
        for state in [s, try TradingState(snapshotBytes: s.snapshotBytes())] {
            var open: [ClOrdID] = []
            state.forEachOpenOrder { open.append($0.clOrdID) }
            #expect(open.sorted() == state.openOrders.map(\.clOrdID).sorted())
            #expect(state.openOrderCount == state.openOrders.count && !open.isEmpty)
            var positions: [PositionKey: Position] = [:]
            state.forEachPosition { positions[$0] = copy $1 }
            #expect(positions == state.positions && positions.count == state.positionCount)
        }
    }

    /// A version-1 snapshot (before the risk mode was folded) still restores, as ACTIVE.
    @Test func versionOneSnapshotsStillRestore() throws {
        var s = try Self.started()
        try s.apply(.riskCommand(RiskCommand(action: .block, scope: .account(F.acct), issuedBy: "ops", signature: [], at: Self.t)))
        var v1 = s.snapshotBytes()
        #expect(v1[4] == 2)
        v1[4] = 1
        v1.removeLast(2)  // mode (u8) and "no last change" (u8)
        let restored = try TradingState(snapshotBytes: v1)
        #expect(restored == s && restored.riskMode == .active && restored.lastRiskModeChange == nil)
        var v3 = s.snapshotBytes()
        v3[4] = 3
        #expect(throws: CodecError.self) { try TradingState(snapshotBytes: v3) }
    }

    /// Same events → same state and byte-identical snapshot; the snapshot restores that state, and
    /// folding the rest of the journal from a restored snapshot ends in the same place.
    @Test func foldIsDeterministicAndSnapshotsRestore() async {
        await propertyCheck(count: 25, input: Gen.uint64(), Gen.int(in: 200...3000)) { seed, count in
            let events = SyntheticJournal.events(count: count, seed: seed, instrumentCount: 20, controlEvents: true)
            var a = TradingState(), b = TradingState(), resumed = TradingState()
            let cut = count / 2
            do {
                for e in events { try a.apply(e) }
                for e in events { try b.apply(e) }
                for e in events[..<cut] { try resumed.apply(e) }
                resumed = try TradingState(snapshotBytes: resumed.snapshotBytes())
                for e in events[cut...] { try resumed.apply(e) }
            } catch { Issue.record("\(error)"); return }
            #expect(a == b)
            let bytes = a.snapshotBytes()
            #expect(bytes == b.snapshotBytes())
            #expect(resumed == a && resumed.snapshotBytes() == bytes)
            let restored = try? TradingState(snapshotBytes: bytes)
            #expect(restored == a)
        }
    }

    /// Applying arbitrary events is total: each either applies or throws with the state unchanged.
    @Test func foldIsTotalOnArbitraryEvents() async {
        await propertyCheck(count: 40, input: Gen.uint64()) { seed in
            var rng = SplitMix64(seed: seed)
            var s = TradingState()
            for e in SyntheticJournal.events(count: 300, seed: seed, instrumentCount: 5, controlEvents: true) { try? s.apply(e) }
            for _ in 0..<300 {
                let kind = JournalEventKind.allCases[rng.below(JournalEventKind.allCases.count)]
                var event = Fixtures.randomEvent(kind, &rng)
                if rng.below(2) == 0, let id = s.orders.keys.first, case .cancelRequested = event { event = .cancelRequested(clOrdID: id, at: event.timestamp) }
                let before = s
                do { try s.apply(event) } catch { #expect(s == before) }
            }
        }
    }

    @Test func corruptSnapshotsThrow() throws {
        var s = TradingState()
        for e in SyntheticJournal.events(count: 400, seed: 3, instrumentCount: 3, controlEvents: true) { try s.apply(e) }
        let bytes = s.snapshotBytes()
        for n in stride(from: 0, to: bytes.count, by: max(1, bytes.count / 500)) {
            #expect(throws: CodecError.self) { try TradingState(snapshotBytes: Array(bytes.prefix(n))) }
        }
        var bad = bytes
        bad[0] = 0
        do { _ = try TradingState(snapshotBytes: bad) } catch { #expect(error.code == .badMagic && error.offset == 0) }
        #expect(throws: CodecError.self) { try TradingState(snapshotBytes: bytes + [0]) }
    }
}
