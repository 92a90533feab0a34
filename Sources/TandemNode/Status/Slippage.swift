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
        // 64-bit arithmetic when nothing overflows (the usual case: a fill near its mid); 128-bit
        // multiplication and division are library calls.
        if let d = Int64(exactly: mid2) {
            let (twice, o1) = fill.units.multipliedReportingOverflow(by: 2)
            let (diff, o2) = twice.subtractingReportingOverflow(d)
            let (scaled, o3) = diff.multipliedReportingOverflow(by: 100_000_000)
            let h = d >> 1
            if !o1 && !o2 && !o3 && scaled > Int64.min + h && scaled < Int64.max - h {
                let n = side == .buy ? scaled : -scaled
                return n >= 0 ? (n + h) / d : (n - h) / d
            }
        }
        let sign: Int128 = side == .buy ? 1 : -1
        // (2·fill − 2·mid) / (2·mid) × 10⁴ bp × 10⁴
        let numerator = sign * (2 * Int128(fill.units) - mid2) * 100_000_000
        let half = mid2 >> 1
        let rounded = numerator >= 0 ? (numerator + half) / mid2 : (numerator - half) / mid2
        return Int64(exactly: rounded)
    }
}

/// Which orders wait for fills and the mid they arrived at: the node's sans-I/O bookkeeping behind
/// `tandem_fill_slippage_bps`. Fed the latest two-sided mid of each instrument (market data) and, by
/// ``FillSlippage/observe(_:)``, what each folded event did to an order (``OrderEffect``: plain values,
/// the order named by its handle in the fold); gives the slippage of each fill of an order whose
/// intent saw a mid. An order leaves the table when it ends (filled, canceled, rejected, expired, or
/// replaced: its replacement takes its arrival); its size is bounded by the open orders (and capped:
/// past `capacity` the oldest bookkeeping is dropped wholesale, so a path that never ends an order
/// cannot grow it).
struct SlippageTracker {
    private var mids: [InstrumentID: Int128] = [:]
    /// The last instrument marked and its mid (also in `mids`): an intent for it, the usual case with
    /// one instrument traded, skips the table's hashing.
    private var recent: (instrument: InstrumentID, mid2: Int128)?
    private var arrivals = ArrivalTable()
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

    /// Takes one folded event's effect; returns a fill's slippage (ten-thousandths of a bp) when its
    /// order is tracked.
    mutating func apply(_ effect: OrderEffect) -> Int64? {
        switch effect.kind {
        case .accepted:
            // Its arrival mid is the instrument's mid now (none known: not tracked).
            let i = effect.instrument
            guard let mid2 = recent?.instrument == i ? recent?.mid2 : mids[i] else { return nil }
            if arrivals.count >= capacity { arrivals.removeAll() }
            arrivals.insert(effect.order, mid2: mid2)
        case .partiallyFilled, .filled:
            guard let mid2 = effect.kind == .filled ? arrivals.remove(effect.order) : arrivals.find(effect.order) else { return nil }
            return Slippage.tenThousandthsOfBps(side: effect.side, fill: effect.price, arrivalMidTimesTwo: mid2)
        case .replaced:
            // Fills after a replace come under the replacement: same arrival.
            if let mid2 = arrivals.remove(effect.order) { arrivals.insert(effect.replacement, mid2: mid2) }
        case .venueRejected, .ended:
            _ = arrivals.remove(effect.order)
        case .riskRejected, .none:
            break
        }
        return nil
    }
}

/// The open orders' arrival mids (doubled) by order handle: linear probing over a power-of-two table,
/// each handle's home slot the handle itself masked. Handles are the fold's order-store positions,
/// given in sequence, so the open orders are mostly a run of recent handles that lands in
/// consecutive slots without collisions, and a key is an `Int` compared exactly.
///
/// Why not `Dictionary`: it hashes with seeded SipHash at the intent and again at the fill; measured
/// standalone, its insert and remove took 75–110 ns when keyed by ClOrdID (docs/monitoring.md,
/// "Metrics on the order path").
struct ArrivalTable {
    private struct Slot {
        /// -1: empty (handles are never negative).
        var order: Int
        var mid2: Int128
    }

