import TandemCore

/// Built-in order flow so the book always has liquidity and a price path: per instrument, a
/// market maker re-quotes `depth` levels each side around a mid that moves as a seeded random
/// walk, and a noise trader sometimes crosses the spread. Deterministic for a seed: the same
/// steps give the same commands. Its sessions (`SIM-MM`, `SIM-NOISE`) are internal: their
/// executions go nowhere but the feed and the drop copy never sees them.
public struct SyntheticMarket: Sendable {
    public static let makerSession = SessionID("SIM-MM")
    public static let takerSession = SessionID("SIM-NOISE")

    struct Book: Sendable {
        var instrument: InstrumentID
        var tick: Int64
        var lot: Int64
        var midTicks: Int64
        var live: [ClOrdID] = []
    }

    private let config: VenueConfiguration.MarketConfig
    private var books: [Book]
    /// A historical price path to follow instead of the random walk.
    private var replay: MarketReplay?
    private var rng: UInt64
    private var next: UInt64 = 0

    /// With `replay`, the mid follows its rows (``step(after:)``) instead of a random walk.
    public init(config: VenueConfiguration.MarketConfig, instruments: [(id: InstrumentID, tick: Price, lot: Quantity, reference: Price)],
                replay: MarketReplay? = nil) {
        self.config = config
        self.replay = replay
        self.rng = config.seed
        self.books = instruments.map {
            Book(instrument: $0.id, tick: $0.tick.units, lot: $0.lot.units, midTicks: $0.reference.units / max(1, $0.tick.units))
        }
    }

    /// What the state file keeps: each book's mid and live quotes (canceled at the next step), the
    /// random generator and the ClOrdID counter, so a restarted market continues its path.
    public struct Saved: Sendable, Codable, Hashable {
        public struct Book: Sendable, Codable, Hashable {
            public var instrument: UInt32
            public var midTicks: Int64
            public var live: [String]
        }
        public var books: [Book]
        public var rng: UInt64
        public var next: UInt64
    }

    public var saved: Saved {
        Saved(books: books.map { .init(instrument: $0.instrument.rawValue, midTicks: $0.midTicks, live: $0.live.map(\.rawValue)) },
              rng: rng, next: next)
    }

    /// Continues from `saved` (books not in it keep their reference price).
    public mutating func restore(_ saved: Saved) {
        rng = saved.rng
        next = saved.next
        for b in saved.books {
            if let i = books.firstIndex(where: { $0.instrument.rawValue == b.instrument }) {
                books[i].midTicks = b.midTicks
                books[i].live = b.live.map(ClOrdID.init)
            }
        }
    }

    /// The mid of an instrument, in price units (the quotes sit around it).
    public func mid(_ instrument: InstrumentID) -> Price? {
        books.first { $0.instrument == instrument }.map { Price(units: $0.midTicks * $0.tick) }
    }

    /// One step at `elapsed` since the market started: with a replay, each due row moves its
    /// instrument's mid to the row's price (to the nearest tick) before the quotes are renewed,
    /// and a row with a quantity prints a trade of about that size (a marketable IOC order in the
    /// direction of the move, in whole lots, after the new quotes). Without one, ``step()``.
    public mutating func step(after elapsed: Duration) -> [VenueCommand] {
        guard var r = replay else { return step() }
        let due = r.due(after: elapsed)
        replay = r
        var trades: [VenueCommand] = []
        for row in due {
            guard let i = books.firstIndex(where: { $0.instrument == row.instrument }) else { continue }
            let tick = max(1, books[i].tick)
            let ticks = (row.price.units + tick / 2) / tick
            let up = ticks >= books[i].midTicks
            books[i].midTicks = max(Int64(config.spreadTicks + config.depth + 1), ticks)
            if let q = row.quantity {
                let lot = max(1, books[i].lot)
                let lots = max(1, q.units / lot)
                trades.append(.newOrder(NewOrder(clOrdID: newID("R"), session: Self.takerSession, account: AccountID("SIM"),
                                                 instrument: row.instrument, side: up ? .buy : .sell, type: .market,
                                                 timeInForce: .immediateOrCancel, quantity: Quantity(units: lots * lot))))
            }
        }
        return step() + trades
    }

    /// One step: the commands to send to the engine, in order.
    public mutating func step() -> [VenueCommand] {
        var out: [VenueCommand] = []
        for i in books.indices {
            // Random walk: the sum of four uniform draws in [-v, v] approximates a normal step (none when replaying).
            let v = replay == nil ? Int64(max(0, config.volatilityTicks)) : 0
            var move: Int64 = 0
            if v > 0 { for _ in 0..<4 { move += Int64(random() % UInt64(2 * v + 1)) - v } }
            books[i].midTicks = max(Int64(config.spreadTicks + config.depth + 1), books[i].midTicks + move / 2)
            let b = books[i]
            for id in b.live {
                out.append(.cancel(CancelOrder(session: Self.makerSession, origClOrdID: id, clOrdID: newID("C"))))
            }
            books[i].live = []
            let half = Int64(max(1, config.spreadTicks)) / 2
            let size = Quantity(units: Int64(max(1, config.quoteLots)) * b.lot)
            for level in 0..<Int64(max(1, config.depth)) {
                for side in [Side.buy, .sell] {
                    let ticks = side == .buy ? b.midTicks - half - level : b.midTicks + max(1, Int64(config.spreadTicks) - half) + level
                    let id = newID("Q")
                    books[i].live.append(id)
                    out.append(.newOrder(NewOrder(clOrdID: id, session: Self.makerSession, account: AccountID("SIM"),
                                                  instrument: b.instrument, side: side, type: .limit(Price(units: ticks * b.tick)),
                                                  timeInForce: .day, quantity: size)))
                }
            }
            if Int(random() % 100) < config.takerPercent {
                let side: Side = random() % 2 == 0 ? .buy : .sell
                let lots = Int64(random() % UInt64(max(1, config.quoteLots))) + 1
                out.append(.newOrder(NewOrder(clOrdID: newID("N"), session: Self.takerSession, account: AccountID("SIM"),
                                              instrument: b.instrument, side: side, type: .market, timeInForce: .immediateOrCancel,
                                              quantity: Quantity(units: lots * b.lot))))
            }
        }
        return out
    }

    private mutating func newID(_ prefix: String) -> ClOrdID {
        next += 1
        return ClOrdID("\(prefix)\(next)")
    }

    private mutating func random() -> UInt64 {
        rng &+= 0x9E37_79B9_7F4A_7C15
        var z = rng
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
