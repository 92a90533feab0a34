import ArgumentParser
import Foundation
import Logging
import Metrics
import Prometheus
import ServiceLifecycle
import TandemOps
import TandemWatchdog

struct WatchdogProcess: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "watchdog",
        abstract: "Run the independent risk watchdog: it can HALT the engine, BLOCK its venue sessions and FLATTEN positions.",
        discussion: """
            The watchdog trusts neither engine node. It reads the journal on its own read-only role \
            (tandem_watchdog), takes the venue's view from the drop copy, marks positions with its own \
            market data, and acts when a limit is breached or an operator sends a signed command \
            (`tandem risk`): HALT takes the lease into a halted state with a new epoch, so the leader's \
            next append is fenced and no node may lead until RESUME; BLOCK makes the venue refuse the \
            engine's sessions; FLATTEN cancels everything and closes every position through the \
            watchdog's own session until the drop copy shows flat. It works with both nodes dead, and a \
            restarted watchdog finishes what it started. Configuration: docs/watchdog.md.
            """
    )

    @Option(help: ArgumentHelp("The watchdog's YAML configuration file.", valueName: "file"))
    var config: String

    @Option(name: .customLong("log-format"), help: "text (for a terminal) or json (one object per line).")
    var logFormat = "text"

    @Option(name: .customLong("metrics-port"),
            help: ArgumentHelp("Serve /metrics, /healthz and /readyz on 127.0.0.1:PORT (0 = any free port).", valueName: "port"))
    var metricsPort: Int?

    func run() async throws {
        let text: String
        do { text = try String(contentsOfFile: config, encoding: .utf8) } catch {
            throw ValidationError("cannot read --config \(config): \(error.localizedDescription)")
        }
        let configuration: WatchdogConfiguration
        do {
            configuration = try WatchdogConfiguration.parse(text, file: config, environment: ProcessInfo.processInfo.environment,
                                                            baseDirectory: (config as NSString).deletingLastPathComponent)
        } catch {
            FileHandle.standardError.write(Data("\(error)\n".utf8))
            throw ExitCode(1)
        }
        guard logFormat == "text" || logFormat == "json" else { throw ValidationError("--log-format must be text or json, not \(logFormat)") }
        if logFormat == "json" {
            let id = configuration.id
            LoggingSystem.bootstrap { label in
                var h = JSONLogHandler(label: label, process: "watchdog", sink: .standardError)
                h[metadataKey: "watchdog.id"] = "\(id)"
                return h
            }
        }
        var logger = Logger(label: "tandem.watchdog")
        logger.logLevel = .info
        let factory = TandemMetricsFactory()
        if metricsPort != nil { MetricsSystem.bootstrap(factory) }
        let sender = configuration.alertmanager.map {
            DirectAlertSender(endpoint: $0, cluster: configuration.cluster, source: "watchdog:\(configuration.id)", logger: logger)
        }
        let watchdog = WatchdogService(configuration: configuration, logger: logger, alert: { alert in sender?.raise(alert) })
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [.init(service: watchdog)]
        if let sender { services.append(.init(service: sender)) }
        if let metricsPort {
            services.append(.init(service: OpsHTTPServer(port: metricsPort, registry: factory.registry, histograms: factory.histograms, readiness: { watchdog.readiness }, logger: logger)))
        }
        let group = ServiceGroup(configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        defer { JSONLogSink.flushAll() }  // buffered info lines out before the process ends
        try await group.run()
    }
}
