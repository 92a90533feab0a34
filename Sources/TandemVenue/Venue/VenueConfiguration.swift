import TandemCore
import TandemFIX

/// `tandem venue`'s configuration (JSON). Every field has a default, so `{}` is a working venue
/// with the demo's instruments and sessions; see docs/venue.md.
public struct VenueConfiguration: Sendable, Hashable, Codable {
    public struct InstrumentConfig: Sendable, Hashable, Codable {
        public var id: UInt32
        public var symbol: String
        public var tickSize: String
        public var lotSize: String
        /// Basis points, up to two decimals; negative is a rebate.
        public var makerFeeBps: String?
        public var takerFeeBps: String?
        /// Where the synthetic market starts its mid price.
        public var referencePrice: String

        public init(id: UInt32, symbol: String, tickSize: String, lotSize: String, makerFeeBps: String? = nil, takerFeeBps: String? = nil,
                    referencePrice: String) {
            self.id = id
            self.symbol = symbol
            self.tickSize = tickSize
            self.lotSize = lotSize
            self.makerFeeBps = makerFeeBps
            self.takerFeeBps = takerFeeBps
            self.referencePrice = referencePrice
        }
    }

    public struct MarketConfig: Sendable, Hashable, Codable {
        public var enabled: Bool
        public var seed: UInt64
        /// Milliseconds between synthetic-market steps.
        public var stepMillis: Int
        /// Per-step volatility of the mid, in ticks (the standard deviation of a step's move).
        public var volatilityTicks: Int
        /// Quoted spread, in ticks.
        public var spreadTicks: Int
        /// Price levels quoted on each side.
        public var depth: Int
        /// Size of each quote, in lots.
        public var quoteLots: Int
        /// Chance (percent) per step that a noise trader sends a marketable order.
        public var takerPercent: Int
        /// Follow a historical price path instead of the random walk.
        public var replay: ReplayConfig? = nil
    }

    /// The synthetic market's replay mode: the mid follows a CSV of `time,instrument,price[,quantity]`
    /// (docs/venue.md, "Replay").
    public struct ReplayConfig: Sendable, Hashable, Codable {
        public var csv: String
        /// Decimal: 1 plays the file's time in real time, 60 a minute per second. Default 1.
        public var speed: String?
        /// Start again from the first row after the last (default: hold the last price).
        public var loop: Bool?

        public init(csv: String, speed: String? = nil, loop: Bool? = nil) {
            self.csv = csv
            self.speed = speed
            self.loop = loop
        }
    }

    /// Faults set at start (drills); the risk session's `UKS` changes them at run time.
    public struct FaultsConfig: Sendable, Hashable, Codable {
        public struct Session: Sendable, Hashable, Codable {
            /// Hold every outbound FIX message this long (order kept).
            public var delayMillis: Int?
            /// Send every n-th outbound application message twice (the copy a PossDup resend).
            public var duplicateEvery: Int?
            /// Ordinals (1-based, per connection) of outbound application messages to lose.
            public var dropApplicationMessages: [Int]?
            /// Ordinals (1-based, per connection) of outbound application messages to send twice.
            public var duplicateApplicationMessages: [Int]?
            /// Reject this share of the session's new orders (order-entry sessions).
            public var rejectPercent: Int?

            public init(delayMillis: Int? = nil, duplicateEvery: Int? = nil, dropApplicationMessages: [Int]? = nil,
                        duplicateApplicationMessages: [Int]? = nil, rejectPercent: Int? = nil) {
                self.delayMillis = delayMillis
                self.duplicateEvery = duplicateEvery
                self.dropApplicationMessages = dropApplicationMessages
                self.duplicateApplicationMessages = duplicateApplicationMessages
                self.rejectPercent = rejectPercent
            }

            public var fix: FIXFaultInjection {
                FIXFaultInjection(dropApplicationMessages: Set(dropApplicationMessages ?? []),
                                  duplicateApplicationMessages: Set(duplicateApplicationMessages ?? []),
                                  duplicateEvery: duplicateEvery ?? 0, delay: .milliseconds(delayMillis ?? 0))
            }
        }
        /// By initiator CompID.
        public var sessions: [String: Session]?
        /// Start with the feed paused (no packets, not even heartbeats).
        public var feedPaused: Bool?
        /// Lose the first N packets on a line: `{"A": 5}`.
        public var feedDropNext: [String: Int]?

        public init(sessions: [String: Session]? = nil, feedPaused: Bool? = nil, feedDropNext: [String: Int]? = nil) {
            self.sessions = sessions
            self.feedPaused = feedPaused
            self.feedDropNext = feedDropNext
        }
    }

