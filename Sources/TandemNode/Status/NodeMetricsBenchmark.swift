import Metrics
import TandemCore

/// What the node's metrics cost per order, for `tandem bench ops`: the updates one order causes on
/// the order path, against the bootstrapped backend — the intent counted (and its arrival mid kept),
/// a fill counted with its slippage observed (and the arrival dropped), one journal append observed
/// (at most one commit per order; batching makes it less).
public enum NodeMetricsBenchmark {
    /// Runs `iterations` orders' metric updates; returns how long they took.
    public static func run(iterations: Int) throws -> Duration {
        let metrics = NodeMetrics(sessions: ["TANDEM->VENUE"], positions: [])
        let slippage = FillSlippage(recorder: metrics.slippage)
        let instrument = InstrumentID(1)
        let id = ClOrdID("3-1042")
        let request = OrderRequest(clOrdID: id, account: AccountID("ACC1"), instrument: instrument, side: .buy,
                                   type: .limit(try Price("100.01")), timeInForce: .day, quantity: try Quantity("10"))
        let at = Timestamp(nanosecondsSinceEpoch: 0)
        let intent: [JournalEvent] = [.orderIntent(OrderIntent(request: request, decision: .accepted, at: at))]
        let fill: [JournalEvent] = [.fill(Execution(clOrdID: id, execID: "E1", quantity: try Quantity("10"), price: try Price("100.02"),
                                                    fee: .zero(.usd), at: at))]
        slippage.mark(instrument, bid: try Price("100.00"), ask: try Price("100.02"))
        let t0 = ContinuousClock.now
        for i in 0..<iterations {
            metrics.count(intent, slippage: slippage)
            metrics.count(fill, slippage: slippage)
            metrics.journalAppend.recordNanoseconds(Int64(200_000 + i & 0xffff))
        }
        return ContinuousClock.now - t0
    }

    /// The parts of ``run(iterations:)`` alone, for finding what costs: the two counters, the slippage
    /// bookkeeping and observation, the journal-append observation.
    public static func parts(iterations: Int) throws -> [(String, Duration)] {
        let metrics = NodeMetrics(sessions: [], positions: [])
        let slippage = FillSlippage(recorder: metrics.slippage)
        let instrument = InstrumentID(1)
        let id = ClOrdID("3-1042")
        let request = OrderRequest(clOrdID: id, account: AccountID("ACC1"), instrument: instrument, side: .buy,
                                   type: .limit(try Price("100.01")), timeInForce: .day, quantity: try Quantity("10"))
        let at = Timestamp(nanosecondsSinceEpoch: 0)
        let intent: [JournalEvent] = [.orderIntent(OrderIntent(request: request, decision: .accepted, at: at))]
        let fill: [JournalEvent] = [.fill(Execution(clOrdID: id, execID: "E1", quantity: try Quantity("10"), price: try Price("100.02"),
                                                    fee: .zero(.usd), at: at))]
        slippage.mark(instrument, bid: try Price("100.00"), ask: try Price("100.02"))
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
            ("counters", time { for _ in 0..<iterations { metrics.count(intent); metrics.count(fill) } }),
            ("slippage_tracking", time { for _ in 0..<iterations { slippage.trackOnly(intent); slippage.trackOnly(fill) } }),  // its own pass
            ("slippage_observe", time { for _ in 0..<iterations { metrics.slippage.record(1.5) } }),
            ("journal_append_observe", time { for i in 0..<iterations { metrics.journalAppend.recordNanoseconds(Int64(200_000 + i & 0xffff)) } }),
        ]
    }
}
