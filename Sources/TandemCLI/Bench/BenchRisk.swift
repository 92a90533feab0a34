import ArgumentParser
import Foundation
import Histogram
import Logging
import TandemCore
import TandemRisk

/// `tandem bench risk`: the cost of one pre-trade check, `RiskEngine.check` (which first runs the
/// state evaluation: stale marks, P&L, drawdown, per-trade loss), on a realistic book — several
/// instruments with marks, positions in each across a few accounts, open orders resting, a history of
/// final orders — timed one call at a time with `ContinuousClock` into an HDR histogram.
///
/// Then, unless `--skip-flatten`, `breach_to_flat_ms_p50/_max`: a limit breach to every position flat
/// at the venue through the real watchdog on a local cluster (``BreachToFlat``).
///
/// The JSON is one flat object of figures.
struct BenchRisk: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "risk",
        abstract: "Measure RiskEngine's pre-trade check (ns; target p99 ≤ 5,000) and the watchdog's breach-to-flat time (ms; target p50 ≤ 500)."
    )

    @Flag(help: "Print one JSON object.")
    var json = false

    @Option(help: "Checks to time (after a warm-up of a tenth as many).")
    var checks = 200_000

    @Option(help: "Instruments in the book (each with a mark and positions).")
    var instruments = 20

    @Option(help: "Open orders resting in the book.")
    var openOrders = 100

    @Option(help: "Final (filled or canceled) orders in the history.")
    var history = 2_000

    @Option(help: "Seed of the order mix.")
    var seed: UInt64 = 42

    @Option(name: .customLong("flatten-runs"), help: "Breach-to-flat runs on the local cluster (each: 10 instruments, one breach, flat, resume).")
    var flattenRuns = 10

    @Flag(name: .customLong("skip-flatten"), help: "Only the pre-trade check (no local cluster).")
    var skipFlatten = false

    func run() async throws {
        guard checks > 0, instruments > 0, openOrders >= 0, history >= 0 else {
            throw ValidationError("--checks and --instruments must be positive, --open-orders and --history not negative")
        }
        var figures = try pretradeFigures()
        if !skipFlatten {
            guard flattenRuns > 0 else { throw ValidationError("--flatten-runs must be positive") }
            // Quiet: every run HALTs and FLATTENs on purpose, which the watchdog logs as critical.
            let logger = Logger(label: "tandem.bench", factory: { _ in SwiftLogNoOpLogHandler() })
            let samples = try await BreachToFlat.measure(instruments: 10, runs: flattenRuns, logger: logger).map {
                Double($0.components.seconds) * 1000 + Double($0.components.attoseconds) / 1e15
            }.sorted()
            figures += [
                ("breach_to_flat_instruments", "10"),
                ("breach_to_flat_runs", "\(samples.count)"),
                ("breach_to_flat_ms_p50", String(format: "%.1f", samples[(samples.count - 1) / 2])),
                ("breach_to_flat_ms_max", String(format: "%.1f", samples.last!)),
            ]
        }
        if json {
            print("{" + figures.map { "\"\($0.0)\":\($0.1)" }.joined(separator: ",") + "}")
        } else {
            for (k, v) in figures { print("\(k)\t\(v)") }
        }
    }

    /// `pretrade_check_p50_ns`, `pretrade_check_p99_ns`, `pretrade_check_max_ns`, `pretrade_checks`,
    /// `pretrade_accepted` and the book's shape.
    func pretradeFigures() throws -> [(String, String)] {
        let book = try RiskBenchBook(instruments: instruments, openOrders: openOrders, history: history, seed: seed)
        var engine = RiskEngine(limits: book.limits)
        var now = book.start
        var marks = book.marks
        for (id, price) in marks { _ = engine.handle(.mark(id, price, at: now)) }
        var rng = TandemCore.SplitMix64(seed: seed ^ 0x5EED)
        var histogram = Histogram<UInt64>(highestTrackableValue: 1_000_000_000, numberOfSignificantValueDigits: .three)
        var accepted = 0
        let warmup = max(1, checks / 10)
        for i in 0..<(warmup + checks) {
            // 10 µs between orders; a fresh mark for one instrument every 10 orders, as a feed would give.
            now = Timestamp(nanosecondsSinceEpoch: now.nanosecondsSinceEpoch + 10_000)
            if i % 10 == 0 {
                let id = book.ids[rng.below(book.ids.count)]
                let moved = Price(units: (marks[id]?.units ?? 0) + Int64(rng.below(3) - 1) * book.tick.units)
                marks[id] = moved
                _ = engine.handle(.mark(id, moved, at: now))
            }
            let request = book.request(i, &rng, marks: marks)
            let t0 = ContinuousClock.now
            let (decision, _) = engine.check(request, state: book.state, marks: marks, now: now)
            let elapsed = ContinuousClock.now - t0
            guard i >= warmup else { continue }
            let ns = elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000
            histogram.record(UInt64(max(0, ns)))
            if decision == .accepted { accepted += 1 }
        }
        return [
            ("pretrade_check_p50_ns", "\(histogram.valueAtPercentile(50))"),
            ("pretrade_check_p99_ns", "\(histogram.valueAtPercentile(99))"),
            ("pretrade_check_max_ns", "\(histogram.max)"),
            ("pretrade_checks", "\(checks)"),
            ("pretrade_accepted", "\(accepted)"),
            ("instruments", "\(instruments)"),
            ("positions", "\(book.state.positionCount)"),
            ("open_orders", "\(book.state.openOrders.count)"),
            ("orders_total", "\(book.state.orderCount)"),
        ]
    }
}

