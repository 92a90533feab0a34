import TandemCore

/// The watchdog's limits on the combined view (the venue's drop copy, its own marks, the journal).
/// Amounts are in `currency`; positions in other currencies are not valued (and reported).
public struct WatchdogLimits: Sendable, Hashable {
    public var currency: Currency
    /// HALT when the day's P&L (realized + unrealized at the watchdog's marks) reaches −maxDailyLoss.
    public var maxDailyLoss: Money?
    /// HALT when P&L falls this far below the day's peak.
    public var maxDrawdown: Money?
    /// HALT when any instrument's |net| exceeds this.
    public var maxPosition: Quantity?
    /// HALT when Σ |net| × mark × multiplier exceeds this.
    public var maxGrossExposure: Money?
    /// HALT when |Σ signed net × mark × multiplier| exceeds this.
    public var maxNetExposure: Money?
    /// HALT when any one position's unrealized loss reaches this (the per-trade stop).
    public var maxPositionLoss: Money?
    /// HALT when the engine has more working orders at the venue than this.
    public var maxOpenOrders: Int?
    /// HALT when more new orders than this were acknowledged in one second (a runaway engine).
    public var maxOrdersPerSecond: Int?
    /// HALT when more drop-copy reports than this arrived in one second.
    public var maxReportsPerSecond: Int?
    /// Alert when the watchdog's own market data is older than this.
    public var staleMarketDataMillis: Int64 = 2_000
    /// Alert when the leader has not renewed its lease for this long (or there is none).
    public var staleLeaderMillis: Int64 = 3_000
    /// HALT when the journal's positions and the venue's differ for longer than this.
    public var disagreementGraceMillis: Int64 = 3_000
    /// Loss, drawdown and exposure breaches escalate from HALT to FLATTEN.
    public var flattenOnBreach: Bool = false
    /// FLATTEN when the venue shows open positions and no leader has been alive for this long; nil: never.
    public var flattenWithoutLeaderMillis: Int64?

    public init(currency: Currency) { self.currency = currency }
}

/// What the watchdog is doing about the engine. Persisted in `tandem.watchdog_state`, so a restarted
/// watchdog carries on (a FLATTEN interrupted by a crash is finished).
public enum WatchdogMode: String, Sendable, Hashable, Codable {
    case normal, halted, flattening
}

/// One evaluation's inputs, gathered by the shell.
public struct WatchdogObservation: Sendable {
    /// Monotonic nanoseconds (any origin); only differences are used.
    public var nanos: Int64
    public var venue: VenueView
    /// The drop copy is logged on and every report the venue sent was received (no open gap), so the
    /// venue view is complete. Nothing is sent on an incomplete view.
    public var venueSynced: Bool
    /// The engine's net positions by the journal, read through `journalSeq`.
    public var journalNet: [PositionKey: Quantity]
    public var marks: [InstrumentID: Price]
    /// Age of the newest market data the watchdog received itself; nil before any.
    public var marketDataAgeMillis: Int64?
    /// The lease as read this cycle.
    public var leaseHalted: Bool
    /// A node holds the lease, it is not expired, and it renewed within `staleLeaderMillis`.
    public var leaderAlive: Bool
    public var leaderHeartbeatAgeMillis: Int64?

    public init(nanos: Int64, venue: VenueView, venueSynced: Bool, journalNet: [PositionKey: Quantity], marks: [InstrumentID: Price],
                marketDataAgeMillis: Int64?, leaseHalted: Bool, leaderAlive: Bool, leaderHeartbeatAgeMillis: Int64?) {
        self.nanos = nanos
        self.venue = venue
        self.venueSynced = venueSynced
        self.journalNet = journalNet
        self.marks = marks
        self.marketDataAgeMillis = marketDataAgeMillis
        self.leaseHalted = leaseHalted
        self.leaderAlive = leaderAlive
        self.leaderHeartbeatAgeMillis = leaderHeartbeatAgeMillis
    }
}

/// An offsetting order the watchdog sends through its own session while flattening.
public struct FlattenOrder: Sendable, Hashable {
    public var clOrdID: String
    public var account: AccountID
    public var instrument: InstrumentID
    public var side: Side
    public var quantity: Quantity
    /// A marketable limit (best opposite quote moved by the collar), or nil for a market order when
    /// the watchdog has no quote.
    public var limit: Price?
}

public enum AlertSeverity: String, Sendable, Hashable { case critical, warning, info }