    private var slots: [Slot]
    private var mask: Int
    private(set) var count = 0

    init(minimumCapacity: Int = 64) {
        var size = 16
        while size < minimumCapacity * 4 / 3 + 1 { size <<= 1 }
        slots = Self.empty(size)
        mask = size - 1
    }

    private static func empty(_ size: Int) -> [Slot] {
        Array(repeating: Slot(order: -1, mid2: 0), count: size)
    }

    /// The slot holding `order`, or the empty slot where its probe ends.
    private func probe(_ order: Int) -> Int {
        var i = order & mask
        while slots[i].order >= 0 {
            if slots[i].order == order { return i }
            i = (i &+ 1) & mask
        }
        return i
    }

    func find(_ order: Int) -> Int128? {
        let i = probe(order)
        return slots[i].order < 0 ? nil : slots[i].mid2
    }

    mutating func insert(_ order: Int, mid2: Int128) {
        precondition(order >= 0, "an order handle is never negative")
        if (count + 1) * 4 > slots.count * 3 { grow() }
        let i = probe(order)
        if slots[i].order < 0 { count += 1 }
        slots[i] = Slot(order: order, mid2: mid2)
    }

    /// Removes `order` and closes the gap (backward shift: no tombstones, so probes stay short).
    mutating func remove(_ order: Int) -> Int128? {
        var hole = probe(order)
        guard slots[hole].order >= 0 else { return nil }
        let removed = slots[hole].mid2
        count -= 1
        var j = hole
        while true {
            j = (j &+ 1) & mask
            let o = slots[j].order
            if o < 0 { break }
            let home = o & mask
            // Move slot j back into the hole unless its home lies cyclically in (hole, j].
            let stays = hole <= j ? (hole < home && home <= j) : (hole < home || home <= j)
            if !stays {
                slots[hole] = slots[j]
                hole = j
            }
        }
        slots[hole].order = -1
        return removed
    }

    mutating func removeAll() {
        slots = Self.empty(slots.count)
        count = 0
    }

    private mutating func grow() {
        let old = slots
        slots = Self.empty(old.count * 2)
        mask = slots.count - 1
        for s in old where s.order >= 0 {
            var i = s.order & mask
            while slots[i].order >= 0 { i = (i &+ 1) & mask }
            slots[i] = s
        }
    }
}

/// A leader term's ``SlippageTracker`` behind a lock, feeding `tandem_fill_slippage_bps`: marked from
/// the market bridge, fed each folded order effect by the journal pipeline (both on the term's event
/// loop, so the lock is uncontended; the pipeline calls under its own lock, and this one is a leaf).
/// No allocation per order beyond the tracker's table entry.
final class FillSlippage: Sendable {
    private let tracker = Mutex(SlippageTracker())
    /// The backend's handler itself: swift-metrics' `Recorder.record` is a generic method of a
    /// non-final class, so it runs unspecialized (≈ 50 ns a call here, against ≈ 20 for the handler's).
    private let recorder: any RecorderHandler

    init(recorder: any RecorderHandler) { self.recorder = recorder }

    func mark(_ instrument: InstrumentID, bid: Price, ask: Price) {
        tracker.withLock { $0.mark(instrument, bid: bid, ask: ask) }
    }

    /// One folded event's effect on an order; a fill's slippage is recorded (basis points).
    func observe(_ effect: OrderEffect) {
        if let s = tracker.withLock({ $0.apply(effect) }) { recorder.record(Double(s) / 10_000) }
    }

    /// The last mid of each instrument, rounded down to a price unit (marks for unrealized P&L).
    func marks() -> [InstrumentID: Price] {
        tracker.withLock { $0.marks }
    }
}
