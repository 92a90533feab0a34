import Metrics
import Synchronization
import TandemRisk
import TandemCore

/// The node's metrics, created once per node through swift-metrics (the process bootstraps the
/// backend; `tandem node --metrics-port` serves them as Prometheus text). Names follow Prometheus
/// conventions: `tandem_` prefix, base units, `_total` counters, no label that grows with orders:
/// every labelled metric is created here, at start, from a fixed set (configured sessions, accounts
/// and instruments, `OrderStatus`, the risk rule names, the venue-reject categories), so the hot path
/// only looks one up. The feed's gauges are a leader term's (``FeedMetrics``).
struct NodeMetrics: Sendable {
    let leader = Gauge(label: "tandem_node_leader")
    let epoch = Gauge(label: "tandem_node_epoch")
    let appliedSeq = Gauge(label: "tandem_journal_applied_seq")
    let lagEvents = Gauge(label: "tandem_standby_lag_events")
    let lagSeconds = Gauge(label: "tandem_standby_lag_seconds")
    let openOrders = Gauge(label: "tandem_orders_open")
    let sessionsUp = Gauge(label: "tandem_fix_sessions_up")
    let takeovers = Counter(label: "tandem_takeovers_total")
    let lastTakeoverSeconds = Gauge(label: "tandem_takeover_last_seconds")
    let intents = Counter(label: "tandem_order_intents_total")
    let riskRejects = Counter(label: "tandem_order_risk_rejects_total")
    let venueRejects = Counter(label: "tandem_order_venue_rejects_total")
    let fills = Counter(label: "tandem_fills_total")

    /// One observation per durable commit of the leader's journal pipeline (a fenced append).
    let journalAppend = Timer(label: "tandem_journal_append_seconds")
    /// Each successful lease acquire or renew, request sent → answer handled.
    let leaseRenew = Timer(label: "tandem_lease_renew_seconds")
    /// Since the last successful renew was sent (0 when not leading).
    let leaseAge = Gauge(label: "tandem_lease_age_seconds")
    /// Each fill's slippage against the arrival mid, basis points, adverse positive: the backend's
    /// handler, made as `Recorder(label:aggregate:)` would (see ``FillSlippage``).
    let slippage: any RecorderHandler = MetricsSystem.factory.makeRecorder(
        label: "tandem_fill_slippage_bps", dimensions: [], aggregate: true)
    /// Each step of the last takeover, seconds from the election.
    let takeoverSteps: [String: Gauge]
    /// Orders in this node's fold by state (non-final states: final ones are the counters).
    let ordersByState: [OrderStatus: Gauge]
    let riskRejectsByRule: [String: Counter]
    let venueRejectsByReason: [VenueRejectCategory: Counter]
    /// 0 active, 1 reducing, 2 halted (the risk engine's effective mode; 0 with no limits configured).
    let riskMode = Gauge(label: "tandem_risk_mode")
    let riskBreaches: [String: Counter]
    let fix: [String: FIXSessionMetrics]
    let positions: [PositionKey: PositionMetrics]
    let feedGaps = Counter(label: "tandem_marketdata_gaps_total")
    /// The risk engine's day P&L and drawdown per currency, and the limits they are held to.
    let riskDay = RiskDayMetrics()
    let feedRecoveries: [String: Counter]

    static let takeoverStepNames = ["catch_up", "leader_elected", "fix_logged_on", "reconciled"]
    /// The rule names a risk decision or risk output can carry (TandemRisk's and the order manager's);
    /// anything else is counted as `other`.
    static let riskRuleNames = [
        "arithmetic_overflow", "disconnect_storm", "halted", "invalid_quantity", "lot_size", "max_daily_loss", "max_drawdown",
        "max_gross_exposure", "max_net_exposure", "max_open_orders", "max_order_notional", "max_order_quantity", "max_position",
        "message_rate", "no_reference_price", "no_route", "operator_halt", "operator_resume", "order_rate", "per_trade_loss",
        "pnl_overflow", "pnl_sigma", "position_reducing_only", "price_collar", "reducing_only", "reject_storm",
        "stale_market_data", "tick_size", "unknown_instrument", "venue_unavailable", "other",
    ]

