/// A small, fast, seedable generator (SplitMix64); identical sequences on every platform.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    public var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    /// Uniform in `0..<bound` (bound > 0); the tiny modulo bias is irrelevant for workloads.
    @inline(__always) public mutating func below(_ bound: Int) -> Int { Int(next() % UInt64(bound)) }
}

/// A deterministic stream of valid journal events for benchmarks, tests and backtest scaffolding:
/// instrument definitions, then order intents, acks, partial and complete fills, cancels,
/// replaces, rejects and expiries over `instrumentCount` instruments. With `controlEvents`, about
/// 2% are FIX outbound messages, leader elections, risk commands, snapshot markers, suspensions,
/// reconciliation corrections and dividends. Every event applies cleanly to a fresh ``TradingState``.
public struct SyntheticJournal: Sendable {
    private enum Phase: Sendable { case unacked, working, cancelPending, replacePending(ClOrdID, Int64), suspended }

    private struct Live: Sendable {
        var id: ClOrdID
        var instrument: Int
        var quantity: Int64
        var filled: Int64
        var phase: Phase
    }

    private var rng: SplitMix64
    private let instrumentCount: Int
    private let accounts: [AccountID]
    private var mids: [Int64]
    private var defined = 0
    private var live: [Live] = []
    private var orderCounter = 0
    private var execCounter = 0
    private var fixSequence: UInt64 = 0
    private var epoch: UInt64 = 0
    private var snapshots: UInt64 = 0
    private var now: Int64 = 1_700_000_000 * Timestamp.nanosecondsPerSecond
    private let controlEvents: Bool

    private static let share: Int64 = 100_000_000
    private static let tick: Int64 = 1_000_000  // 0.01

    public init(seed: UInt64, instrumentCount: Int = 100, accountCount: Int = 8, controlEvents: Bool = false) {
        rng = SplitMix64(seed: seed)
        self.instrumentCount = Swift.max(1, instrumentCount)
        accounts = (1...Swift.max(1, accountCount)).map { AccountID("ACC\($0)") }
        mids = []
        self.controlEvents = controlEvents
        for _ in 0..<self.instrumentCount { mids.append(Int64(1_000 + rng.below(50_000)) * Self.tick) }
        live.reserveCapacity(4096)
    }

    /// FIX outbound messages (the node ledger's resend log) on each of `sessions`, MsgSeqNum 1 through
    /// `perSession`, the sessions interleaved seq by seq; each raw message names its seq and session.
    public static func fixOutboundMessages(sessions: [String], perSession: UInt64,
                                           at: Timestamp = Timestamp(nanosecondsSinceEpoch: 1_795_000_000_000_000_000)) -> [JournalEvent] {
        (1...max(1, perSession)).flatMap { seq in
            sessions.map { session in
                .fixOutboundMessage(FixOutboundMessage(sessionID: session, sequence: seq, raw: Array("8=FIX.4.4|34=\(seq)|\(session)".utf8), at: at))
            }
        }
    }

    public static func events(count: Int, seed: UInt64, instrumentCount: Int = 100, controlEvents: Bool = false) -> [JournalEvent] {
        var g = SyntheticJournal(seed: seed, instrumentCount: instrumentCount, controlEvents: controlEvents)
        var out: [JournalEvent] = []
        out.reserveCapacity(count)
        for _ in 0..<count { out.append(g.next()) }
        return out
    }

    public mutating func next() -> JournalEvent {
        now += Int64(1_000 + rng.below(50_000))
        let at = Timestamp(nanosecondsSinceEpoch: now)
        if defined < instrumentCount {
            defined += 1
            return .instrumentDefined(instrument(defined - 1), at: at)
        }
        if controlEvents, rng.below(100) < 2 { return control(at) }
        if live.count < 64 || (live.count < 4096 && rng.below(100) < 22) { return newOrder(at) }
        let i = rng.below(live.count)
        let order = live[i]
        switch order.phase {
        case .unacked:
            if rng.below(100) < 97 {
                live[i].phase = .working
                return .orderAcknowledged(clOrdID: order.id, venueOrderID: "V\(order.id.rawValue.dropFirst())", at: at)
            }
            remove(i)
            return .orderRejected(clOrdID: order.id, reason: "venue: price outside band", at: at)
        case .cancelPending:
            if rng.below(100) < 90 {
                remove(i)
                return .cancelAccepted(clOrdID: order.id, at: at)
            }
            live[i].phase = .working
            return .cancelRejected(clOrdID: order.id, reason: "too late to cancel", at: at)
        case .replacePending(let newID, let newQuantity):
            if rng.below(100) < 85 {
                live[i].id = newID
                live[i].quantity = newQuantity
                live[i].phase = .working
                return .replaceAccepted(clOrdID: order.id, at: at)
            }
            live[i].phase = .working
            return .replaceRejected(clOrdID: order.id, reason: "replace not allowed", at: at)
        case .suspended:
            live[i].phase = .working
            return .orderResumed(clOrdID: order.id, at: at)
        case .working:
            let roll = rng.below(100)
            if roll < 62 { return fill(i, at) }
            if roll < 85 {
                live[i].phase = .cancelPending
                return .cancelRequested(clOrdID: order.id, at: at)
            }
            if roll < 93 {
                orderCounter += 1
                let newID = ClOrdID("C\(orderCounter)")
                let newQuantity = order.quantity + Int64(1 + rng.below(5)) * Self.share
                live[i].phase = .replacePending(newID, newQuantity)
                return .replaceRequested(clOrdID: order.id, replacement: ReplaceRequest(
                    newClOrdID: newID, quantity: Quantity(units: newQuantity), type: .limit(price(order.instrument))), at: at)
            }
            if roll < 97 {
                remove(i)
                return .orderExpired(clOrdID: order.id, at: at)
            }
            return fill(i, at)
        }
    }

