import Foundation
import Logging
import Testing
import TandemCore
import TandemNode
import TandemVenue

@Suite struct ConfigParseTests {
    @Test func defaultsFillIn() throws {
        let config = try parse(minimalYAML)
        #expect(config.cluster == "c1")
        #expect(config.nodeID == "n1")
        #expect(config.database == .embedded(dataDirectory: ".tandem/pg"))
        #expect(config.timing.heartbeat == .milliseconds(200))
        #expect(config.timing.lease == .seconds(1))
        #expect(config.timing.selfFenceMargin == .milliseconds(200))
        #expect(config.timing.standbyMaxLag == .milliseconds(500))
        #expect(config.execution == ExecutionConfiguration(cancelOnShutdown: false, retryInitial: .milliseconds(100), retryMax: .seconds(2),
                                                          retryAttempts: 5, statusRequestTimeout: .seconds(1)))
        #expect(config.logLevel == .info)
        let venue = try #require(config.venues.first)
        #expect(venue.feed == nil)
        #expect(venue.rateLimit == RateLimit(ordersPerSecond: 100, burst: 20))
        let session = try #require(venue.sessions.first)
        #expect(session == FIXSessionEndpoint(host: "127.0.0.1", port: 9878, senderCompID: "A", targetCompID: "B", heartBtInt: 30,
                                              username: nil, password: nil, rateLimit: RateLimit(ordersPerSecond: 50, burst: 10),
                                              resetOnLogon: false))
        let instrument = try #require(venue.instruments.first)
        #expect(instrument == Instrument(id: InstrumentID(1), symbol: "ACME", venue: "V", tickSize: try Price("0.01"), lotSize: try Quantity("1"),
                                         multiplier: .one, currency: .usd))
        #expect(config.strategy == StrategyConfiguration(name: "s", account: "acc", venue: "V", parameters: [:]))
        #expect(config.strategyVenue?.name == "V")
    }

    /// The documented example parses, and the defaults it states are the code's defaults.
    @Test func exampleParsesAndStatesTheDefaults() throws {
        let config = try parse(NodeConfiguration.example)
        #expect(config.cluster == "demo")
        #expect(config.nodeID == "node-a")
        #expect(config.database == .embedded(dataDirectory: DatabaseConfiguration.defaultDataDirectory))
        #expect(config.timing == TimingConfiguration())
        #expect(config.execution == ExecutionConfiguration())
        #expect(config.risk == RiskConfiguration())
        #expect(config.logLevel == .info)
        let venue = try #require(config.venues.first)
        #expect(venue.rateLimit == NodeVenueConfiguration.defaultRateLimit)
        #expect(venue.feed == FeedEndpoint(host: "127.0.0.1", recoveryPort: 9879))
        let session = try #require(venue.sessions.first)
        #expect(session.heartBtInt == 30 && session.rateLimit == FIXSessionEndpoint.defaultRateLimit && !session.resetOnLogon)
        #expect(session.username == nil && session.password == nil)
        #expect(venue.instruments.first?.multiplier == .one)
        #expect(config.strategy.parameters.count == 5)
    }

    /// The demo's node files parse, differ only in the node id, and match `tandem venue`'s defaults.
    @Test func deployFilesParseAndMatchTheVenueSimulator() throws {
        let a = try NodeConfiguration.load(path: repositoryRoot.appendingPathComponent("deploy/config/node-a.yaml").path, environment: [:])
        let b = try NodeConfiguration.load(path: repositoryRoot.appendingPathComponent("deploy/config/node-b.yaml").path, environment: [:])
        #expect(a.nodeID == "node-a")
        #expect(b.nodeID == "node-b")
        var bAsA = b
        bAsA.nodeID = a.nodeID
        #expect(bAsA == a)
        #expect(a.database == .embedded(dataDirectory: ".tandem/pg"))

        let simulator = VenueConfiguration()
        let venue = try #require(a.venues.first)
        #expect(a.venues.count == 1 && venue.name == simulator.compID)
        let session = try #require(venue.sessions.first)
        #expect(session.host == simulator.host && session.port == simulator.fixPort)
        #expect(session.targetCompID == simulator.compID)
        #expect(simulator.sessions.contains { $0.compID == session.senderCompID && $0.role == .orderEntry })
        #expect(session.heartBtInt == simulator.heartBtIntSeconds)
        #expect(venue.feed == FeedEndpoint(host: simulator.host, recoveryPort: simulator.feedRecoveryPort))
        let simulated = try #require(simulator.engineConfig().instruments.first { $0.instrument.id == InstrumentID(1) })
        let instrument = try #require(venue.instruments.first)
        #expect(instrument.symbol == simulated.instrument.symbol)
        #expect(instrument.tickSize == simulated.instrument.tickSize && instrument.lotSize == simulated.instrument.lotSize)
        #expect(instrument.currency == .usd)
        #expect(a.strategy == StrategyConfiguration(name: "market-maker", account: "ACC1", venue: "VENUE",
                                                    parameters: ["instrument": "1", "quoteQuantity": "10", "halfSpreadTicks": "2",
                                                                 "maxPosition": "100", "requoteTicks": "2"]))
    }

    @Test func jsonIsAcceptedToo() throws {
        let json = """
            {"cluster": "c1", "node": {"id": "n1"}, "database": {"dsn": "host=db dbname=tandem"},
             "venues": [{"name": "V", "sessions": [{"host": "h", "port": 1, "senderCompID": "A", "targetCompID": "B"}],
                         "instruments": [{"id": 7, "symbol": "X", "tickSize": 0.05, "lotSize": 10, "currency": "EUR", "multiplier": 50}]}],
             "strategy": {"name": "s", "account": "a", "venue": "V", "parameters": {"n": 3, "flag": true, "text": "x y"}},
             "log": {"level": "debug"}}
            """
        let config = try parse(json)
        #expect(config.database == .dsn("host=db dbname=tandem"))
        #expect(config.logLevel == .debug)
        let instrument = try #require(config.venues.first?.instruments.first)
        #expect(instrument.tickSize == (try Price("0.05")))
        #expect(instrument.lotSize == (try Quantity("10")))
        #expect(instrument.currency == .eur)
        #expect(instrument.multiplier == (try Ratio(50)))
        #expect(config.strategy.parameters == ["n": "3", "flag": "true", "text": "x y"])
    }

    /// Decimals are read from the text written, never through a Double: 0.1 + 0.2 style values stay exact.
    @Test func decimalsAreExactAndMultipliersAcceptFractions() throws {
        let yaml = minimalYAML.replacingOccurrences(of: #"tickSize: "0.01", lotSize: "1""#,
                                                    with: #"tickSize: 0.00000001, lotSize: 0.3, multiplier: 1/10"#)
        let instrument = try #require(try parse(yaml).venues.first?.instruments.first)
        #expect(instrument.tickSize.units == 1)
        #expect(instrument.lotSize == (try Quantity("0.3")))
        #expect(instrument.multiplier == (try Ratio(1, 10)))
        let decimal = minimalYAML.replacingOccurrences(of: #"currency: USD"#, with: #"currency: USD, multiplier: "0.25""#)
        #expect(try parse(decimal).venues.first?.instruments.first?.multiplier == (try Ratio(25, 100)))
    }

    @Test func loadReportsAnUnreadableFile() {
        do {
            _ = try NodeConfiguration.load(path: "/nonexistent/tandem-node.yaml", environment: [:])
            Issue.record("expected an error")
        } catch {
            #expect(error.source == "/nonexistent/tandem-node.yaml")
            #expect(error.issues.count == 1 && error.issues[0].message.hasPrefix("cannot read the file"))
        }
    }
}