    /// Histogram buckets for the backend (`TandemMetricsFactory`'s per-label buckets: these histograms are
    /// the lock-free ones, being on the order path).
    static let durationBuckets: [String: [Duration]] = [
        "tandem_journal_append_seconds": [.microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10),
                                          .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250),
                                          .milliseconds(500), .seconds(1)],
        "tandem_fix_order_roundtrip_seconds": [.microseconds(50), .microseconds(100), .microseconds(250), .microseconds(500),
                                               .milliseconds(1), .microseconds(2_500), .milliseconds(5), .milliseconds(10),
                                               .milliseconds(25), .milliseconds(100), .seconds(1)],
        "tandem_lease_renew_seconds": [.milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25),
                                       .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1)],
    ]
    static let valueBuckets: [String: [Double]] = [
        "tandem_fill_slippage_bps": [-50, -20, -10, -5, -2, -1, 0, 1, 2, 5, 10, 20, 50, 100],
    ]

    /// - Parameters:
    ///   - sessions: the configured FIX session ids.
    ///   - positions: the configured (account, instrument) pairs with the instrument's symbol.
    init(sessions: [String] = [], positions: [(PositionKey, symbol: String)] = []) {
        takeoverSteps = Dictionary(uniqueKeysWithValues: Self.takeoverStepNames.map {
            ($0, Gauge(label: "tandem_takeover_step_seconds", dimensions: [("step", $0)]))
        })
        ordersByState = Dictionary(uniqueKeysWithValues: OrderStatus.allCases.filter { !$0.isFinal }.map {
            ($0, Gauge(label: "tandem_orders", dimensions: [("state", $0.description)]))
        })
        riskRejectsByRule = Dictionary(uniqueKeysWithValues: Self.riskRuleNames.map {
            ($0, Counter(label: "tandem_order_risk_rejects_by_rule_total", dimensions: [("rule", $0)]))
        })
        venueRejectsByReason = Dictionary(uniqueKeysWithValues: VenueRejectCategory.allCases.map {
            ($0, Counter(label: "tandem_order_venue_rejects_by_reason_total", dimensions: [("reason", $0.rawValue)]))
        })
        riskBreaches = Dictionary(uniqueKeysWithValues: Self.riskRuleNames.map {
            ($0, Counter(label: "tandem_risk_breaches_total", dimensions: [("rule", $0)]))
        })
        fix = Dictionary(sessions.map { ($0, FIXSessionMetrics(session: $0)) }, uniquingKeysWith: { a, _ in a })
        self.positions = Dictionary(positions.map { ($0.0, PositionMetrics(account: $0.0.account.description, instrument: $0.symbol)) },
                                    uniquingKeysWith: { a, _ in a })
        feedRecoveries = Dictionary(uniqueKeysWithValues: ["retransmission", "snapshot"].map {
            ($0, Counter(label: "tandem_marketdata_recoveries_total", dimensions: [("method", $0)]))
        })
    }

    /// Counts what one folded event did to an order and feeds the term's slippage bookkeeping: the
    /// journal pipeline's `onOrderEffect`, under its lock, for every order event the leader folds.
    /// Reads the effect's plain values; the event's payload only for a reject's rule or reason (rare),
    /// since binding the payload copies it (its strings), which cost more than all the rest.
    @inline(__always)
    func observe(_ effect: OrderEffect, _ event: borrowing JournalEvent, slippage: FillSlippage?) {
        switch effect.kind {
        case .accepted:
            intents.increment()
        case .riskRejected:
            intents.increment()
            riskRejects.increment()
            if case .orderIntent(let i) = copy event, case .rejected(let rule, _) = i.decision {
                (riskRejectsByRule[rule] ?? riskRejectsByRule["other"])?.increment()
            }
        case .venueRejected:
            venueRejects.increment()
            if case .orderRejected(_, let reason, _) = copy event {
                venueRejectsByReason[VenueRejectCategory(reason: reason)]?.increment()
            }
        case .partiallyFilled, .filled:
            fills.increment()
        case .replaced, .ended, .none:
            break
        }
        slippage?.observe(effect)
    }

    /// A breach or mode change the risk engine reported, by its rule.
    func breach(rule: String) {
        (riskBreaches[rule] ?? riskBreaches["other"])?.increment()
    }
}

/// `tandem_risk_day_pnl{currency}` and `tandem_risk_drawdown{currency}` (price units, as the limits),
/// with `tandem_risk_max_daily_loss` and `tandem_risk_max_drawdown`, so a rule can alert on the ratio
/// before the engine acts. The currency label is bounded by the currencies the node trades; a currency
/// gets its gauges the first time the engine reports it.
final class RiskDayMetrics: Sendable {
    private let byCurrency = Mutex<[Currency: (pnl: Gauge, drawdown: Gauge)]>([:])
    let maxDailyLoss = Gauge(label: "tandem_risk_max_daily_loss")
    let maxDrawdown = Gauge(label: "tandem_risk_max_drawdown")