/// What the shell must do, in order.
public enum WatchdogDirective: Sendable, Hashable {
    /// Take the lease into a halted state with a new epoch (`tandem.watchdog_halt`) and journal the HALT.
    case halt(rule: String, reason: String)
    /// Lift the halt: journal the RESUME, free the lease (`tandem.watchdog_resume`).
    case resume(reason: String)
    /// Cancel every working order of the engine's sessions (the venue's CANCEL_ALL).
    case cancelEngineOrders
    /// The venue refuses the engine's sessions (BLOCK), or stops refusing them.
    case block(Bool)
    case send(FlattenOrder)
    /// Persist the mode (and why) in `tandem.watchdog_state`.
    case setMode(WatchdogMode, reason: String)
    case alert(rule: String, severity: AlertSeverity, message: String)
}

/// The watchdog's decisions, sans I/O: observations and operator commands in, directives out. The shell
/// (``WatchdogService``) gathers observations each cycle and performs the directives; tests drive it
/// directly.
///
/// Escalation: a limit breach HALTs (and with `flattenOnBreach`, FLATTENs); FLATTEN is HALT + BLOCK +
/// offsetting orders until the venue shows every position flat, then the mode is HALTED. Only an
/// operator's RESUME returns to normal. Closing orders are never held back by a limit.
public struct WatchdogMachine: Sendable {
    public let limits: WatchdogLimits
    public private(set) var mode: WatchdogMode
    public private(set) var blocked: Bool
    /// The last evaluation's figures, for metrics, the status view and the log.
    public private(set) var figures = Figures()
    /// Rules in breach now (an alert is raised when one starts, not every cycle).
    public private(set) var breaching: Set<String> = []

    public struct Figures: Sendable {
        public var pnl: Money?
        public var peak: Money?
        public var drawdown: Money?
        public var grossExposure: Money?
        public var netExposure: Money?
        /// The largest unrealized loss of one position (positive), and which.
        public var worstPositionLoss: (key: PositionKey, loss: Money)?
        public var unmarked: [InstrumentID] = []
        public var openPositions = 0
    }

    private let collarTicks: Int64
    private let ticks: [InstrumentID: Price]
    private var clOrdPrefix: String
    private var orderCount: UInt64 = 0
    private var inFlight: [String: Int64] = [:]
    private var disagreeingSince: Int64?
    private var leaderlessSince: Int64?
    /// When this watchdog last escalated from normal (its clock), for `engine_orders_after_halt`.
    private var haltedAt: Int64?

    /// `clOrdPrefix` must start with the venue view's own prefix and be unique per watchdog start
    /// (e.g. `WD-<start time>-`), so ClOrdIDs never repeat across restarts.
    public init(limits: WatchdogLimits, mode: WatchdogMode = .normal, blocked: Bool = false, instruments: [Instrument],
                collarTicks: Int64 = 20, clOrdPrefix: String) {
        self.limits = limits
        self.mode = mode
        self.blocked = blocked
        self.collarTicks = collarTicks
        self.ticks = Dictionary(instruments.map { ($0.id, $0.tickSize) }, uniquingKeysWith: { a, _ in a })
        self.clOrdPrefix = clOrdPrefix
    }

    // MARK: Operator commands

    public mutating func command(_ action: SignedCommand.Action, reason: String) -> [WatchdogDirective] {
        var out: [WatchdogDirective] = []
        switch action {
        case .halt:
            escalate(to: .halted, rule: "operator", reason: reason, &out)
        case .flatten:
            escalate(to: .flattening, rule: "operator", reason: reason, &out)
        case .block:
            if !blocked { blocked = true; out.append(.block(true)) }
        case .unblock:
            if blocked { blocked = false; out.append(.block(false)) }
        case .resume:
            if blocked { blocked = false; out.append(.block(false)) }
            out.append(.resume(reason: reason))
            if mode != .normal { mode = .normal; out.append(.setMode(.normal, reason: "resumed by operator: \(reason)")) }
            breaching = []
            disagreeingSince = nil
            leaderlessSince = nil
            inFlight = [:]
        }
        return out
    }

    // MARK: Evaluation

