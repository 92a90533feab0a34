import Metrics
import Synchronization
import TandemCore

/// What the node's metrics cost per order, for `tandem bench ops`: the updates one order causes on
/// the order path, against the bootstrapped backend — the intent counted (and its arrival mid kept),
/// a fill counted with its slippage observed (and the arrival dropped), one journal append observed
/// (at most one commit per order; batching makes it less).
public enum NodeMetricsBenchmark {
    /// One order's events against a marked instrument: an accepted intent and its fill 1 cent above the mid.
    private struct Fixture {
        let metrics: NodeMetrics
        let slippage: FillSlippage
        let intent: [JournalEvent]
        let fill: [JournalEvent]

        init(sessions: [String]) throws {
            metrics = NodeMetrics(sessions: sessions, positions: [])
            slippage = FillSlippage(recorder: metrics.slippage)
            let instrument = InstrumentID(1)
            let id = ClOrdID("3-1042")
            let request = OrderRequest(clOrdID: id, account: AccountID("ACC1"), instrument: instrument, side: .buy,
                                       type: .limit(try Price("100.01")), timeInForce: .day, quantity: try Quantity("10"))
            let at = Timestamp(nanosecondsSinceEpoch: 0)
            intent = [.orderIntent(OrderIntent(request: request, decision: .accepted, at: at))]
            fill = [.fill(Execution(clOrdID: id, execID: "E1", quantity: try Quantity("10"), price: try Price("100.02"),
                                    fee: .zero(.usd), at: at))]
            slippage.mark(instrument, bid: try Price("100.00"), ask: try Price("100.02"))
        }
    }

    /// Runs `iterations` orders' metric updates; returns how long they took.
    public static func run(iterations: Int) throws -> Duration {
        let f = try Fixture(sessions: ["TANDEM->VENUE"])
        let t0 = ContinuousClock.now
        for i in 0..<iterations {
            f.metrics.count(f.intent, slippage: f.slippage)
            f.metrics.count(f.fill, slippage: f.slippage)
            f.metrics.journalAppend.recordNanoseconds(Int64(200_000 + i & 0xffff))
        }
        return ContinuousClock.now - t0
    }

    /// The parts of ``run(iterations:)`` alone, for finding what costs: the two counters, the slippage
    /// bookkeeping and observation, the journal-append observation; and two anchors, one counter
    /// increment and one uncontended lock and unlock.
    public static func parts(iterations: Int) throws -> [(String, Duration)] {
        let f = try Fixture(sessions: [])
        let lock = Mutex(0)
        func time(_ body: () -> Void) -> Duration {
            var best = Duration.seconds(3600)
            for _ in 0..<3 {
                let t0 = ContinuousClock.now
                body()
                best = min(best, ContinuousClock.now - t0)
            }
            return best
        }
        return [
            ("counters", time { for _ in 0..<iterations { f.metrics.count(f.intent); f.metrics.count(f.fill) } }),
            ("slippage_tracking", time {
                for _ in 0..<iterations {
                    f.slippage.withTracker { t, _ in for e in f.intent { f.metrics.visit(e, counting: false, sink: &t) { _ in } } }
                    f.slippage.withTracker { t, _ in for e in f.fill { f.metrics.visit(e, counting: false, sink: &t) { _ in } } }
                }
            }),
            ("slippage_observe", time { for i in 0..<iterations { f.metrics.slippage.record(Double(i & 0xff) / 10_000) } }),
            ("journal_append_observe", time { for i in 0..<iterations { f.metrics.journalAppend.recordNanoseconds(Int64(200_000 + i & 0xffff)) } }),
            // Anchors: the unit costs an order's updates are made of, on this machine now (an order takes
            // two counter increments, two histogram observations and two uncontended lock pairs).
            ("anchor_counter_increment", time { for _ in 0..<iterations { f.metrics.intents.increment() } }),
            ("anchor_lock_pair", time { for _ in 0..<iterations { lock.withLock { $0 &+= 1 } } }),
        ]
    }
}
