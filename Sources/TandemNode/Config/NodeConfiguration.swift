import Logging
import TandemCore

/// One engine node's configuration: one YAML (or JSON) file per node plus `TANDEM__…` environment
/// overrides, validated into typed values. See docs/node-config.md for every key.
///
/// Both nodes of a pair normally share everything but `node.id`; the file is the same shape for
/// leader and standby because either may lead.
public struct NodeConfiguration: Sendable, Hashable {
    /// `cluster`: names the journal stream and lease both nodes of a pair share.
    public var cluster: String
    /// `node.id`: this node's unique id within the cluster (journaled in `LeaderElected`).
    public var nodeID: String
    /// `database`: where the journal lives.
    public var database: DatabaseConfiguration
    /// `timing`: lease, heartbeat and standby lag.
    public var timing: TimingConfiguration
    /// `journal`: what the node keeps besides the journal itself (snapshots).
    public var journal: JournalConfiguration
    /// `venues`: at least one; the strategy trades one of them.
    public var venues: [NodeVenueConfiguration]
    /// `strategy`: the one strategy this node runs.
    public var strategy: StrategyConfiguration
    /// `execution`: order-manager behaviour.
    public var execution: ExecutionConfiguration
    /// `risk`: the node's risk session calendar.
    public var risk: RiskConfiguration
    /// `log.level`, default `info`.
    public var logLevel: Logger.Level

    public init(cluster: String, nodeID: String, database: DatabaseConfiguration = .embedded(dataDirectory: DatabaseConfiguration.defaultDataDirectory),
                timing: TimingConfiguration = .init(), journal: JournalConfiguration = .init(), venues: [NodeVenueConfiguration],
                strategy: StrategyConfiguration, execution: ExecutionConfiguration = .init(), risk: RiskConfiguration = .init(),
                logLevel: Logger.Level = .info) {
        self.cluster = cluster
        self.nodeID = nodeID
        self.database = database
        self.timing = timing
        self.journal = journal
        self.venues = venues
        self.strategy = strategy
        self.execution = execution
        self.risk = risk
        self.logLevel = logLevel
    }

    /// The venue the strategy trades (validation guarantees there is one).
    public var strategyVenue: NodeVenueConfiguration? {
        venues.first { $0.name == strategy.venue }
    }
}

/// `database`: a DSN for an external (HA) PostgreSQL, or a private local server Tandem starts from
/// the system's binaries. Exactly one; neither means embedded in the default directory.
public enum DatabaseConfiguration: Sendable, Hashable, CustomStringConvertible {
    /// `database.dsn`: a libpq connection string or URI, possibly multi-host
    /// (`host=a,b target_session_attrs=read-write`).
    case dsn(String)
    /// `database.embedded.dataDirectory`: the embedded server's data directory.
    case embedded(dataDirectory: String)

    public static let defaultDataDirectory = ".tandem/pg"

    /// The DSN with any password masked, so configurations can be logged.
    public var description: String {
        switch self {
        case .dsn(let dsn): "dsn \(Self.masked(dsn))"
        case .embedded(let directory): "embedded PostgreSQL in \(directory)"
        }
    }

    /// Masks `password=…` (key/value form, quoted or not, or a URI query parameter) and the
    /// `user:password@` of a URI.
    static func masked(_ dsn: String) -> String {
        var out = dsn.replacing(#/password\s*=\s*('(?:[^'\\]|\\.)*'|[^\s&]+)/#, with: "password=***")
        if let scheme = out.range(of: "://") {
            let rest = out[scheme.upperBound...]
            let authorityEnd = rest.firstIndex(where: { "/?#".contains($0) }) ?? rest.endIndex
            let authority = rest[..<authorityEnd]
            if let at = authority.lastIndex(of: "@"), let colon = authority[..<at].firstIndex(of: ":") {
                out = String(out[..<out.index(after: colon)]) + "***" + String(out[at...])
            }
        }
        return out
    }
}

/// `journal`: snapshots of the fold, which bound what a starting node, `tandem status` and its page, and
/// `tandem journal replay --from-snapshot` must fold (each starts from the newest one).
public struct JournalConfiguration: Sendable, Hashable {
    /// `journal.snapshotEveryEvents`, default 100,000; 0 turns snapshots off: a standby stores its fold
    /// every this many events it folds, and an empty follower starts from the newest such snapshot
    /// (`tandem journal snapshot` stores one of the core state on demand).
    public var snapshotEveryEvents: Int
    /// `journal.snapshotsKept`, default 10: after storing one, a standby deletes all but the newest
    /// this many (replays `--to-seq` before the oldest kept then fold from seq 1).
    public var snapshotsKept: Int

