import Foundation
import Logging
import TandemCore

extension NodeConfiguration {
    /// Reads, overrides and validates the configuration at `path`.
    ///
    /// - Parameter environment: usually `ProcessInfo.processInfo.environment`; only `TANDEM__…`,
    ///   `TANDEM_DSN` and `TANDEM_NODE_ID` are read.
    /// - Throws: every problem found, each with its key path and line.
    public static func load(path: String, environment: [String: String]) throws(ConfigurationError) -> NodeConfiguration {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ConfigurationError(source: path, issues: [.init(path: "", message: "cannot read the file: \(error.localizedDescription)")])
        }
        return try parse(yaml: text, source: path, environment: environment)
    }

    /// Parses `yaml` (JSON is YAML too), applies the environment's overrides onto the document, then
    /// validates the result into typed values.
    ///
    /// - Parameter source: names the document in errors (a file path).
    /// - Throws: one ``ConfigurationError`` listing every issue, not just the first.
    public static func parse(yaml: String, source: String, environment: [String: String]) throws(ConfigurationError) -> NodeConfiguration {
        var issues: [ConfigurationError.Issue] = []
        let composed = ConfigNode.compose(yaml: yaml, issues: &issues)
        // A document that does not parse has no tree to check; its syntax error is the whole story.
        if !issues.isEmpty { throw ConfigurationError(source: source, issues: issues) }

        var root = composed ?? ConfigNode(.mapping([]))
        let overrides = ConfigOverride.collect(from: environment, issues: &issues)
        if case .mapping = root.value {
            for override in overrides { root.apply(override, issues: &issues) }
            // Overriding one of the two database choices replaces the file's choice rather than
            // conflicting with it: `TANDEM_DSN` must work on a file that says `embedded`.
            if overrides.contains(where: { $0.components.starts(with: ["database", "dsn"]) }) {
                root.removeFileKey("embedded", under: ["database"])
            }
            if overrides.contains(where: { $0.components.starts(with: ["database", "embedded"]) }) {
                root.removeFileKey("dsn", under: ["database"])
            }
        }

        var reader = ConfigReader(issues: issues)
        let configuration = read(root, &reader)
        guard reader.issues.isEmpty, let configuration else {
            let fromFile = reader.issues.contains { $0.variable == nil }
            // By line, as an editor shows the file; issues with no line (overrides, keys missing
            // from absent sections) follow in the order they were found.
            let ordered = reader.issues.enumerated().sorted { a, b in
                (a.element.line ?? .max, a.offset) < (b.element.line ?? .max, b.offset)
            }.map(\.element)
            throw ConfigurationError(source: fromFile ? source : "<env>", issues: ordered)
        }
        return configuration
    }

    static let topLevelKeys = ["cluster", "node", "database", "timing", "journal", "venues", "strategy", "execution", "risk", "log"]

    private static func read(_ root: ConfigNode, _ r: inout ConfigReader) -> NodeConfiguration? {
        guard let top = r.fields(root, at: "", allowed: topLevelKeys) else { return nil }
        let idRule = ConfigReader.identifierRule
        let cluster = r.value(top, "cluster", expected: idRule, ConfigReader.identifier)
        let nodeID = r.fields(top, "node", allowed: ["id"]).flatMap { r.value($0, "id", expected: idRule, ConfigReader.identifier) }
        let database = readDatabase(top, &r)
        let timing = readTiming(top, &r)
        let journal = r.fields(top, "journal", allowed: ["snapshotEveryEvents", "snapshotsKept"]).flatMap { f -> JournalConfiguration? in
            let d = JournalConfiguration()
            let every = r.value(f, "snapshotEveryEvents", expected: ConfigReader.describe(0...100_000_000) + " (events; 0: no snapshots)",
                                default: d.snapshotEveryEvents, ConfigReader.integer(0...100_000_000))
            let kept = r.value(f, "snapshotsKept", expected: ConfigReader.describe(1...1_000_000) + " (snapshots)",
                               default: d.snapshotsKept, ConfigReader.integer(1...1_000_000))
            guard let every, let kept else { return nil }
            return JournalConfiguration(snapshotEveryEvents: every, snapshotsKept: kept)
        }
        var venueNames: [String] = []
        let venues = readVenues(top, &r, names: &venueNames)
        let strategy = readStrategy(top, &r, venueNames: venueNames)
        let execution = readExecution(top, &r)
        let risk = r.fields(top, "risk", allowed: ["dayRollUTC"]).flatMap { f in
            r.value(f, "dayRollUTC", expected: "a UTC time of day HH:MM (00:00–23:59)", default: DayRoll.midnight) {
                (text: String) throws(ConfigReader.Rejection) -> DayRoll in
                guard let roll = DayRoll(text) else { throw .init(detail: nil) }
                return roll
            }.map { RiskConfiguration(dayRollUTC: $0) }
        }
        let logLevel = r.fields(top, "log", allowed: ["level"]).flatMap { log in
            r.value(log, "level", expected: "one of " + Logger.Level.allCases.map(\.rawValue).joined(separator: ", "),
                    default: Logger.Level.info) { (text: String) throws(ConfigReader.Rejection) -> Logger.Level in
                guard let level = Logger.Level(rawValue: text) else { throw .init(detail: nil) }
                return level
            }
        }
        guard let cluster, let nodeID, let database, let timing, let journal, let venues, let strategy, let execution, let risk, let logLevel
        else { return nil }
        return NodeConfiguration(cluster: cluster, nodeID: nodeID, database: database, timing: timing, journal: journal, venues: venues,
                                 strategy: strategy, execution: execution, risk: risk, logLevel: logLevel)
    }

    private static func readDatabase(_ top: ConfigReader.Fields, _ r: inout ConfigReader) -> DatabaseConfiguration? {
        guard let db = r.fields(top, "database", allowed: ["dsn", "embedded"]) else { return nil }
        let dsn = r.value(db, "dsn", expected: "a libpq connection string", required: false, ConfigReader.nonEmpty)
        let embedded = db["embedded"].flatMap { _ in
            r.fields(db, "embedded", allowed: ["dataDirectory"]).flatMap {
                r.value($0, "dataDirectory", expected: "a directory path", default: DatabaseConfiguration.defaultDataDirectory, ConfigReader.nonEmpty)
            }
        }
        if db["dsn"] != nil, db["embedded"] != nil {
            r.report(db.path, db["embedded"], "set either dsn (an external PostgreSQL) or embedded (a local one Tandem starts), not both")
            return nil
        }
        if let dsn { return .dsn(dsn) }
        if let embedded { return .embedded(dataDirectory: embedded) }
        return db["dsn"] == nil && db["embedded"] == nil ? .embedded(dataDirectory: DatabaseConfiguration.defaultDataDirectory) : nil
    }

    private static let millisecondRange = 1...3_600_000
    private static func milliseconds(_ f: ConfigReader.Fields, _ key: String, _ r: inout ConfigReader, default value: Duration,
                                     range: ClosedRange<Int> = millisecondRange) -> Duration? {
        r.value(f, key, expected: ConfigReader.describe(range) + " (milliseconds)", default: ms(value), ConfigReader.integer(range))
            .map { .milliseconds($0) }
    }

    private static func readTiming(_ top: ConfigReader.Fields, _ r: inout ConfigReader) -> TimingConfiguration? {
        guard let f = r.fields(top, "timing", allowed: ["heartbeatMs", "leaseMs", "selfFenceMarginMs", "standbyMaxLagMs"]) else { return nil }
        let d = TimingConfiguration()
        let heartbeat = milliseconds(f, "heartbeatMs", &r, default: d.heartbeat)
        let lease = milliseconds(f, "leaseMs", &r, default: d.lease)
        let margin = milliseconds(f, "selfFenceMarginMs", &r, default: d.selfFenceMargin)
        let lag = milliseconds(f, "standbyMaxLagMs", &r, default: d.standbyMaxLag)
        guard let heartbeat, let lease, let margin, let lag else { return nil }
        var ok = true
        if heartbeat >= lease {
            r.report(f.path("heartbeatMs"), f["heartbeatMs"] ?? f["leaseMs"] ?? f.node,
                     "must be less than leaseMs (\(ms(lease))), got \(ms(heartbeat)): the leader must renew before its lease runs out")
            ok = false
        } else if margin >= lease - heartbeat {
            r.report(f.path("selfFenceMarginMs"), f["selfFenceMarginMs"] ?? f["leaseMs"] ?? f.node,
                     "must be less than leaseMs − heartbeatMs (\(ms(lease)) − \(ms(heartbeat)) = \(ms(lease - heartbeat))), got \(ms(margin)): "
                        + "a leader self-fences leaseMs − selfFenceMarginMs after its last renewal, which must leave it a heartbeat to renew")
            ok = false
        }
        return ok ? TimingConfiguration(heartbeat: heartbeat, lease: lease, selfFenceMargin: margin, standbyMaxLag: lag) : nil
    }

    /// Whole milliseconds of a duration read from `…Ms` keys.
    static func ms(_ d: Duration) -> Int {
        Int(d.components.seconds * 1000 + d.components.attoseconds / 1_000_000_000_000_000)
    }

    private static let portRange = 1...65535

    private static func readRateLimit(_ parent: ConfigReader.Fields, _ r: inout ConfigReader, default d: RateLimit) -> RateLimit? {
        guard let f = r.fields(parent, "rateLimit", allowed: ["ordersPerSecond", "burst"]) else { return nil }
        let rate = r.value(f, "ordersPerSecond", expected: ConfigReader.describe(1...1_000_000), default: d.ordersPerSecond,
                           ConfigReader.integer(1...1_000_000))
        let burst = r.value(f, "burst", expected: ConfigReader.describe(1...1_000_000), default: d.burst, ConfigReader.integer(1...1_000_000))
        guard let rate, let burst else { return nil }
        return RateLimit(ordersPerSecond: rate, burst: burst)
    }

    private static func readVenues(_ top: ConfigReader.Fields, _ r: inout ConfigReader, names: inout [String]) -> [NodeVenueConfiguration]? {
        guard let elements = r.list(top, "venues", expected: "a list of at least one venue", minimum: 1) else { return nil }
        var venues: [NodeVenueConfiguration] = []
        var failed = false
        var namePaths: [String: String] = [:]
        var sessionPaths: [String: String] = [:]      // "SENDER\u{1}TARGET" → first path
        var instrumentPaths: [UInt32: String] = [:]   // id → first path; ids are system-wide keys
        for (path, node) in elements {
            guard let f = r.fields(node, at: path, allowed: ["name", "sessions", "feed", "rateLimit", "instruments"]) else { failed = true; continue }
            let name = r.value(f, "name", expected: ConfigReader.identifierRule, ConfigReader.identifier)
            if let name {
                if let first = namePaths[name] {
                    r.report(f.path("name"), f["name"], "duplicate venue name \(quoted(name)) (also \(first))")
                } else {
                    namePaths[name] = f.path("name")
                    names.append(name)
                }
            }
            let sessions = readSessions(f, &r, firstPaths: &sessionPaths)
            let feed = readFeed(f, &r)
            let rateLimit = readRateLimit(f, &r, default: NodeVenueConfiguration.defaultRateLimit)
            let instruments = readInstruments(f, &r, venue: name ?? "", firstPaths: &instrumentPaths)
            guard let name, let sessions, let feed, let rateLimit, let instruments else { failed = true; continue }
            venues.append(NodeVenueConfiguration(name: name, sessions: sessions, feed: feed, rateLimit: rateLimit, instruments: instruments))
        }
        return failed ? nil : venues
    }

    private static let sessionKeys = ["host", "port", "senderCompID", "targetCompID", "heartBtInt", "username", "password", "rateLimit",
                                      "resetOnLogon", "maxSendingTimeSkewSeconds"]

    private static func readSessions(_ venue: ConfigReader.Fields, _ r: inout ConfigReader, firstPaths: inout [String: String]) -> [FIXSessionEndpoint]? {
        guard let elements = r.list(venue, "sessions", expected: "a list of at least one FIX session", minimum: 1) else { return nil }
        var sessions: [FIXSessionEndpoint] = []
        var failed = false
        for (path, node) in elements {
            guard let f = r.fields(node, at: path, allowed: sessionKeys) else { failed = true; continue }
            let host = r.value(f, "host", expected: "a host name or address", ConfigReader.nonEmpty)
            let port = r.value(f, "port", expected: ConfigReader.describe(portRange), ConfigReader.integer(portRange))
            let sender = r.value(f, "senderCompID", expected: ConfigReader.identifierRule, ConfigReader.identifier)
            let target = r.value(f, "targetCompID", expected: ConfigReader.identifierRule, ConfigReader.identifier)
            let heartBtInt = r.value(f, "heartBtInt", expected: ConfigReader.describe(1...3600) + " (seconds)", default: 30, ConfigReader.integer(1...3600))
            let username = r.value(f, "username", expected: "a non-empty string", required: false, ConfigReader.nonEmpty)
            let password = r.value(f, "password", expected: "a non-empty string", required: false, ConfigReader.nonEmpty)
            let rateLimit = readRateLimit(f, &r, default: FIXSessionEndpoint.defaultRateLimit)
            let reset = r.value(f, "resetOnLogon", expected: "true or false", default: false, ConfigReader.boolean)
            let skew = r.value(f, "maxSendingTimeSkewSeconds", expected: ConfigReader.describe(0...86_400) + " (seconds; 0: no check)",
                               default: 120, ConfigReader.integer(0...86_400))
            if let sender, let target {
                let key = "\(sender)\u{1}\(target)"
                if let first = firstPaths[key] {
                    r.report(path, node, "duplicate session \(sender)→\(target) (also \(first)); a SenderCompID/TargetCompID pair names one FIX session and its sequence numbers")
                } else {
                    firstPaths[key] = path
                }
            }
            guard let host, let port, let sender, let target, let heartBtInt, let rateLimit, let reset, let skew else { failed = true; continue }
            sessions.append(FIXSessionEndpoint(host: host, port: port, senderCompID: sender, targetCompID: target, heartBtInt: heartBtInt,
                                               username: username, password: password, rateLimit: rateLimit, resetOnLogon: reset,
                                               maxSendingTimeSkewSeconds: skew))
        }
        return failed ? nil : sessions
    }

    /// nil inside: no feed configured; nil outside: an invalid one.
    private static func readFeed(_ venue: ConfigReader.Fields, _ r: inout ConfigReader) -> FeedEndpoint?? {
        guard venue["feed"] != nil else { return .some(nil) }
        guard let f = r.fields(venue, "feed", allowed: ["host", "recoveryPort"]) else { return nil }
        let host = r.value(f, "host", expected: "a host name or address", default: "127.0.0.1", ConfigReader.nonEmpty)
        let port = r.value(f, "recoveryPort", expected: ConfigReader.describe(portRange), ConfigReader.integer(portRange))
        guard let host, let port else { return nil }
        return .some(FeedEndpoint(host: host, recoveryPort: port))
    }

    private static let instrumentKeys = ["id", "symbol", "tickSize", "lotSize", "multiplier", "currency", "calendar"]

    private static func readInstruments(_ venue: ConfigReader.Fields, _ r: inout ConfigReader, venue name: String,
                                        firstPaths: inout [UInt32: String]) -> [Instrument]? {
        guard let elements = r.list(venue, "instruments", expected: "a list of at least one instrument", minimum: 1) else { return nil }
        var instruments: [Instrument] = []
        var symbols: [String: String] = [:]
        var failed = false
        for (path, node) in elements {
            guard let f = r.fields(node, at: path, allowed: instrumentKeys) else { failed = true; continue }
            let id = r.value(f, "id", expected: "an integer 1–\(UInt32.max)") { (text: String) throws(ConfigReader.Rejection) -> UInt32 in
                guard let id = UInt32(text), id > 0 else { throw .init(detail: nil) }
                return id
            }
            if let id {
                if let first = firstPaths[id] {
                    r.report(f.path("id"), f["id"], "duplicate instrument id \(id) (also \(first)); ids identify instruments in the journal, across all venues")
                } else {
                    firstPaths[id] = f.path("id")
                }
            }
            let symbol = r.value(f, "symbol", expected: "a symbol without spaces") { (text: String) throws(ConfigReader.Rejection) -> String in
                guard !text.isEmpty, !text.contains(where: { $0.isWhitespace || $0.asciiValue.map { $0 < 0x20 } == true }) else {
                    throw .init(detail: nil)
                }
                return text
            }
            if let symbol {
                if let first = symbols[symbol] {
                    r.report(f.path("symbol"), f["symbol"], "duplicate symbol \(quoted(symbol)) on this venue (also \(first))")
                } else {
                    symbols[symbol] = f.path("symbol")
                }
            }
            let tick = r.value(f, "tickSize", expected: "a positive decimal such as 0.01", positiveDecimal(Price.self))
            let lot = r.value(f, "lotSize", expected: "a positive decimal such as 1", positiveDecimal(Quantity.self))
            let multiplier = r.value(f, "multiplier", expected: "a positive whole number, decimal or fraction such as 50, 0.1 or 1/10",
                                     default: Ratio.one, ratio)
            let currency = r.value(f, "currency", expected: "a currency code of 1–8 characters A–Z, 0–9 such as USD") {
                (text: String) throws(ConfigReader.Rejection) -> Currency in
                guard let currency = Currency(code: text) else { throw .init(detail: nil) }
                return currency
            }
            let calendar = r.value(f, "calendar", expected: "a trading calendar's name", default: "") { (text: String) throws(ConfigReader.Rejection) in text }
            guard let id, let symbol, let tick, let lot, let multiplier, let currency, let calendar else { failed = true; continue }
            instruments.append(Instrument(id: InstrumentID(id), symbol: symbol, venue: name, tickSize: tick, lotSize: lot, multiplier: multiplier,
                                          currency: currency, calendar: calendar))
        }
        return failed ? nil : instruments
    }

    /// Exact decimal text through the fixed-point type's own parser, then a sign check.
    private static func positiveDecimal<T: FixedPoint>(_: T.Type) -> (String) throws(ConfigReader.Rejection) -> T {
        { (text: String) throws(ConfigReader.Rejection) -> T in
            let value: T
            do throws(ArithmeticError) { value = try T(text) } catch { throw .init(detail: error.message) }
            guard value > .zero else { throw .init(detail: "must be greater than zero") }
            return value
        }
    }

    /// `N`, `N/D` or decimal text `A.B` (as the exact fraction `AB/10^k`), both terms positive.
    static func ratio(_ text: String) throws(ConfigReader.Rejection) -> Ratio {
        let numerator: Int64, denominator: Int64
        let digits: (Substring) -> Bool = { !$0.isEmpty && $0.utf8.allSatisfy { $0 >= 0x30 && $0 <= 0x39 } }
        if let slash = text.firstIndex(of: "/") {
            let n = text[..<slash], d = text[text.index(after: slash)...]
            guard digits(n), digits(d), let nv = Int64(n), let dv = Int64(d) else { throw .init(detail: nil) }
            (numerator, denominator) = (nv, dv)
        } else if let dot = text.firstIndex(of: ".") {
            let whole = text[..<dot], fraction = text[text.index(after: dot)...]
            guard digits(whole), digits(fraction), fraction.count <= 18, let nv = Int64(whole + fraction) else { throw .init(detail: nil) }
            var dv: Int64 = 1
            for _ in 0..<fraction.count { dv *= 10 }
            (numerator, denominator) = (nv, dv)
        } else {
            guard digits(text[...]), let nv = Int64(text) else { throw .init(detail: nil) }
            (numerator, denominator) = (nv, 1)
        }
        do { return try Ratio(numerator, denominator) } catch { throw .init(detail: error.message) }
    }

    private static func readStrategy(_ top: ConfigReader.Fields, _ r: inout ConfigReader, venueNames: [String]) -> StrategyConfiguration? {
        guard let f = r.fields(top, "strategy", allowed: ["name", "account", "venue", "parameters"]) else { return nil }
        let name = r.value(f, "name", expected: "a strategy name such as market-maker", ConfigReader.nonEmpty)
        let account = r.value(f, "account", expected: "an account name", ConfigReader.nonEmpty)
        let venue = r.value(f, "venue", expected: "the name of a configured venue", ConfigReader.nonEmpty)
        if let venue, !venueNames.isEmpty, !venueNames.contains(venue) {
            let known = venueNames.map(quoted).joined(separator: ", ")
            r.report(f.path("venue"), f["venue"], "names no configured venue: \(quoted(venue)); configured: \(known)")
        }
        var parameters: [String: String] = [:]
        var failed = false
        if let p = r.fields(f, "parameters", allowed: nil) {
            for entry in p.entries {
                let path = p.path(entry.key)
                guard case .scalar(let text, _) = entry.value.value, !entry.value.isNull else {
                    r.report(path, entry.value, "expected a scalar (parameters are passed to the strategy as text), got \(entry.value.summary)")
                    failed = true
                    continue
                }
                parameters[entry.key] = text
            }
        } else {
            failed = true
        }
        guard let name, let account, let venue, !failed else { return nil }
        return StrategyConfiguration(name: name, account: account, venue: venue, parameters: parameters)
    }

    private static func readExecution(_ top: ConfigReader.Fields, _ r: inout ConfigReader) -> ExecutionConfiguration? {
        guard let f = r.fields(top, "execution", allowed: ["cancelOnShutdown", "retryInitialMs", "retryMaxMs", "retryAttempts", "statusRequestTimeoutMs", "riskLimitsFile"])
        else { return nil }
        let d = ExecutionConfiguration()
        let cancel = r.value(f, "cancelOnShutdown", expected: "true or false", default: d.cancelOnShutdown, ConfigReader.boolean)
        let initial = milliseconds(f, "retryInitialMs", &r, default: d.retryInitial)
        let maximum = milliseconds(f, "retryMaxMs", &r, default: d.retryMax)
        let attempts = r.value(f, "retryAttempts", expected: ConfigReader.describe(0...100), default: d.retryAttempts, ConfigReader.integer(0...100))
        let timeout = milliseconds(f, "statusRequestTimeoutMs", &r, default: d.statusRequestTimeout)
        let limitsFile = r.value(f, "riskLimitsFile", expected: "a path to a JSON file of risk limits", required: false, ConfigReader.nonEmpty)
        guard let cancel, let initial, let maximum, let attempts, let timeout else { return nil }
        if initial > maximum {
            r.report(f.path("retryInitialMs"), f["retryInitialMs"] ?? f["retryMaxMs"] ?? f.node,
                     "must not exceed retryMaxMs (\(ms(maximum))), got \(ms(initial))")
            return nil
        }
        return ExecutionConfiguration(cancelOnShutdown: cancel, retryInitial: initial, retryMax: maximum, retryAttempts: attempts,
                                      statusRequestTimeout: timeout, riskLimitsFile: limitsFile)
    }
}
