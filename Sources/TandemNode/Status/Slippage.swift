import Metrics
import Synchronization
import TandemCore

/// Slippage of a fill against the arrival mid, exactly: integer arithmetic only, the result in
/// ten-thousandths of a basis point (rounded half away from zero), so `Double(result) / 10_000` is the
/// only conversion (for the metric observation). Adverse is positive: a buy filled above the mid, a
/// sell below it.
public enum Slippage {
    /// The mid is carried doubled (`bid + ask` in price units) so a half-tick mid is exact.
    /// nil when the mid is not positive.
    public static func tenThousandthsOfBps(side: Side, fill: Price, arrivalMidTimesTwo mid2: Int128) -> Int64? {
        guard mid2 > 0 else { return nil }
        let sign: Int128 = side == .buy ? 1 : -1
        // (2·fill − 2·mid) / (2·mid) × 10⁴ bp × 10⁴
        let numerator = sign * (2 * Int128(fill.units) - mid2) * 100_000_000
        let half = mid2 >> 1
        // 64-bit division when both fit (the usual case: a fill near its mid): a 128-bit one is a libcall.
        if let n = Int64(exactly: numerator), let d = Int64(exactly: mid2), let h = Int64(exactly: half),
           n > Int64.min + h, n < Int64.max - h {
            return n >= 0 ? (n + h) / d : (n - h) / d
        }
        let rounded = numerator >= 0 ? (numerator + half) / mid2 : (numerator - half) / mid2
        return Int64(exactly: rounded)
    }
}

/// Which orders wait for fills and the mid they arrived at: the node's sans-I/O bookkeeping behind
/// `tandem_fill_slippage_bps`. Fed the latest two-sided mid of each instrument (market data) and the
/// folded journal events; returns the slippage of each fill of an order whose intent saw a mid.
/// An order leaves the table when it ends (filled, canceled, rejected, expired); its size is bounded
/// by the open orders (and capped: past `capacity` the oldest bookkeeping is dropped wholesale, so a
/// path that never ends an order cannot grow it).
struct SlippageTracker: Sendable {
    private var mids: [InstrumentID: Int128] = [:]
    /// The last instrument marked and its mid (also in `mids`): an intent for it, the usual case with
    /// one instrument traded, skips the table's hashing.
    private var recent: (instrument: InstrumentID, mid2: Int128)?
    private var arrivals: [ClOrdID: (side: Side, mid2: Int128)] = [:]
    let capacity: Int

    init(capacity: Int = 65_536) { self.capacity = capacity }

    var tracked: Int { arrivals.count }

    /// The instrument's two-sided book now (nil: one-sided or empty; the last mid is kept).
    mutating func mark(_ instrument: InstrumentID, bid: Price, ask: Price) {
        let mid2 = Int128(bid.units) + Int128(ask.units)
        mids[instrument] = mid2
        recent = (instrument, mid2)
    }

    var marks: [InstrumentID: Price] {
        mids.compactMapValues { Int64(exactly: $0 >> 1).map(Price.init(units:)) }
    }

    /// Calls `record` with the slippage (ten-thousandths of a bp) of each fill in these events, in order.
    mutating func observe(_ events: [JournalEvent], _ record: (Int64) -> Void) {
        for event in events { apply(event, record) }
    }

    /// One folded event: an accepted intent starts an order's entry, a fill reports its slippage (a
    /// final one ends the entry), a replace carries the entry over, a cancel, reject or expiry ends it.
    mutating func apply(_ event: JournalEvent, _ record: (Int64) -> Void) {
        switch event {
        case .orderIntent(let i):
            if case .accepted = i.decision { arrived(i.request.clOrdID, side: i.request.side, instrument: i.request.instrument) }
        case .partialFill(let e):
            if let s = filled(e.clOrdID, price: e.price, final: false) { record(s) }
        case .fill(let e):
            if let s = filled(e.clOrdID, price: e.price, final: true) { record(s) }
        case .replaceRequested(let id, let replacement, _):
            replaced(id, by: replacement.newClOrdID)
        case .cancelAccepted(let id, _), .orderRejected(let id, _, _), .orderExpired(let id, _):
            ended(id)
        default:
            break
        }
    }

    /// An accepted intent: its arrival mid is the instrument's mid now (none known: not tracked).
    mutating func arrived(_ id: ClOrdID, side: Side, instrument: InstrumentID) {
        guard let mid2 = recent?.instrument == instrument ? recent?.mid2 : mids[instrument] else { return }
        if arrivals.count >= capacity { arrivals.removeAll(keepingCapacity: true) }
        arrivals[id] = (side, mid2)
    }

    /// A fill's slippage against its order's arrival mid; a final fill ends the order.
    mutating func filled(_ id: ClOrdID, price: Price, final: Bool) -> Int64? {
        guard let a = final ? arrivals.removeValue(forKey: id) : arrivals[id] else { return nil }
        return Slippage.tenThousandthsOfBps(side: a.side, fill: price, arrivalMidTimesTwo: a.mid2)
    }

    /// Fills after a replace come under the replacement's ClOrdID: same arrival.
    mutating func replaced(_ id: ClOrdID, by new: ClOrdID) {
        if let a = arrivals[id] { arrivals[new] = a }
    }

    mutating func ended(_ id: ClOrdID) {
        arrivals.removeValue(forKey: id)
    }
}

/// A leader term's ``SlippageTracker`` behind a lock, feeding `tandem_fill_slippage_bps`: marked from
/// the market bridge, fed the folded events by the engine's observer (both on the term's event loop, so
/// the lock is uncontended). No allocation per order beyond the tracker's table entry.
final class FillSlippage: Sendable {
    private let tracker = Mutex(SlippageTracker())
    private let recorder: Recorder

    init(recorder: Recorder) { self.recorder = recorder }

    func mark(_ instrument: InstrumentID, bid: Price, ask: Price) {
        tracker.withLock { $0.mark(instrument, bid: bid, ask: ask) }
    }

    /// The table, locked once for ``NodeMetrics/count(_:slippage:)``'s single pass over a batch, and
    /// what records a slippage (ten-thousandths of a bp) in the histogram.
    func withTracker(_ body: (inout SlippageTracker, (Int64) -> Void) -> Void) {
        let recorder = self.recorder
        tracker.withLock { body(&$0) { recorder.record(Double($0) / 10_000) } }
    }

    /// The bookkeeping alone, without the observation (for the benchmark's parts).
    func trackOnly(_ events: [JournalEvent]) {
        tracker.withLock { $0.observe(events) { _ in } }
    }

    /// The last mid of each instrument, rounded down to a price unit (marks for unrealized P&L).
    func marks() -> [InstrumentID: Price] {
        tracker.withLock { $0.marks }
    }
}
