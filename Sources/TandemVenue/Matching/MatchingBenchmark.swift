import TandemCore

/// The matching benchmark behind `tandem bench venue`: a seeded, deterministic mixed stream on a
/// deep book, timed with `ContinuousClock` around ``MatchingEngine/handle(_:at:into:)`` only.
///
/// The stream is generated up front by running it through a shadow engine (so cancels name orders
/// that are really resting at that point, and marketable orders really cross), then each run
/// replays the warm-up (untimed) into a fresh engine and times the mixed stream:
/// - ≈ 60 % passive limit orders near the touch (never crossing; at most one tick inside the spread),
/// - ≈ 25 % cancels of a random resting order,
/// - ≈ 15 % marketable orders (IOC limits a few ticks through the touch, one in five a market order),
///   sized so the book stays near its starting depth.
/// Timing lives here, not in the engine: the engine never reads a clock.
public enum MatchingBenchmark {
    public struct Workload: Sendable {
        public var config: MatchingEngineConfig
        /// Builds the deep book (untimed).
        public var warmup: [VenueCommand]
        /// The timed mixed stream.
        public var stream: [VenueCommand]
        public var adds = 0
        public var cancels = 0
        public var marketables = 0
    }

    public struct Result: Sendable {
        public var orders: Int
        public var runs: Int
        public var seed: UInt64
        public var best: Duration
        public var ordersPerSecond: Int
        /// The best run's thread CPU time, when a CPU clock was given, and the rate by it.
        public var bestThreadCPU: Duration?
        public var ordersPerCPUSecond: Int?
        public var adds: Int
        public var cancels: Int
        public var marketables: Int
        /// Matches (fills) during one timed run.
        public var trades: Int
        /// Events emitted during one timed run.
        public var events: Int
        public var restingBefore: Int
        public var restingAfter: Int
        public var priceLevelsBefore: Int
    }

    static let instrument = InstrumentID(1)
    static let tick: Int64 = 1_000_000          // 0.01
    static let share: Int64 = 100_000_000       // lot: 1
    static let mid: Int64 = 10_000 * 1_000_000  // 100.00

    public static func config() -> MatchingEngineConfig {
        let instrument = Instrument(id: instrument, symbol: "BENCH", venue: "TNDM", tickSize: Price(units: tick),
                                    lotSize: Quantity(units: share), currency: .usd)
        let fees = FeeSchedule(maker: FeeRate(hundredthsOfBasisPoint: -20), taker: FeeRate(hundredthsOfBasisPoint: 250))
        return MatchingEngineConfig(instruments: [VenueInstrument(instrument, fees: fees)])
    }

    /// A deep book of `resting` orders (half each side, over 100 levels per side), then `orders` mixed commands.
    public static func workload(orders: Int, seed: UInt64 = 42, resting: Int = 10_000) throws(VenueConfigError) -> Workload {
        var rng = SplitMix64(seed: seed)
        let cfg = config()
        var shadow = try MatchingEngine(config: cfg)
        let sessions = (1...4).map { SessionID("S\($0)") }
        let accounts = (1...8).map { AccountID("A\($0)") }
        var workload = Workload(config: cfg, warmup: [], stream: [])
        workload.warmup.reserveCapacity(resting)
        workload.stream.reserveCapacity(orders)

        // The generator's view of what rests, from the shadow engine's own events.
        var live: [(session: Int, clOrdID: ClOrdID, orderID: OrderID)] = []
        var position: [OrderID: Int] = [:]
        var sessionOf: [OrderID: (Int, ClOrdID)] = [:]
        var counter = 0
        var events: [VenueEvent] = []
        var now: Int64 = 1_700_000_000 * Timestamp.nanosecondsPerSecond

        func apply(_ command: VenueCommand) {
            now += 1_000
            events.removeAll(keepingCapacity: true)
            shadow.handle(command, at: Timestamp(nanosecondsSinceEpoch: now), into: &events)
            for e in events {
                switch e {
                case .accepted(let a):
                    sessionOf[a.ref.orderID] = (sessions.firstIndex(of: a.ref.session) ?? 0, a.ref.clOrdID)
                case .book(let u):
                    switch u.change {
                    case .added(let id, _):
                        if let (s, c) = sessionOf[id] {
                            position[id] = live.count
                            live.append((s, c, id))
                        }
                    case .deleted(let id), .executed(let id, _, remaining: .zero, _, _):
                        if let i = position.removeValue(forKey: id) {
                            let moved = live.removeLast()
                            if i < live.count {
                                live[i] = moved
                                position[moved.orderID] = i
                            }
                        }
                    case .modified, .executed: break
                    }
                case .canceled(let c):
                    sessionOf.removeValue(forKey: c.ref.orderID)
                case .fill(let f) where f.maker.leavesQuantity.isZero:
                    sessionOf.removeValue(forKey: f.maker.ref.orderID)
                default: break
                }
            }
        }

        func newOrder(_ side: Side, _ type: OrderType, _ tif: TimeInForce, _ quantity: Int64) -> VenueCommand {
            counter += 1
            let s = rng.below(sessions.count)
            return .newOrder(NewOrder(clOrdID: ClOrdID("C\(counter)"), session: sessions[s], account: accounts[s * 2 + rng.below(2)],
                                      instrument: instrument, side: side, type: type, timeInForce: tif, quantity: Quantity(units: quantity * share)))
        }

        // Warm-up: a deep, even book around 100.00.
        for i in 0..<resting {
            let buy = i % 2 == 0
            let offset = Int64(1 + rng.below(100)) * tick
            let price = buy ? mid - offset : mid + offset
            let command = newOrder(buy ? .buy : .sell, .limit(Price(units: price)), .day, Int64(1 + rng.below(20)))
            workload.warmup.append(command)
            apply(command)
        }

        for _ in 0..<orders {
            let top = shadow.topOfBook(instrument)
            let bestBid = top?.bid?.price.units
            let bestAsk = top?.ask?.price.units
            let roll = rng.below(100)
            let command: VenueCommand
            if roll < 25, !live.isEmpty {
                let victim = live[rng.below(live.count)]
                counter += 1
                command = .cancel(CancelOrder(session: sessions[victim.session], origClOrdID: victim.clOrdID, clOrdID: ClOrdID("X\(counter)")))
                workload.cancels += 1
            } else if roll >= 85 {
                let buy = rng.below(2) == 0
                let depth = Int64(live.count > resting ? 60 : 30)
                let quantity = 1 + Int64(rng.below(Int(depth)))
                if rng.below(5) == 0 || (buy ? bestAsk : bestBid) == nil {
                    command = newOrder(buy ? .buy : .sell, .market, .immediateOrCancel, quantity)
                } else {
                    let through = Int64(rng.below(3)) * tick
                    let price = buy ? bestAsk! + through : bestBid! - through
                    command = newOrder(buy ? .buy : .sell, .limit(Price(units: price)), .immediateOrCancel, quantity)
                }
                workload.marketables += 1
            } else {
                let buy = rng.below(2) == 0
                let back = Int64(rng.below(20)) * tick
                var price: Int64
                if buy {
                    let inside = min((bestBid ?? mid - tick) + tick, (bestAsk ?? mid + tick) - tick)
                    price = inside - back
                } else {
                    let inside = max((bestAsk ?? mid + tick) - tick, (bestBid ?? mid - tick) + tick)
                    price = inside + back
                }
                price = max(price, tick)
                command = newOrder(buy ? .buy : .sell, .limit(Price(units: price)), .day, Int64(1 + rng.below(20)))
                workload.adds += 1
            }
            workload.stream.append(command)
            apply(command)
        }
        return workload
    }

