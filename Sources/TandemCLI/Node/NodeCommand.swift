import ArgumentParser
import Foundation
import Logging
import ServiceLifecycle
import Metrics
import Prometheus
import TandemNode
import TandemOps
import TandemPostgres
import TandemCore
import TandemStrategy

/// `tandem node`: one engine node (leader or hot standby; both run the same binary and config).
struct NodeProcess: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "node",
        abstract: "Run an engine node: hot standby until it holds the lease, then the leader that trades.",
        discussion: """
            Two nodes with the same cluster and database form an active-passive pair: the one holding \
            the lease trades (market data → strategy → risk hook → journal → FIX), the other folds the \
            journal and takes over when the lease is free. The demo pair is deploy/config/node-a.yaml \
            and node-b.yaml (they use the embedded PostgreSQL of `tandem db start` and `tandem venue`'s \
            defaults). Environment variables TANDEM__<path> override any key (see docs/node-config.md). \
            SIGTERM/SIGINT drain: no new orders, FIX Logout, journal flushed, lease released.
            """
    )

    @Option(help: ArgumentHelp("The node's YAML (or JSON) configuration file.", valueName: "file"))
    var config: String?

    @Option(name: .customLong("check-config"),
            help: ArgumentHelp("Validate a configuration file, explain it or every error with its key path, and exit.", valueName: "file"))
    var checkConfig: String?

    @Option(name: .customLong("log-format"), help: "text (for a terminal) or json (one object per line: UTC ns time, level, node, dotted metadata).")
    var logFormat = "text"

    @Option(name: .customLong("log-file"), help: ArgumentHelp("Write the log to this file (rotated at 64 MiB to FILE.1) instead of stderr.", valueName: "file"))
    var logFile: String?

    @Option(name: .customLong("metrics-port"),
            help: ArgumentHelp("Serve /metrics (Prometheus text), /healthz and /readyz on 127.0.0.1:PORT (0 = any free port).", valueName: "port"))
    var metricsPort: Int?

    @Flag(name: .customLong("fault-crash-after-order-journaled"),
          help: "Test fault: exit (status 86) right after the first order is durable in the journal, before it is sent.")
    var crashAfterOrderJournaled = false

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        if let checkConfig {
            do {
                let c = try NodeConfiguration.load(path: checkConfig, environment: environment)
                try Self.checkStrategy(c)
                print("\(checkConfig): OK\n")
                print(c.explain())
            } catch {
                FileHandle.standardError.write(Data("\(error)\n".utf8))
                throw ExitCode(1)
            }
            return
        }
        guard let path = config else { throw ValidationError("give --config FILE (or --check-config FILE)") }
        let configuration: NodeConfiguration
        do {
            configuration = try NodeConfiguration.load(path: path, environment: environment)
            try Self.checkStrategy(configuration)
        } catch {
            FileHandle.standardError.write(Data("\(error)\n".utf8))
            throw ExitCode(1)
        }
        guard logFormat == "text" || logFormat == "json" else { throw ValidationError("--log-format must be text or json, not \(logFormat)") }
        if logFormat == "json" || logFile != nil {
            let sink: JSONLogSink
            do { sink = try logFile.map { try JSONLogSink(path: $0) } ?? .standardError } catch { throw ValidationError("\(error)") }
            let nodeID = configuration.nodeID
            if logFormat == "json" {
                LoggingSystem.bootstrap { label in
                    var h = JSONLogHandler(label: label, process: "node", sink: sink)
                    h[metadataKey: "node.id"] = "\(nodeID)"
                    return h
                }
            } else {
                throw ValidationError("--log-file writes JSON lines: add --log-format json")
            }
        }
        var logger = Logger(label: "tandem.node")
        logger.logLevel = configuration.logLevel
        let dsn: String
        switch configuration.database {
        case .dsn(let d): dsn = d
        case .embedded(let directory):
            do { dsn = try EmbeddedPostgres.attach(directory: directory).dsn() } catch {
                throw ValidationError("database.embedded: no PostgreSQL runs in \(directory): start it with `tandem db start`, or set database.dsn (\(error.message))")
            }
        }
        // Metrics are created once, by the node, against the backend bootstrapped here (only here).
        let factory = TandemMetricsFactory(durationBuckets: NodeService.histogramBuckets.durations,
                                           valueBuckets: NodeService.histogramBuckets.values)
        if metricsPort != nil { MetricsSystem.bootstrap(factory) }
        let node = try NodeService(configuration: configuration, dsn: dsn,
                                   faults: NodeFaults(crashAfterFirstOrderJournaled: crashAfterOrderJournaled), logger: logger)
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [.init(service: node)]
        if let metricsPort {
            services.append(.init(service: OpsHTTPServer(port: metricsPort, registry: factory.registry, histograms: factory.histograms, readiness: { node.readiness() }, logger: logger)))
        }
        let group = ServiceGroup(configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        defer { JSONLogSink.flushAll() }  // buffered info lines out before the process ends
        try await group.run()
    }

    /// The strategy's parameters are checked by the strategy itself; an error names `strategy.parameters.<name>`.
    static func checkStrategy(_ c: NodeConfiguration) throws(ConfigurationError) {
        var instruments: [InstrumentID: Instrument] = [:]
        for v in c.venues { for i in v.instruments { instruments[i.id] = i } }
        do throws(StrategyConfigError) {
            _ = try StrategyCatalog.make(name: c.strategy.name, parameters: c.strategy.parameters, instruments: instruments)
        } catch {
            let path = error.parameter.map { "strategy.parameters.\($0)" } ?? "strategy.name"
            throw ConfigurationError(source: "strategy", issues: [.init(path: path, line: nil, message: error.message, variable: nil)])
        }
        if let file = c.execution.riskLimitsFile {
            do { _ = try NodeRisk.limits(fromFile: file) } catch {
                throw ConfigurationError(source: file, issues: [.init(path: "execution.riskLimitsFile", line: nil, message: "\(error)", variable: nil)])
            }
        }
    }
}
