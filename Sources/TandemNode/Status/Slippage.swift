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
/// ``NodeMetrics/count(_:slippage:)``, the folded journal events' order lifecycle; gives the
/// slippage of each fill of an order whose intent saw a mid.
/// An order leaves the table when it ends (filled, canceled, rejected, expired); its size is bounded
/// by the open orders (and capped: past `capacity` the oldest bookkeeping is dropped wholesale, so a
/// path that never ends an order cannot grow it).
struct SlippageTracker: OrderLifecycleSink {
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

    /// An accepted intent: its arrival mid is the instrument's mid now (none known: not tracked).
    mutating func arrived(_ id: ClOrdID, side: Side, instrument: InstrumentID) {
        guard let mid2 = recent?.instrument == instrument ? recent?.mid2 : mids[instrument] else { return }
        if arrivals.count >= capacity { arrivals.removeAll() }
        arrivals.insert(id, ArrivalTable.Arrival(side: side, mid2: mid2))
    }

    /// A fill's slippage against its order's arrival mid; a final fill ends the order.
    mutating func filled(_ id: ClOrdID, price: Price, final: Bool) -> Int64? {
        guard let a = final ? arrivals.remove(id) : arrivals.find(id) else { return nil }
        return Slippage.tenThousandthsOfBps(side: a.side, fill: price, arrivalMidTimesTwo: a.mid2)
    }

    /// Fills after a replace come under the replacement's ClOrdID: same arrival.
    mutating func replaced(_ id: ClOrdID, by new: ClOrdID) {
        if let a = arrivals.find(id) { arrivals.insert(new, a) }
    }

    mutating func ended(_ id: ClOrdID) {
        _ = arrivals.remove(id)
    }
}

/// What an order's lifecycle in the folded events means to a bookkeeper (``SlippageTracker``, or
/// nothing): ``NodeMetrics`` reads each event once and tells its sink, so one switch (one copy of the
/// event's payload) serves the counters and the slippage table.
protocol OrderLifecycleSink {
    /// An accepted intent.
    mutating func arrived(_ id: ClOrdID, side: Side, instrument: InstrumentID)
    /// A fill; the slippage (ten-thousandths of a bp) if the order is tracked.
    mutating func filled(_ id: ClOrdID, price: Price, final: Bool) -> Int64?
    /// A replace requested: fills may come under the new ClOrdID.
    mutating func replaced(_ id: ClOrdID, by new: ClOrdID)
    /// Canceled, rejected by the venue, or expired.
    mutating func ended(_ id: ClOrdID)
}

/// The sink of a node without slippage bookkeeping (a standby, tests).
struct NoLifecycleSink: OrderLifecycleSink {
    mutating func arrived(_ id: ClOrdID, side: Side, instrument: InstrumentID) {}
    mutating func filled(_ id: ClOrdID, price: Price, final: Bool) -> Int64? { nil }
    mutating func replaced(_ id: ClOrdID, by new: ClOrdID) {}
    mutating func ended(_ id: ClOrdID) {}
}

/// The open orders' arrival mids by ClOrdID: linear probing over a power-of-two table, keyed by a
/// 64-bit FNV-1a fingerprint of the ClOrdID's bytes (the ClOrdID is kept too and compared, so a
/// fingerprint collision only lengthens a probe).
///
/// Why not `Dictionary`: it hashes the string with seeded SipHash twice per order (insert at the
/// intent, remove at the fill); measured standalone, its insert and remove took 75–110 ns against
/// ≈ 42 ns for this table's (docs/monitoring.md, "Metrics on the order path"). FNV over a ClOrdID's
/// few bytes is a multiply per byte.
struct ArrivalTable {
    struct Arrival {
        var side: Side
        var mid2: Int128
    }

    private struct Slot {
        /// 0: empty (a real fingerprint is never 0).
        var fingerprint: UInt64
        var id: ClOrdID
        var arrival: Arrival
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
        Array(repeating: Slot(fingerprint: 0, id: ClOrdID(""), arrival: Arrival(side: .buy, mid2: 0)), count: size)
    }