    /// Generates the workload and times it: best of `runs`, one thread.
    ///
    /// `threadCPUTime`, when given, reads the calling thread's CPU time (the CLI passes
    /// `CLOCK_THREAD_CPUTIME_ID`); on a shared machine that figure is far steadier than wall time,
    /// so it is reported beside it. This module reads no clock but `ContinuousClock`.
    public static func run(orders: Int = 1_000_000, runs: Int = 3, seed: UInt64 = 42, resting: Int = 10_000,
                           threadCPUTime: (() -> Duration?)? = nil) throws(VenueConfigError) -> Result {
        let workload = try workload(orders: orders, seed: seed, resting: resting)
        return try measure(workload, runs: runs, seed: seed, threadCPUTime: threadCPUTime)
    }

    public static func measure(_ workload: Workload, runs: Int, seed: UInt64 = 42, threadCPUTime: (() -> Duration?)? = nil) throws(VenueConfigError) -> Result {
        let clock = ContinuousClock()
        var best = Duration.seconds(1_000_000)
        var bestCPU: Duration?
        var trades = 0, eventCount = 0, before = 0, after = 0, levelsBefore = 0
        let start = Timestamp(nanosecondsSinceEpoch: 1_700_000_000 * Timestamp.nanosecondsPerSecond)
        for _ in 0..<max(1, runs) {
            var engine = try MatchingEngine(config: workload.config)
            var out: [VenueEvent] = []
            out.reserveCapacity(256)
            for command in workload.warmup {
                out.removeAll(keepingCapacity: true)
                engine.handle(command, at: start, into: &out)
            }
            before = engine.liveOrderCount()
            levelsBefore = engine.depthSnapshot(instrument).map { $0.bids.count + $0.asks.count } ?? 0
            var count = 0
            let tradesBefore = engine.tradeCount
            // Commands are handed over, as the FIX layer hands over what it decodes: moved out of a
            // uniquely owned array built before the clock starts (`popLast()` from the reversed stream).
            var pending = Array(workload.stream.reversed())
            let cpu0 = threadCPUTime?()
            let t0 = clock.now
            while let command = pending.popLast() {
                out.removeAll(keepingCapacity: true)
                engine.handle(command, at: start, into: &out)
                count &+= out.count
            }
            let elapsed = clock.now - t0
            if let cpu0, let cpu1 = threadCPUTime?() { bestCPU = min(bestCPU ?? cpu1 - cpu0, cpu1 - cpu0) }
            best = min(best, elapsed)
            trades = Int(engine.tradeCount - tradesBefore)
            eventCount = count
            after = engine.liveOrderCount()
        }
        func rate(_ d: Duration) -> Int {
            let attoseconds = Int128(d.components.seconds) * 1_000_000_000_000_000_000 + Int128(d.components.attoseconds)
            return attoseconds > 0 ? Int(Int128(workload.stream.count) * 1_000_000_000_000_000_000 / attoseconds) : 0
        }
        return Result(orders: workload.stream.count, runs: max(1, runs), seed: seed, best: best, ordersPerSecond: rate(best),
                      bestThreadCPU: bestCPU, ordersPerCPUSecond: bestCPU.map(rate),
                      adds: workload.adds, cancels: workload.cancels, marketables: workload.marketables, trades: trades,
                      events: eventCount, restingBefore: before, restingAfter: after, priceLevelsBefore: levelsBefore)
    }
}
