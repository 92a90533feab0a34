import Foundation
import TandemCore
import TandemOps
import Yams

/// `tandem watchdog`'s configuration: its own file, its own database role and its own venue sessions
/// (docs/watchdog.md). Read from YAML (or JSON, which is YAML); every error names the key.
public struct WatchdogConfiguration: Sendable {
    public struct Venue: Sendable {
        public var host = "127.0.0.1"
        public var port = 9878
        public var targetCompID = "VENUE"
        /// The venue's drop copy: every execution report of every order-entry session.
        public var dropCopyCompID = "TANDEM-DC"
        /// The venue's risk session (kill switch: BLOCK, UNBLOCK, CANCEL_ALL).
        public var riskCompID = "TANDEM-RISK"
        /// The watchdog's own order-entry session, for flattening.
        public var orderCompID = "TANDEM-WD"
        /// The engine's order-entry sessions the kill switch acts on.
        public var engineSessions = ["TANDEM"]
        public var heartBtInt = 1
        public var feedHost = "127.0.0.1"
        /// The venue's feed recovery port (the watchdog's own market data); nil: no marks.
        public var feedRecoveryPort: Int? = 9879

        public init() {}
    }

    public var id = "watchdog"
    /// libpq DSN, normally with `user=tandem_watchdog` (the read-only role of migration 3).
    public var dsn: String
    public var venue = Venue()
    public var instruments: [Instrument]
    public var limits: WatchdogLimits
    public var cycle: Duration = .milliseconds(100)
    /// The shared HMAC key (raw bytes) for operator commands.
    public var key: [UInt8]
    /// How far a command's issue time may be from the watchdog's clock.
    public var commandWindow: Duration = .seconds(30)
    /// Ticks beyond the best opposite quote for a flattening order's limit.
    public var collarTicks: Int64 = 20
    /// Where the alerts that must not depend on Prometheus go (takeover, HALT, FLATTEN, both nodes
    /// down): Alertmanager's API, which routes them to the usual receivers. Nil: log and metrics only.
    public var alertmanager: AlertmanagerEndpoint?
    /// The `cluster` label on those alerts.
    public var cluster = "tandem"

    public init(id: String = "watchdog", dsn: String, venue: Venue = Venue(), instruments: [Instrument], limits: WatchdogLimits, key: [UInt8]) {
        self.id = id
        self.dsn = dsn
        self.venue = venue
        self.instruments = instruments
        self.limits = limits
        self.key = key
    }