    private func instrument(_ n: Int) -> Instrument {
        Instrument(id: InstrumentID(UInt32(n + 1)), symbol: "SYM\(n + 1)", venue: n % 3 == 0 ? "XNAS" : "XNYS",
                   tickSize: Price(units: Self.tick), lotSize: Quantity(units: Self.share), currency: .usd, calendar: "XNYS")
    }

    private mutating func price(_ instrument: Int) -> Price {
        mids[instrument] = Swift.max(Self.tick * 100, mids[instrument] + Int64(rng.below(5) - 2) * Self.tick)
        return Price(units: mids[instrument] + Int64(rng.below(11) - 5) * Self.tick)
    }

    private mutating func newOrder(_ at: Timestamp) -> JournalEvent {
        orderCounter += 1
        let id = ClOrdID("C\(orderCounter)")
        let instrument = rng.below(instrumentCount)
        let quantity = Int64(1 + rng.below(20)) * Self.share * (rng.below(4) == 0 ? 100 : 1)
        let side: Side = switch rng.below(5) { case 0, 1: .buy; case 2, 3: .sell; default: .sellShort }
        let type: OrderType = rng.below(10) == 0 ? .market : .limit(price(instrument))
        let tif: TimeInForce = rng.below(4) == 0 ? .goodTillCancel : .day
        let request = OrderRequest(clOrdID: id, account: accounts[rng.below(accounts.count)], instrument: InstrumentID(UInt32(instrument + 1)),
                                   side: side, type: type, timeInForce: tif, quantity: Quantity(units: quantity))
        if rng.below(100) < 3 {
            return .orderIntent(OrderIntent(request: request, decision: .rejected(rule: "max_order_notional", reason: "notional above 1,000,000 USD limit"), at: at))
        }
        live.append(Live(id: id, instrument: instrument, quantity: quantity, filled: 0, phase: .unacked))
        return .orderIntent(OrderIntent(request: request, decision: .accepted, at: at))
    }

    private mutating func fill(_ i: Int, _ at: Timestamp) -> JournalEvent {
        let order = live[i]
        let remaining = order.quantity - order.filled
        let lots = remaining / Self.share
        let quantity = rng.below(3) == 0 ? remaining : Int64(1 + rng.below(Int(Swift.min(lots, 5)))) * Self.share
        execCounter += 1
        let fee = Money(units: quantity / Self.share * 350_000, currency: .usd)
        let e = Execution(clOrdID: order.id, execID: "X\(execCounter)", quantity: Quantity(units: quantity),
                          price: price(order.instrument), fee: fee, at: at)
        if quantity == remaining {
            remove(i)
            return .fill(e)
        }
        live[i].filled += quantity
        return .partialFill(e)
    }

    private mutating func control(_ at: Timestamp) -> JournalEvent {
        switch rng.below(7) {
        case 0:
            fixSequence += 1
            return .fixOutboundMessage(FixOutboundMessage(sessionID: "FIX.4.4:TANDEM->VENUE", sequence: fixSequence,
                                                          raw: Array("8=FIX.4.4\u{1}35=D\u{1}34=\(fixSequence)\u{1}".utf8), at: at))
        case 1:
            epoch += 1
            return .leaderElected(epoch: epoch, nodeID: epoch % 2 == 0 ? "node-a" : "node-b", at: at)
        case 2:
            let action = RiskAction.allCases[rng.below(RiskAction.allCases.count)]
            return .riskCommand(RiskCommand(action: action, scope: .account(accounts[rng.below(accounts.count)]),
                                            issuedBy: "ops", signature: (0..<8).map { _ in UInt8(truncatingIfNeeded: rng.next()) }, at: at))
        case 3:
            snapshots += 1
            return .snapshotMarker(journalSequence: snapshots * 1000, at: at)
        case 4:
            if let i = live.indices.first(where: { if case .working = live[$0].phase { true } else { false } }) {
                live[i].phase = .suspended
                return .orderSuspended(clOrdID: live[i].id, at: at)
            }
            return .snapshotMarker(journalSequence: snapshots * 1000 + 1, at: at)
        case 5:
            let instrument = rng.below(instrumentCount)
            return .reconciliationCorrection(ReconciliationCorrection(
                account: accounts[rng.below(accounts.count)], instrument: InstrumentID(UInt32(instrument + 1)),
                quantity: Quantity(units: Int64(rng.below(21) - 10) * Self.share), price: price(instrument),
                reason: "broker statement", at: at))
        default:
            return .corporateAction(CorporateActionEvent(instrument: InstrumentID(UInt32(rng.below(instrumentCount) + 1)),
                                                         action: .cashDividend(perUnit: Money(units: 25_000_000, currency: .usd)), at: at))
        }
    }

    private mutating func remove(_ i: Int) {
        live.swapAt(i, live.count - 1)
        live.removeLast()
    }
}
