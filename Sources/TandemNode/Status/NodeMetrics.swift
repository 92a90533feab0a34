import Metrics
import TandemCore

/// The node's metrics, created once per node through swift-metrics (the process bootstraps the
/// backend; `tandem node --metrics-port` serves them as Prometheus text). Names follow Prometheus
/// conventions: `tandem_` prefix, base units, `_total` counters, no label that grows with orders.
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

    /// Counts what a batch of folded events says about orders.
    func count(_ events: [JournalEvent]) {
        for event in events {
            switch event {
            case .orderIntent(let i):
                intents.increment()
                if case .rejected = i.decision { riskRejects.increment() }
            case .orderRejected: venueRejects.increment()
            case .fill, .partialFill: fills.increment()
            default: break
            }
        }
    }
}