    /// Parses `text` (YAML). `environment` supplies `TANDEM_RISK_KEY` when the file names no key file;
    /// `baseDirectory` resolves a relative `keyFile`.
    public static func parse(_ text: String, file: String = "<config>", environment: [String: String] = [:],
                             baseDirectory: String? = nil) throws(WatchdogError) -> WatchdogConfiguration {
        let node: Any?
        do {
            node = try Yams.load(yaml: text)
        } catch {
            throw WatchdogError(.configuration, "\(file): not valid YAML: \(error)")
        }
        guard let root = node as? [String: Any] else { throw WatchdogError(.configuration, "\(file): the top level must be a mapping") }
        let r = Reader(file: file)
        try r.allow(root, "", ["id", "database", "venue", "instruments", "limits", "cycleMillis", "keyFile", "commandWindowSeconds", "collarTicks", "alerts"])

        let database = try r.map(root["database"], "database") ?? [:]
        try r.allow(database, "database", ["dsn"])
        guard let dsn = try r.string(database["dsn"], "database.dsn") else {
            throw WatchdogError(.configuration, "\(file): database.dsn is required (a libpq DSN, normally with user=tandem_watchdog)")
        }

        var venue = Venue()
        if let v = try r.map(root["venue"], "venue") {
            try r.allow(v, "venue", ["host", "port", "targetCompID", "dropCopyCompID", "riskCompID", "orderCompID", "engineSessions",
                                     "heartBtInt", "feed"])
            venue.host = try r.string(v["host"], "venue.host") ?? venue.host
            venue.port = try r.int(v["port"], "venue.port", 1...65535) ?? venue.port
            venue.targetCompID = try r.string(v["targetCompID"], "venue.targetCompID") ?? venue.targetCompID
            venue.dropCopyCompID = try r.string(v["dropCopyCompID"], "venue.dropCopyCompID") ?? venue.dropCopyCompID
            venue.riskCompID = try r.string(v["riskCompID"], "venue.riskCompID") ?? venue.riskCompID
            venue.orderCompID = try r.string(v["orderCompID"], "venue.orderCompID") ?? venue.orderCompID
            venue.heartBtInt = try r.int(v["heartBtInt"], "venue.heartBtInt", 1...300) ?? venue.heartBtInt
            if let list = v["engineSessions"] {
                guard let names = list as? [Any] else { throw r.error("venue.engineSessions", "must be a list of CompIDs") }
                var sessions: [String] = []
                for (i, n) in names.enumerated() {
                    guard let s = try r.string(n, "venue.engineSessions[\(i)]") else { throw r.error("venue.engineSessions[\(i)]", "must not be empty") }
                    sessions.append(s)
                }
                venue.engineSessions = sessions
            }
            if let f = try r.map(v["feed"], "venue.feed") {
                try r.allow(f, "venue.feed", ["host", "recoveryPort"])
                venue.feedHost = try r.string(f["host"], "venue.feed.host") ?? venue.feedHost
                venue.feedRecoveryPort = try r.int(f["recoveryPort"], "venue.feed.recoveryPort", 1...65535)
            }
        }

        guard let list = root["instruments"] as? [Any], !list.isEmpty else {
            throw r.error("instruments", "is required: a list of {id, symbol, tickSize, lotSize, currency} the watchdog values positions in")
        }
        var instruments: [Instrument] = []
        for (i, item) in list.enumerated() {
            let path = "instruments[\(i)]"
            guard let m = try r.map(item, path) else { throw r.error(path, "must be a mapping") }
            try r.allow(m, path, ["id", "symbol", "tickSize", "lotSize", "currency", "multiplier"])
            guard let id = try r.int(m["id"], "\(path).id", 1...Int(UInt32.max)) else { throw r.error("\(path).id", "is required") }
            guard let symbol = try r.string(m["symbol"], "\(path).symbol") else { throw r.error("\(path).symbol", "is required") }
            let tick: Price = try r.decimal(m["tickSize"], "\(path).tickSize", positive: true) ?? Price(units: 1_000_000)
            let lot: Quantity = try r.decimal(m["lotSize"], "\(path).lotSize", positive: true) ?? Quantity(units: 100_000_000)
            let code = try r.string(m["currency"], "\(path).currency") ?? "USD"
            guard let currency = Currency(code: code) else { throw r.error("\(path).currency", "\"\(code)\" is not a currency code (1–8 of A–Z, 0–9)") }
            var multiplier = Ratio.one
            if let n = try r.int(m["multiplier"], "\(path).multiplier", 1...1_000_000) {
                do { multiplier = try Ratio(Int64(n)) } catch { throw r.error("\(path).multiplier", "\(error)") }
            }
            instruments.append(Instrument(id: InstrumentID(UInt32(id)), symbol: symbol, venue: venue.targetCompID, tickSize: tick, lotSize: lot,
                                          multiplier: multiplier, currency: currency))
        }

        let l = try r.map(root["limits"], "limits") ?? [:]
        try r.allow(l, "limits", ["currency", "maxDailyLoss", "maxDrawdown", "maxPosition", "maxGrossExposure", "maxNetExposure", "maxPositionLoss", "maxOpenOrders", "maxOrdersPerSecond",
                                  "maxReportsPerSecond", "staleMarketDataMillis", "staleLeaderMillis", "disagreementGraceMillis",
                                  "flattenOnBreach", "flattenWithoutLeaderMillis"])
        let code = try r.string(l["currency"], "limits.currency") ?? instruments[0].currency.code
        guard let currency = Currency(code: code) else { throw r.error("limits.currency", "\"\(code)\" is not a currency code (1–8 of A–Z, 0–9)") }
        var limits = WatchdogLimits(currency: currency)
        func money(_ key: String) throws(WatchdogError) -> Money? {
            let q: Price? = try r.decimal(l[key], "limits.\(key)", positive: true)
            return q.map { Money(units: $0.units, currency: currency) }
        }
        limits.maxDailyLoss = try money("maxDailyLoss")
        limits.maxDrawdown = try money("maxDrawdown")
        limits.maxGrossExposure = try money("maxGrossExposure")
        limits.maxNetExposure = try money("maxNetExposure")
        limits.maxPositionLoss = try money("maxPositionLoss")
        limits.maxOpenOrders = try r.int(l["maxOpenOrders"], "limits.maxOpenOrders", 1...1_000_000)
        limits.maxPosition = try r.decimal(l["maxPosition"], "limits.maxPosition", positive: true)
        limits.maxOrdersPerSecond = try r.int(l["maxOrdersPerSecond"], "limits.maxOrdersPerSecond", 1...1_000_000)
        limits.maxReportsPerSecond = try r.int(l["maxReportsPerSecond"], "limits.maxReportsPerSecond", 1...10_000_000)
        limits.staleMarketDataMillis = Int64(try r.int(l["staleMarketDataMillis"], "limits.staleMarketDataMillis", 1...86_400_000) ?? 2_000)
        limits.staleLeaderMillis = Int64(try r.int(l["staleLeaderMillis"], "limits.staleLeaderMillis", 1...86_400_000) ?? 3_000)
        limits.disagreementGraceMillis = Int64(try r.int(l["disagreementGraceMillis"], "limits.disagreementGraceMillis", 0...86_400_000) ?? 3_000)
        limits.flattenOnBreach = try r.bool(l["flattenOnBreach"], "limits.flattenOnBreach") ?? false
        limits.flattenWithoutLeaderMillis = try r.int(l["flattenWithoutLeaderMillis"], "limits.flattenWithoutLeaderMillis", 0...86_400_000).map(Int64.init)

        let key: [UInt8]
        if let keyFile = try r.string(root["keyFile"], "keyFile") {
            let path = keyFile.hasPrefix("/") || baseDirectory == nil ? keyFile : "\(baseDirectory!)/\(keyFile)"
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
                throw r.error("keyFile", "cannot read \(path)")
            }
            key = try Self.key(hex: text, source: "keyFile \(path)")
        } else if let env = environment["TANDEM_RISK_KEY"] {
            key = try Self.key(hex: env, source: "TANDEM_RISK_KEY")
        } else {
            throw r.error("keyFile", "is required (or TANDEM_RISK_KEY in the environment): the shared HMAC key, hex, that signs operator commands")
        }