    static func fingerprint(_ id: ClOrdID) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        let bytes = id.rawValue.utf8.span
        for i in bytes.indices { h = (h ^ UInt64(bytes[i])) &* 0x0000_0100_0000_01b3 }
        // FNV's low bits mix poorly and they pick the slot: finish with murmur3's fmix64.
        h ^= h >> 33
        h &*= 0xff51_afd7_ed55_8ccd
        h ^= h >> 33
        return h == 0 ? 1 : h
    }

    /// The slot holding `id`, or the empty slot where its probe ends.
    private func probe(_ id: ClOrdID, _ f: UInt64) -> Int {
        var i = Int(truncatingIfNeeded: f) & mask
        while slots[i].fingerprint != 0 {
            if slots[i].fingerprint == f && slots[i].id == id { return i }
            i = (i &+ 1) & mask
        }
        return i
    }

    func find(_ id: ClOrdID) -> Arrival? {
        let i = probe(id, Self.fingerprint(id))
        return slots[i].fingerprint == 0 ? nil : slots[i].arrival
    }

    mutating func insert(_ id: ClOrdID, _ arrival: Arrival) {
        if (count + 1) * 4 > slots.count * 3 { grow() }
        let f = Self.fingerprint(id)
        let i = probe(id, f)
        if slots[i].fingerprint == 0 { count += 1 }
        slots[i] = Slot(fingerprint: f, id: id, arrival: arrival)
    }

    /// Removes `id` and closes the gap (backward shift: no tombstones, so probes stay short).
    mutating func remove(_ id: ClOrdID) -> Arrival? {
        var hole = probe(id, Self.fingerprint(id))
        guard slots[hole].fingerprint != 0 else { return nil }
        let removed = slots[hole].arrival
        count -= 1
        var j = hole
        while true {
            j = (j &+ 1) & mask
            let f = slots[j].fingerprint
            if f == 0 { break }
            let home = Int(truncatingIfNeeded: f) & mask
            // Move slot j back into the hole unless its home lies cyclically in (hole, j].
            let stays = hole <= j ? (hole < home && home <= j) : (hole < home || home <= j)
            if !stays {
                slots[hole] = slots[j]
                hole = j
            }
        }
        slots[hole].fingerprint = 0
        slots[hole].id = ClOrdID("")
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
        for s in old where s.fingerprint != 0 {
            var i = Int(truncatingIfNeeded: s.fingerprint) & mask
            while slots[i].fingerprint != 0 { i = (i &+ 1) & mask }
            slots[i] = s
        }
    }
}

/// A leader term's ``SlippageTracker`` behind a lock, feeding `tandem_fill_slippage_bps`: marked from
/// the market bridge, fed the folded events by the engine's observer (both on the term's event loop, so
/// the lock is uncontended). No allocation per order beyond the tracker's table entry.
final class FillSlippage: Sendable {
    private let tracker = Mutex(SlippageTracker())
    private let recorder: any RecorderHandler

    init(recorder: any RecorderHandler) { self.recorder = recorder }

    func mark(_ instrument: InstrumentID, bid: Price, ask: Price) {
        tracker.withLock { $0.mark(instrument, bid: bid, ask: ask) }
    }

    /// The table, locked once for ``NodeMetrics/count(_:slippage:)``'s single pass over a batch, and
    /// what records a slippage (ten-thousandths of a bp) in the histogram. The recorder is the
    /// backend's handler itself: swift-metrics' `Recorder.record` is a generic method of a non-final
    /// class, so it runs unspecialized (≈ 50 ns a call here, against ≈ 20 for the handler's).
    func withTracker(_ body: (inout SlippageTracker, (Int64) -> Void) -> Void) {
        let recorder = self.recorder
        tracker.withLock { body(&$0) { recorder.record(Double($0) / 10_000) } }
    }

    /// The last mid of each instrument, rounded down to a price unit (marks for unrealized P&L).
    func marks() -> [InstrumentID: Price] {
        tracker.withLock { $0.marks }
    }
}