    public mutating func evaluate(_ o: WatchdogObservation) -> [WatchdogDirective] {
        var out: [WatchdogDirective] = []
        var breaches: [(rule: String, reason: String, to: WatchdogMode)] = []
        var conditions: [(rule: String, message: String)] = []
        let lossTarget: WatchdogMode = limits.flattenOnBreach ? .flattening : .halted

        figures = Self.figures(o, currency: limits.currency, previousPeak: figures.peak)
        if mode != .normal && haltedAt == nil { haltedAt = o.nanos }  // restarted halted: the watch starts now
        if mode == .normal { haltedAt = nil }
        if o.venueSynced {
            if let max = limits.maxDailyLoss, let pnl = figures.pnl, pnl.units <= -max.units {
                breaches.append(("daily_loss", "P&L \(pnl) reached the daily loss limit −\(max)", lossTarget))
            }
            if let max = limits.maxDrawdown, let dd = figures.drawdown, dd.units >= max.units {
                breaches.append(("drawdown", "drawdown \(dd) from the day's peak reached the limit \(max)", lossTarget))
            }
            if let max = limits.maxGrossExposure, let gross = figures.grossExposure, gross.units > max.units {
                breaches.append(("gross_exposure", "gross exposure \(gross) is over the limit \(max)", lossTarget))
            }
            if let max = limits.maxNetExposure, let net = figures.netExposure, abs(net.units) > max.units {
                breaches.append(("net_exposure", "net exposure \(net) is over the limit ±\(max)", lossTarget))
            }
            if let max = limits.maxPositionLoss, let worst = figures.worstPositionLoss, worst.loss.units >= max.units {
                breaches.append(("position_loss", "\(worst.key) is down \(worst.loss), at the per-position stop \(max)", lossTarget))
            }
            if let max = limits.maxOpenOrders, o.venue.engineWorkingCount > max {
                breaches.append(("max_open_orders", "\(o.venue.engineWorkingCount) engine orders working at the venue, limit \(max)", .halted))
            }
            if let max = limits.maxPosition {
                for (key, net) in o.venue.openPositions.sorted(by: { $0.key < $1.key }) where abs(net.units) > max.units {
                    breaches.append(("max_position", "\(key) net \(net) is over the limit \(max)", lossTarget))
                    break
                }
            }
            let rates = o.venue.rates(at: o.nanos)
            if let max = limits.maxOrdersPerSecond, rates.newOrders > max {
                breaches.append(("order_rate", "\(rates.newOrders) new orders in the last second, limit \(max)", .halted))
            }
            if let max = limits.maxReportsPerSecond, rates.reports > max {
                breaches.append(("message_rate", "\(rates.reports) execution reports in the last second, limit \(max)", .halted))
            }
            // The journal against the venue: only while the engine trades (after a HALT the journal stops by design).
            if mode == .normal && !o.leaseHalted {
                let differing = Self.differences(journal: o.journalNet, venue: o.venue.engineNet)
                if let first = differing.first {
                    let since = disagreeingSince ?? o.nanos
                    disagreeingSince = since
                    if (o.nanos - since) / 1_000_000 >= limits.disagreementGraceMillis {
                        breaches.append(("journal_disagrees", "\(first.key): journal net \(first.journal), venue net \(first.venue) for "
                                         + "\((o.nanos - since) / 1_000_000) ms (\(differing.count) position(s) differ)", .halted))
                    }
                } else {
                    disagreeingSince = nil
                }
            }
            // A fenced engine cannot journal, so it cannot send: a new engine order acknowledged well after
            // the HALT means something sends without the journal. The venue's kill switch stops it.
            if mode != .normal, !blocked, let halted = haltedAt, let last = o.venue.lastEngineNewNanos, last > halted + 500_000_000 {
                breaches.append(("engine_orders_after_halt", "the venue acknowledged a new engine order \((last - halted) / 1_000_000) ms after the HALT", .halted))
                blocked = true
                out.append(.block(true))
            }
            let open = o.venue.openPositions
            if !o.leaderAlive && !o.leaseHalted && !open.isEmpty, let after = limits.flattenWithoutLeaderMillis, mode == .normal {
                let since = leaderlessSince ?? o.nanos
                leaderlessSince = since
                if (o.nanos - since) / 1_000_000 >= after {
                    breaches.append(("positions_without_leader", "\(open.count) open position(s) at the venue and no live leader for "
                                     + "\((o.nanos - since) / 1_000_000) ms", .flattening))
                }
            } else {
                leaderlessSince = nil
            }
        }
        if let age = o.marketDataAgeMillis, age > limits.staleMarketDataMillis {
            conditions.append(("stale_market_data", "the watchdog's market data is \(age) ms old"))
        } else if o.marketDataAgeMillis == nil {
            conditions.append(("stale_market_data", "the watchdog has no market data yet"))
        }
        if !o.venueSynced {
            conditions.append(("drop_copy_down", "the drop copy is not logged on or not caught up; the venue view is incomplete"))
        }
        if !o.leaseHalted, let age = o.leaderHeartbeatAgeMillis, age > limits.staleLeaderMillis {
            conditions.append(("stale_leader", "no leader heartbeat for \(age) ms"))
        }

        let now = Set(breaches.map(\.rule) + conditions.map(\.rule))
        for c in conditions where !breaching.contains(c.rule) {
            out.append(.alert(rule: c.rule, severity: .warning, message: c.message))
        }
        for b in breaches where !breaching.contains(b.rule) {
            out.append(.alert(rule: b.rule, severity: .critical, message: b.reason))
        }
        breaching = now
        if let worst = breaches.max(by: { Self.rank($0.to) < Self.rank($1.to) }) {
            escalate(to: worst.to, rule: worst.rule, reason: worst.reason, &out)
        }
        if mode == .flattening { flattenStep(o, &out) }
        return out
    }