    /// Our CompID on every session.
    public var compID: String = "VENUE"
    public var host: String = "127.0.0.1"
    public var fixPort: Int = 9878
    public var feedRecoveryPort: Int = 9879
    public var heartBtIntSeconds: Int = 5
    public var instruments: [InstrumentConfig] = [
        InstrumentConfig(id: 1, symbol: "ACME", tickSize: "0.01", lotSize: "1", makerFeeBps: "-0.2", takerFeeBps: "0.3", referencePrice: "100.00"),
        InstrumentConfig(id: 2, symbol: "GLOBX", tickSize: "0.05", lotSize: "10", makerFeeBps: "0", takerFeeBps: "0.5", referencePrice: "42.50"),
    ]
    public var sessions: [VenueSession] = [
        VenueSession(compID: "TANDEM", role: .orderEntry, account: "TANDEM-1", cancelOnDisconnect: false),
        VenueSession(compID: "TANDEM-DC", role: .dropCopy),
        VenueSession(compID: "TANDEM-RISK", role: .risk),
        // The risk watchdog's own order entry, for FLATTEN (docs/watchdog.md).
        VenueSession(compID: "TANDEM-WD", role: .orderEntry, account: "TANDEM-1", cancelOnDisconnect: false),
    ]
    public var market = MarketConfig(enabled: true, seed: 42, stepMillis: 50, volatilityTicks: 2, spreadTicks: 2, depth: 5,
                                     quoteLots: 100, takerPercent: 20)
    /// Where the venue keeps its state across restarts (FIX sequence numbers and resend store,
    /// books, counters); none: every start is fresh, and the Logon text says so. See docs/venue.md.
    public var stateFile: String?
    /// How often the state file is rewritten while running (also on every logon and logout, and at shutdown).
    public var stateIntervalMillis: Int = 1000
    /// After a start from a state file not written at a graceful shutdown (a crash), outbound
    /// MsgSeqNums jump ahead by this much, so they never reuse numbers sent after the last write.
    public var stateSeqGapAfterCrash: Int = 1000
    public var faults: FaultsConfig?

    public init() {}

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = VenueConfiguration()
        compID = try c.decodeIfPresent(String.self, forKey: .compID) ?? d.compID
        host = try c.decodeIfPresent(String.self, forKey: .host) ?? d.host
        fixPort = try c.decodeIfPresent(Int.self, forKey: .fixPort) ?? d.fixPort
        feedRecoveryPort = try c.decodeIfPresent(Int.self, forKey: .feedRecoveryPort) ?? d.feedRecoveryPort
        heartBtIntSeconds = try c.decodeIfPresent(Int.self, forKey: .heartBtIntSeconds) ?? d.heartBtIntSeconds
        instruments = try c.decodeIfPresent([InstrumentConfig].self, forKey: .instruments) ?? d.instruments
        sessions = try c.decodeIfPresent([VenueSession].self, forKey: .sessions) ?? d.sessions
        market = try c.decodeIfPresent(MarketConfig.self, forKey: .market) ?? d.market
        stateFile = try c.decodeIfPresent(String.self, forKey: .stateFile)
        stateIntervalMillis = try c.decodeIfPresent(Int.self, forKey: .stateIntervalMillis) ?? d.stateIntervalMillis
        stateSeqGapAfterCrash = try c.decodeIfPresent(Int.self, forKey: .stateSeqGapAfterCrash) ?? d.stateSeqGapAfterCrash
        faults = try c.decodeIfPresent(FaultsConfig.self, forKey: .faults)
    }

    /// Checks the `faults` section; errors name the field.
    public func validateFaults() throws(VenueConfigError) {
        guard let faults else { return }
        func fail(_ m: String) -> VenueConfigError { VenueConfigError(instrument: nil, message: "faults.\(m)") }
        for (compID, f) in (faults.sessions ?? [:]).sorted(by: { $0.key < $1.key }) {
            guard let session = sessions.first(where: { $0.compID == compID }) else { throw fail("sessions[\(compID)]: no such session") }
            if let d = f.delayMillis, d < 0 { throw fail("sessions[\(compID)].delayMillis: must be ≥ 0") }
            if let n = f.duplicateEvery, n < 0 { throw fail("sessions[\(compID)].duplicateEvery: must be ≥ 0") }
            if (f.dropApplicationMessages ?? []).contains(where: { $0 < 1 }) { throw fail("sessions[\(compID)].dropApplicationMessages: ordinals start at 1") }
            if (f.duplicateApplicationMessages ?? []).contains(where: { $0 < 1 }) {
                throw fail("sessions[\(compID)].duplicateApplicationMessages: ordinals start at 1")
            }
            if let p = f.rejectPercent {
                guard (0...100).contains(p) else { throw fail("sessions[\(compID)].rejectPercent: must be 0...100") }
                guard session.role == .orderEntry else { throw fail("sessions[\(compID)].rejectPercent: not an order-entry session") }
            }
        }
        for (line, n) in faults.feedDropNext ?? [:] {
            guard line == "A" || line == "B" else { throw fail("feedDropNext[\(line)]: lines are A and B") }
            guard n >= 0 else { throw fail("feedDropNext[\(line)]: must be ≥ 0") }
        }
    }

    /// The matching engine's configuration; errors name the instrument and field.
    public func engineConfig() throws -> MatchingEngineConfig {
        var out: [VenueInstrument] = []
        for i in instruments {
            func field<T>(_ name: String, _ parse: () throws -> T) throws -> T {
                do { return try parse() } catch {
                    throw VenueConfigError(instrument: InstrumentID(i.id), message: "instruments[\(i.symbol)].\(name): \(error)")
                }
            }
            let tick = try field("tickSize") { try Price(i.tickSize) }
            let lot = try field("lotSize") { try Quantity(i.lotSize) }
            let maker = try field("makerFeeBps") { try FeeRate(basisPoints: i.makerFeeBps ?? "0") }
            let taker = try field("takerFeeBps") { try FeeRate(basisPoints: i.takerFeeBps ?? "0") }
            _ = try field("referencePrice") { try Price(i.referencePrice) }
            let instrument = Instrument(id: InstrumentID(i.id), symbol: i.symbol, venue: compID, tickSize: tick, lotSize: lot, currency: .usd)
            out.append(VenueInstrument(instrument, fees: FeeSchedule(maker: maker, taker: taker)))
        }
        let config = MatchingEngineConfig(instruments: out)
        try config.validate()
        return config
    }
}