    public init(snapshotEveryEvents: Int = 100_000, snapshotsKept: Int = 10) {
        self.snapshotEveryEvents = snapshotEveryEvents
        self.snapshotsKept = snapshotsKept
    }
}

/// `timing`: the lease protocol's clocks (design, "Failover, step by step").
///
/// The leader renews every `heartbeat`; a lease lasts `lease` by the database's clock; the leader
/// stops sending on its own monotonic clock `lease − selfFenceMargin` after its last renewal, which
/// must leave it at least one heartbeat to renew, hence `selfFenceMargin < lease − heartbeat`.
public struct TimingConfiguration: Sendable, Hashable {
    /// `timing.heartbeatMs`, default 200 ms.
    public var heartbeat: Duration
    /// `timing.leaseMs`, default 1 s.
    public var lease: Duration
    /// `timing.selfFenceMarginMs`, default 200 ms.
    public var selfFenceMargin: Duration
    /// `timing.standbyMaxLagMs`, default 500 ms: how far behind the journal a standby may fall
    /// before it reports itself unfit to take over.
    public var standbyMaxLag: Duration

    public init(heartbeat: Duration = .milliseconds(200), lease: Duration = .seconds(1), selfFenceMargin: Duration = .milliseconds(200),
                standbyMaxLag: Duration = .milliseconds(500)) {
        self.heartbeat = heartbeat
        self.lease = lease
        self.selfFenceMargin = selfFenceMargin
        self.standbyMaxLag = standbyMaxLag
    }

    /// How long after its last successful renewal a leader stops sending: `lease − selfFenceMargin`.
    public var selfFenceAfter: Duration { lease - selfFenceMargin }
}

/// `venues[i]`: one venue: its FIX order-entry sessions, its market-data feed and its instruments.
public struct NodeVenueConfiguration: Sendable, Hashable {
    /// `name`: the venue's name; instruments carry it as `Instrument.venue`.
    public var name: String
    /// `sessions`: at least one FIX 4.4 order-entry session (the node is the initiator).
    public var sessions: [FIXSessionEndpoint]
    /// `feed`: the venue's market-data feed; nil when absent.
    public var feed: FeedEndpoint?
    /// `rateLimit`: venue-wide order rate, across all sessions; default 100/s, burst 20.
    public var rateLimit: RateLimit
    /// `instruments`: at least one; ids are unique across all venues.
    public var instruments: [Instrument]

    public static let defaultRateLimit = RateLimit(ordersPerSecond: 100, burst: 20)

    public init(name: String, sessions: [FIXSessionEndpoint], feed: FeedEndpoint? = nil, rateLimit: RateLimit = defaultRateLimit,
                instruments: [Instrument]) {
        self.name = name
        self.sessions = sessions
        self.feed = feed
        self.rateLimit = rateLimit
        self.instruments = instruments
    }
}

/// `venues[i].sessions[j]`: one FIX 4.4 initiator session.
public struct FIXSessionEndpoint: Sendable, Hashable, CustomStringConvertible {
    public var host: String
    public var port: Int
    /// SenderCompID (49) on our messages.
    public var senderCompID: String
    /// TargetCompID (56) on our messages.
    public var targetCompID: String
    /// HeartBtInt (108) proposed at logon, seconds; default 30.
    public var heartBtInt: Int
    /// Username (553) on Logon, when the venue asks for one.
    public var username: String?
    /// Password (554) on Logon; never printed by `description` or ``NodeConfiguration/explain()``.
    public var password: String?
    /// This session's own order rate; default 50/s, burst 10.
    public var rateLimit: RateLimit
    /// Send ResetSeqNumFlag=Y on every logon. Default false: a new leader resumes the persisted
    /// sequence numbers so the venue can ask for what it missed; reset only where the venue requires it.
    public var resetOnLogon: Bool
    /// How far the venue's SendingTime(52) may be from our clock before a message is rejected and the
    /// session logged out (FIX's SendingTime accuracy check), seconds; 0 turns the check off. Default 120.
    public var maxSendingTimeSkewSeconds: Int

    public static let defaultRateLimit = RateLimit(ordersPerSecond: 50, burst: 10)

