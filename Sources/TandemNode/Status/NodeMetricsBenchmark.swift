import Metrics
import Synchronization
import TandemCore

/// What the node's metrics cost per order, for `tandem bench ops`: the updates one order causes on
/// the order path, against the bootstrapped backend — its intent counted (and its arrival mid kept),
/// its fill counted with its slippage observed (and the arrival dropped), each through the journal
/// pipeline's `onOrderEffect` hook as the node installs it, and one journal append observed (at most
/// one commit per order; batching makes it less).
///
/// The effects are the ones a real fold gives for the two events (``TradingState/lastOrderEffect``).
/// Not included: the fold's own cost of setting that effect (a few stores in each `apply`, which
/// the fold pays whether anyone observes or not) and the pipeline's check that it is not `.none`.
public enum NodeMetricsBenchmark {
    /// One order's events against a marked instrument: an accepted intent and its fill 1 cent above the mid.
    private struct Fixture {
        let metrics: NodeMetrics
        let slippage: FillSlippage
        let intent: JournalEvent
        let intentEffect: OrderEffect
        let fill: JournalEvent
        let fillEffect: OrderEffect
        /// The node's hook (NodeService.lead): the same closure type the pipeline calls.
        let hook: @Sendable (OrderEffect, borrowing JournalEvent) -> Void

        init(sessions: [String]) throws {
            let metrics = NodeMetrics(sessions: sessions, positions: [])
            let slippage = FillSlippage(recorder: metrics.slippage)
            self.metrics = metrics
            self.slippage = slippage
            hook = { effect, event in metrics.observe(effect, event, slippage: slippage) }
            let instrument = InstrumentID(1)
            let id = ClOrdID("3-1042")
            let request = OrderRequest(clOrdID: id, account: AccountID("ACC1"), instrument: instrument, side: .buy,
                                       type: .limit(try Price("100.01")), timeInForce: .day, quantity: try Quantity("10"))
            let at = Timestamp(nanosecondsSinceEpoch: 0)
            intent = .orderIntent(OrderIntent(request: request, decision: .accepted, at: at))
            fill = .fill(Execution(clOrdID: id, execID: "E1", quantity: try Quantity("10"), price: try Price("100.02"),
                                   fee: .zero(.usd), at: at))
            var state = TradingState()
            try state.apply(.instrumentDefined(Instrument(id: instrument, symbol: "BENCH", venue: "V", tickSize: try Price("0.01"),
                                                          lotSize: try Quantity("1"), currency: .usd), at: at))
            try state.apply(intent)
            intentEffect = state.lastOrderEffect
            try state.apply(fill)
            fillEffect = state.lastOrderEffect
            guard intentEffect.kind == .accepted, fillEffect.kind == .filled else {
                throw BenchmarkFixtureError(message: "the fold gave \(intentEffect.kind), \(fillEffect.kind) for an accepted intent and its fill")
            }
            slippage.mark(instrument, bid: try Price("100.00"), ask: try Price("100.02"))
        }
    }

    struct BenchmarkFixtureError: Error, CustomStringConvertible {
        var message: String
        var description: String { message }
    }

    /// Runs `iterations` orders' metric updates; returns how long they took.
    public static func run(iterations: Int) throws -> Duration {
        let f = try Fixture(sessions: ["TANDEM->VENUE"])
        let t0 = ContinuousClock.now
        for i in 0..<iterations {
            f.hook(f.intentEffect, f.intent)
            f.hook(f.fillEffect, f.fill)
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
            ("counters", time {
                for _ in 0..<iterations {
                    f.metrics.observe(f.intentEffect, f.intent, slippage: nil)
                    f.metrics.observe(f.fillEffect, f.fill, slippage: nil)
                }
            }),
            ("slippage_tracking", time { for _ in 0..<iterations { f.slippage.observe(f.intentEffect); f.slippage.observe(f.fillEffect) } }),
            ("slippage_observe", time { for i in 0..<iterations { f.metrics.slippage.record(Double(i & 0xff) / 10_000) } }),
            ("journal_append_observe", time { for i in 0..<iterations { f.metrics.journalAppend.recordNanoseconds(Int64(200_000 + i & 0xffff)) } }),
            // Anchors: the unit costs an order's updates are made of, on this machine now (an order takes
            // two counter increments, two histogram observations and two uncontended lock pairs).
            ("anchor_counter_increment", time { for _ in 0..<iterations { f.metrics.intents.increment() } }),
            ("anchor_lock_pair", time { for _ in 0..<iterations { lock.withLock { $0 &+= 1 } } }),
        ]
    }
}