        var config = WatchdogConfiguration(id: try r.string(root["id"], "id") ?? "watchdog", dsn: dsn, venue: venue, instruments: instruments,
                                           limits: limits, key: key)
        if let ms = try r.int(root["cycleMillis"], "cycleMillis", 10...10_000) { config.cycle = .milliseconds(ms) }
        if let s = try r.int(root["commandWindowSeconds"], "commandWindowSeconds", 1...3600) { config.commandWindow = .seconds(s) }
        if let t = try r.int(root["collarTicks"], "collarTicks", 0...100_000) { config.collarTicks = Int64(t) }
        if let a = try r.map(root["alerts"], "alerts") {
            try r.allow(a, "alerts", ["alertmanagerURL", "cluster"])
            if let url = try r.string(a["alertmanagerURL"], "alerts.alertmanagerURL") {
                do { config.alertmanager = try AlertmanagerEndpoint(url: url) } catch { throw r.error("alerts.alertmanagerURL", "\(error)") }
            }
            config.cluster = try r.string(a["cluster"], "alerts.cluster") ?? config.cluster
        }
        return config
    }

    /// A key given as hex (whitespace around it ignored): at least 32 bytes.
    public static func key(hex text: String, source: String) throws(WatchdogError) -> [UInt8] {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard let bytes = [UInt8](hexString: trimmed) else {
            throw WatchdogError(.configuration, "\(source): the key is not hex")
        }
        guard bytes.count >= 32 else {
            throw WatchdogError(.configuration, "\(source): the key has \(bytes.count) bytes; use at least 32 (`tandem risk keygen`)")
        }
        return bytes
    }
}

/// Reads typed values out of a loaded YAML tree, naming the key in every error.
private struct Reader {
    let file: String

    func error(_ path: String, _ message: String) -> WatchdogError {
        WatchdogError(.configuration, "\(file): \(path) \(message)")
    }

    func allow(_ map: [String: Any], _ path: String, _ keys: Set<String>) throws(WatchdogError) {
        for key in map.keys.sorted() where !keys.contains(key) {
            let full = path.isEmpty ? key : "\(path).\(key)"
            throw error(full, "is not a known key (known here: \(keys.sorted().joined(separator: ", ")))")
        }
    }

    func map(_ value: Any?, _ path: String) throws(WatchdogError) -> [String: Any]? {
        guard let value else { return nil }
        guard let m = value as? [String: Any] else { throw error(path, "must be a mapping") }
        return m
    }

    func string(_ value: Any?, _ path: String) throws(WatchdogError) -> String? {
        guard let value else { return nil }
        let text: String
        switch value {
        case let s as String: text = s
        case let i as Int: text = "\(i)"
        default: throw error(path, "must be a string")
        }
        guard !text.isEmpty else { throw error(path, "must not be empty") }
        return text
    }

    func int(_ value: Any?, _ path: String, _ range: ClosedRange<Int>) throws(WatchdogError) -> Int? {
        guard let value else { return nil }
        let n: Int
        switch value {
        case let i as Int: n = i
        case let s as String:
            guard let i = Int(s) else { throw error(path, "\"\(s)\" is not a whole number") }
            n = i
        default: throw error(path, "must be a whole number")
        }
        guard range.contains(n) else { throw error(path, "\(n) is out of range \(range.lowerBound)…\(range.upperBound)") }
        return n
    }

    func bool(_ value: Any?, _ path: String) throws(WatchdogError) -> Bool? {
        guard let value else { return nil }
        guard let b = value as? Bool else { throw error(path, "must be true or false") }
        return b
    }

    /// An exact decimal (write it quoted in YAML, e.g. "0.01", so no float ever touches it).
    func decimal<T: FixedPoint>(_ value: Any?, _ path: String, positive: Bool) throws(WatchdogError) -> T? {
        guard let value else { return nil }
        let text: String
        switch value {
        case let s as String: text = s
        case let i as Int: text = "\(i)"
        default: throw error(path, "must be a decimal written as a string (e.g. \"0.01\"), never a float")
        }
        let v: T
        do { v = try T(text) } catch { throw self.error(path, "\"\(text)\" is not a decimal: \(error)") }
        if positive && v.units <= 0 { throw error(path, "must be greater than zero") }
        return v
    }
}