    func record(_ figures: [(currency: Currency, pnl: Int128, drawdown: Int128)], limits: RiskLimits) {
        maxDailyLoss.record(Double(limits.maxDailyLoss.units) / 1e8)
        maxDrawdown.record(Double(limits.maxDrawdown.units) / 1e8)
        byCurrency.withLock { gauges in
            for f in figures {
                let g = gauges[f.currency] ?? {
                    let d = [("currency", f.currency.description)]
                    let made = (Gauge(label: "tandem_risk_day_pnl", dimensions: d), Gauge(label: "tandem_risk_drawdown", dimensions: d))
                    gauges[f.currency] = made
                    return made
                }()
                g.pnl.record(Double(f.pnl) / 1e8)
                g.drawdown.record(Double(f.drawdown) / 1e8)
            }
        }
    }
}

/// A venue's reject of a new order, by a fixed category read from its free text (never the text itself).
enum VenueRejectCategory: String, Sendable, Hashable, CaseIterable {
    case unknownInstrument = "unknown_instrument"
    case unknownOrder = "unknown_order"
    case price
    case quantity
    case duplicate
    case marketClosed = "market_closed"
    case throttled
    case other

    init(reason: String) {
        let t = reason.lowercased()
        func has(_ words: String...) -> Bool { words.contains { t.contains($0) } }
        if has("does not know the order", "unknown order") { self = .unknownOrder }
        else if has("unknown symbol", "unknown instrument", "unknown security") { self = .unknownInstrument }
        else if has("duplicate") { self = .duplicate }
        else if has("throttl", "rate limit", "too many") { self = .throttled }
        else if has("closed", "halted", "trading halt", "not open") { self = .marketClosed }
        else if has("price", "tick", "collar") { self = .price }
        else if has("quantity", "qty", "lot") { self = .quantity }
        else { self = .other }
    }
}

/// One configured FIX session's counters.
struct FIXSessionMetrics: Sendable {
    /// Application messages received (admin messages stay in the session layer).
    let messagesIn: Counter
    /// Every new outbound message (admin too), as it is persisted before the write.
    let messagesOut: Counter
    /// ResendRequests this side sent (an inbound gap).
    let resendRequests: Counter
    /// Messages this side resent or gap-filled, answering the venue's ResendRequests.
    let resent: Counter
    /// Session-level Rejects this side sent (a message it could not accept).
    let rejectsSent: Counter
    /// Sampled NewOrderSingle → first ExecutionReport round trips.
    let roundTrips: OrderRoundTrips

    init(session: String) {
        let d = [("session", session)]
        messagesIn = Counter(label: "tandem_fix_messages_received_total", dimensions: d)
        messagesOut = Counter(label: "tandem_fix_messages_sent_total", dimensions: d)
        resendRequests = Counter(label: "tandem_fix_resend_requests_total", dimensions: d)
        resent = Counter(label: "tandem_fix_messages_resent_total", dimensions: d)
        rejectsSent = Counter(label: "tandem_fix_rejects_sent_total", dimensions: d)
        roundTrips = OrderRoundTrips(session: session)
    }
}

/// One configured (account, instrument)'s position gauges, in the instrument's units and currency.
struct PositionMetrics: Sendable {
    let quantity: Gauge
    let realizedPnL: Gauge
    let unrealizedPnL: Gauge
    let exposure: Gauge

    init(account: String, instrument: String) {
        let d = [("account", account), ("instrument", instrument)]
        quantity = Gauge(label: "tandem_position_quantity", dimensions: d)
        realizedPnL = Gauge(label: "tandem_position_realized_pnl", dimensions: d)
        unrealizedPnL = Gauge(label: "tandem_position_unrealized_pnl", dimensions: d)
        exposure = Gauge(label: "tandem_position_exposure", dimensions: d)
    }
}

/// The feed's gauges, for one leader term: created when it starts and destroyed when it ends, so a
/// standby (which runs no feed) exports none and `TandemFeedLineDown` cannot fire on it.
final class FeedMetrics: Sendable {
    let lineA = Gauge(label: "tandem_marketdata_feed_up", dimensions: [("line", "a")])
    let lineB = Gauge(label: "tandem_marketdata_feed_up", dimensions: [("line", "b")])
    let lastMessageAge = Gauge(label: "tandem_marketdata_last_message_age_seconds")

    func destroy() {
        lineA.destroy()
        lineB.destroy()
        lastMessageAge.destroy()
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