    private static func rank(_ m: WatchdogMode) -> Int {
        switch m { case .normal: 0; case .halted: 1; case .flattening: 2 }
    }

    private mutating func escalate(to target: WatchdogMode, rule: String, reason: String, _ out: inout [WatchdogDirective]) {
        guard Self.rank(target) > Self.rank(mode) else { return }
        if mode == .normal {
            out.append(.halt(rule: rule, reason: reason))
            out.append(.cancelEngineOrders)
            haltedAt = nil  // set at the next evaluation, on the observation clock
        }
        if target == .flattening && !blocked {
            blocked = true
            out.append(.block(true))
        }
        mode = target
        out.append(.setMode(target, reason: "\(rule): \(reason)"))
    }

    /// One round of offsetting orders: only on a complete view, one order per open position, and none
    /// for a position whose previous order is still in flight (at most 2 s: IOC orders end at once).
    private mutating func flattenStep(_ o: WatchdogObservation, _ out: inout [WatchdogDirective]) {
        guard o.venueSynced else { return }
        for id in inFlight.keys where o.venue.ownFinished.contains(id) || o.nanos - inFlight[id]! > 2_000_000_000 {
            inFlight[id] = nil
        }
        guard inFlight.isEmpty, o.venue.ownWorking.isEmpty else { return }
        let open = o.venue.openPositions
        if open.isEmpty {
            mode = .halted
            out.append(.setMode(.halted, reason: "flatten complete: the venue shows every position flat"))
            out.append(.alert(rule: "flatten_complete", severity: .info, message: "FLATTEN complete: every position is flat at the venue"))
            return
        }
        for (key, net) in open.sorted(by: { $0.key < $1.key }) {
            orderCount += 1
            let side: Side = net.units > 0 ? .sell : .buy
            let tick = ticks[key.instrument]?.units ?? 1
            let limit = o.marks[key.instrument].map { Price(units: side == .sell ? $0.units - collarTicks * tick : $0.units + collarTicks * tick) }
            let order = FlattenOrder(clOrdID: "\(clOrdPrefix)\(orderCount)", account: key.account, instrument: key.instrument, side: side,
                                     quantity: Quantity(units: abs(net.units)), limit: limit.map { $0.units > 0 ? $0 : Price(units: tick) })
            inFlight[order.clOrdID] = o.nanos
            out.append(.send(order))
        }
    }

    static func figures(_ o: WatchdogObservation, currency: Currency, previousPeak: Money?) -> Figures {
        var f = Figures()
        var pnl: Int64 = 0
        var gross: Int64 = 0
        var net: Int64 = 0
        var valued = true
        for (key, p) in o.venue.positions where p.currency == currency {
            pnl &+= p.realizedPnL.units
            guard !p.netQuantity.isZero else { continue }
            f.openPositions += 1
            guard let mark = o.marks[key.instrument] else {
                f.unmarked.append(key.instrument)
                continue
            }
            do {
                let unrealized = try p.unrealizedPnL(mark: mark).units
                pnl &+= unrealized
                if unrealized < 0, -unrealized > (f.worstPositionLoss?.loss.units ?? 0) {
                    f.worstPositionLoss = (key, Money(units: -unrealized, currency: currency))
                }
                let notional = try Money.notional(price: mark, quantity: Quantity(units: abs(p.netQuantity.units)), multiplier: p.multiplier,
                                                  currency: currency).units
                gross &+= notional
                net &+= p.netQuantity.units > 0 ? notional : -notional
            } catch {
                valued = false
            }
        }
        guard valued else { return f }
        f.pnl = Money(units: pnl, currency: currency)
        f.grossExposure = Money(units: gross, currency: currency)
        f.netExposure = Money(units: net, currency: currency)
        let peak = max(previousPeak?.units ?? 0, pnl)
        f.peak = Money(units: peak, currency: currency)
        f.drawdown = Money(units: peak - pnl, currency: currency)
        return f
    }

    static func differences(journal: [PositionKey: Quantity], venue: [PositionKey: Quantity]) -> [(key: PositionKey, journal: Quantity, venue: Quantity)] {
        Set(journal.keys).union(venue.keys).sorted().compactMap { key in
            let j = journal[key] ?? .zero, v = venue[key] ?? .zero
            return j == v ? nil : (key, j, v)
        }
    }
}