    public init(host: String, port: Int, senderCompID: String, targetCompID: String, heartBtInt: Int = 30, username: String? = nil,
                password: String? = nil, rateLimit: RateLimit = defaultRateLimit, resetOnLogon: Bool = false,
                maxSendingTimeSkewSeconds: Int = 120) {
        self.maxSendingTimeSkewSeconds = maxSendingTimeSkewSeconds
        self.host = host
        self.port = port
        self.senderCompID = senderCompID
        self.targetCompID = targetCompID
        self.heartBtInt = heartBtInt
        self.username = username
        self.password = password
        self.rateLimit = rateLimit
        self.resetOnLogon = resetOnLogon
    }

    /// `SENDER→TARGET at host:port`, without credentials.
    public var description: String { "\(senderCompID)→\(targetCompID) at \(host):\(port)" }
}

/// `venues[i].feed`: where the node's feed client connects (the venue feed's recovery server).
public struct FeedEndpoint: Sendable, Hashable {
    /// Default 127.0.0.1.
    public var host: String
    public var recoveryPort: Int

    public init(host: String = "127.0.0.1", recoveryPort: Int) {
        self.host = host
        self.recoveryPort = recoveryPort
    }
}

/// A token bucket: `ordersPerSecond` sustained, up to `burst` at once.
public struct RateLimit: Sendable, Hashable {
    public var ordersPerSecond: Int
    public var burst: Int

    public init(ordersPerSecond: Int, burst: Int) {
        self.ordersPerSecond = ordersPerSecond
        self.burst = burst
    }
}

/// `strategy`: which strategy runs, for which account, on which venue, with what parameters.
public struct StrategyConfiguration: Sendable, Hashable {
    /// `strategy.name`: the registered strategy, e.g. `market-maker`.
    public var name: String
    /// `strategy.account`: Account (1) on its orders.
    public var account: String
    /// `strategy.venue`: the name of a configured venue.
    public var venue: String
    /// `strategy.parameters`: the strategy's own settings, every scalar kept as its text; the
    /// strategy parses and validates them (quantities and prices as exact decimals, never `Double`).
    public var parameters: [String: String]

    public init(name: String, account: String, venue: String, parameters: [String: String] = [:]) {
        self.name = name
        self.account = account
        self.venue = venue
        self.parameters = parameters
    }
}

/// `execution`: the order manager's shutdown and retry behaviour.
public struct ExecutionConfiguration: Sendable, Hashable {
    /// `execution.cancelOnShutdown`, default false: a standby takes over open orders on failover, so
    /// a leader's orderly stop leaves them unless told otherwise.
    public var cancelOnShutdown: Bool
    /// `execution.retryInitialMs`, default 100 ms: the first retry's delay; later ones back off up to `retryMax`.
    public var retryInitial: Duration
    /// `execution.retryMaxMs`, default 2 s: the delay's ceiling.
    public var retryMax: Duration
    /// `execution.retryAttempts`, default 5 (0 means no retries).
    public var retryAttempts: Int
    /// `execution.statusRequestTimeoutMs`, default 1 s: how long to wait for an OrderStatusRequest's answer.
    public var statusRequestTimeout: Duration
    /// `execution.riskLimitsFile`, optional: a JSON file of `RiskLimits` (docs/risk.md). When set, every
    /// new order passes the TandemRisk pre-trade checks before its intent is journaled; when not, the
    /// hook accepts everything (and that decision is journaled with each intent).
    public var riskLimitsFile: String?

    public init(cancelOnShutdown: Bool = false, retryInitial: Duration = .milliseconds(100), retryMax: Duration = .seconds(2),
                retryAttempts: Int = 5, statusRequestTimeout: Duration = .seconds(1), riskLimitsFile: String? = nil) {
        self.riskLimitsFile = riskLimitsFile
        self.cancelOnShutdown = cancelOnShutdown
        self.retryInitial = retryInitial
        self.retryMax = retryMax
        self.retryAttempts = retryAttempts
        self.statusRequestTimeout = statusRequestTimeout
    }
}

/// `risk`: when the risk engine's trading day rolls (the limits themselves are in
/// `execution.riskLimitsFile`).
public struct RiskConfiguration: Sendable, Hashable {
    /// `risk.dayRollUTC`, default `"00:00"`: the UTC time of day (`HH:MM`) at which the daily loss and
    /// drawdown limits start over (the leader feeds the engine a `dayRolled` when it passes).
    public var dayRollUTC: DayRoll

    public init(dayRollUTC: DayRoll = .midnight) {
        self.dayRollUTC = dayRollUTC
    }
}