/// The book the benchmark checks against, built through the fold as the node has it: `instruments`
/// instruments at 100.00 (tick 0.01, lot 1), four accounts each with a position in every instrument
/// (alternately long and short), `history` orders filled or canceled, `openOrders` acknowledged
/// limit orders resting a few ticks away from the mark, on the node's account.
struct RiskBenchBook {
    let state: TradingState
    let ids: [InstrumentID]
    let marks: [InstrumentID: Price]
    let limits: RiskLimits
    let tick = Price(units: 1_000_000)
    let start = Timestamp(nanosecondsSinceEpoch: 1_800_000_000_000_000_000)
    let account = AccountID("ACC1")

    init(instruments: Int, openOrders: Int, history: Int, seed: UInt64) throws {
        let start = self.start, account = self.account
        var s = TradingState()
        var rng = TandemCore.SplitMix64(seed: seed)
        let ids = (1...instruments).map { InstrumentID(UInt32($0)) }
        let hundred = Price(units: 100_00_000_000)
        for id in ids {
            try s.apply(.instrumentDefined(Instrument(id: id, symbol: "SYM\(id.rawValue)", venue: "VENUE", tickSize: Price(units: 1_000_000),
                                                      lotSize: Quantity(units: 100_000_000), currency: .usd), at: start))
        }
        let accounts = [account, AccountID("ACC2"), AccountID("ACC3"), AccountID("ACC4")]
        var n = 0
        func intent(_ account: AccountID, _ id: InstrumentID, _ side: Side, _ lots: Int64, _ price: Price) throws -> ClOrdID {
            n += 1
            let clOrdID = ClOrdID("1-\(n)")
            let r = OrderRequest(clOrdID: clOrdID, account: account, instrument: id, side: side, type: .limit(price),
                                 timeInForce: .day, quantity: Quantity(units: lots * 100_000_000))
            try s.apply(.orderIntent(OrderIntent(request: r, decision: .accepted, at: start)))
            try s.apply(.orderAcknowledged(clOrdID: clOrdID, venueOrderID: "V\(n)", at: start))
            return clOrdID
        }
        // Positions: every account in every instrument, filled at 100.
        for (a, account) in accounts.enumerated() {
            for (k, id) in ids.enumerated() {
                let lots = Int64(10 + rng.below(40))
                let c = try intent(account, id, (a + k) % 2 == 0 ? .buy : .sell, lots, hundred)
                try s.apply(.fill(Execution(clOrdID: c, execID: "E\(n)", quantity: Quantity(units: lots * 100_000_000), price: hundred,
                                            fee: Money(units: 1_000_000, currency: .usd), at: start)))
            }
        }
        // History: final orders (half filled in full, half canceled).
        for h in 0..<history {
            let id = ids[rng.below(ids.count)]
            let c = try intent(accounts[rng.below(accounts.count)], id, h % 2 == 0 ? .buy : .sell, 1, hundred)
            if h % 4 == 0 {
                try s.apply(.fill(Execution(clOrdID: c, execID: "E\(n)", quantity: Quantity(units: 100_000_000), price: hundred,
                                            fee: .zero(.usd), at: start)))
                let back = try intent(accounts[rng.below(accounts.count)], id, h % 2 == 0 ? .sell : .buy, 1, hundred)
                try s.apply(.fill(Execution(clOrdID: back, execID: "E\(n)", quantity: Quantity(units: 100_000_000), price: hundred,
                                            fee: .zero(.usd), at: start)))
            } else {
                try s.apply(.cancelRequested(clOrdID: c, at: start))
                try s.apply(.cancelAccepted(clOrdID: c, at: start))
            }
        }
        // Open orders resting 1–5 ticks off the mark.
        for o in 0..<openOrders {
            let side: Side = o % 2 == 0 ? .buy : .sell
            let off = Int64(1 + rng.below(5)) * 1_000_000
            _ = try intent(account, ids[o % ids.count], side, Int64(1 + rng.below(5)), Price(units: hundred.units + (side == .buy ? -off : off)))
        }
        state = s
        self.ids = ids
        marks = Dictionary(uniqueKeysWithValues: ids.map { ($0, hundred) })
        // Desk-like limits that a normal flow passes (so every rule runs), with the rate rules in reach.
        var l = RiskLimits()
        l.maxOrderQuantity = Quantity(units: 1_000 * 100_000_000)
        l.maxOrderNotional = try Amount("100000")
        l.maxPosition = Quantity(units: 5_000 * 100_000_000)
        l.maxOpenOrders = 10_000
        l.maxGrossExposure = try Amount("100000000")
        l.maxNetExposure = try Amount("50000000")
        l.maxOrdersPerWindow = 200_000
        l.maxMessagesPerWindow = 200_000
        l.staleMarkAfterMs = 5_000
        limits = l
    }

    /// A new order for the node's account: a limit within the collar, mostly small, on a random instrument.
    func request(_ i: Int, _ rng: inout TandemCore.SplitMix64, marks: [InstrumentID: Price]) -> OrderRequest {
        let id = ids[rng.below(ids.count)]
        let side: Side = rng.below(2) == 0 ? .buy : .sell
        let mark = marks[id]?.units ?? 100_00_000_000
        let off = Int64(rng.below(20)) * tick.units
        return OrderRequest(clOrdID: ClOrdID("B-\(i)"), account: account, instrument: id, side: side,
                            type: .limit(Price(units: side == .buy ? mark - off : mark + off)), timeInForce: .day,
                            quantity: Quantity(units: Int64(1 + rng.below(10)) * 100_000_000))
    }
}
