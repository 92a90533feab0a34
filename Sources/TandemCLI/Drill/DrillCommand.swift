import ArgumentParser
import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// `tandem drill SCENARIO --runs N [--json]`: failover drills on a local cluster (docs/drills.md).
struct Drill: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a failover drill on a local cluster and check that nothing was lost or doubled.",
        discussion: """
            Starts a private PostgreSQL, `tandem venue` (synthetic market and takers on) and two \
            `tandem node` processes, plus the drill's own drop-copy (TANDEM-DC) and risk (TANDEM-RISK) \
            sessions. Each run waits for a leader, a caught-up standby and working orders, strikes the \
            fault, measures the RTO (fault → first order of the new leader acknowledged by the venue) \
            and the takeover (fault → new epoch in the lease row), lets the cluster settle and checks: \
            lost_fills, duplicate_orders, positions_match, audit_ok. The cluster is kept between runs. \
            Exit status 1 if any check failed. See docs/drills.md.
            """
    )

    @Argument(help: ArgumentHelp("One of: \(DrillScenario.allCases.map(\.rawValue).joined(separator: ", ")).", valueName: "scenario"))
    var scenario: DrillScenario

    @Option(help: "How many runs.")
    var runs = 1

    @Flag(help: "Print one JSON object (the summary with per-run figures) on stdout; progress goes to stderr.")
    var json = false

    @Option(help: "Seed for `random` (which scenario each run strikes).")
    var seed: UInt64 = 1

    @Option(name: .customLong("log-directory"), help: "Where the children's logs go (a subdirectory per drill).")
    var logDirectory = ".tandem/drill"

    @Option(name: .customLong("lease-ms"), help: "The nodes' lease.")
    var leaseMillis = 1000

    @Option(name: .customLong("heartbeat-ms"), help: "The nodes' heartbeat.")
    var heartbeatMillis = 200

    @Option(name: .customLong("settle-seconds"), help: "Quiet time after a run's recovery before the checks.")
    var settleSeconds = 1.0

    @Option(name: .customLong("rto-timeout-seconds"), help: "How long to wait for the first new order after the fault.")
    var rtoTimeoutSeconds = 30.0

    func validate() throws {
        guard runs >= 1 else { throw ValidationError("--runs must be at least 1") }
        guard heartbeatMillis > 0, leaseMillis > heartbeatMillis else { throw ValidationError("--heartbeat-ms must be > 0 and below --lease-ms") }
    }

    func run() async throws {
        var logger = Logger(label: "tandem.drill")
        logger.logLevel = .warning
        let stamp = ISO8601DateFormatter().string(from: Date()).replacingOccurrences(of: ":", with: "")
        let directory = "\(logDirectory)/\(scenario.rawValue)-\(stamp)-\(getpid())"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let options = DrillOptions(scenario: scenario, runs: runs, seed: seed, logDirectory: directory, leaseMillis: leaseMillis,
                                   heartbeatMillis: heartbeatMillis, settle: .milliseconds(Int64(settleSeconds * 1000)),
                                   rtoTimeout: .milliseconds(Int64(rtoTimeoutSeconds * 1000)), json: json)
        let drill = DrillService(options: options, logger: logger)
        let group = ServiceGroup(configuration: .init(services: [.init(service: drill, successTerminationBehavior: .gracefullyShutdownGroup)],
                                                      gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
        guard let summary = drill.summary else { throw ExitCode(2) }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            print(String(decoding: try encoder.encode(summary), as: UTF8.self))
        } else {
            print(summary.text)
        }
        if !summary.passed { throw ExitCode(1) }
    }
}

enum DrillScenario: String, CaseIterable, ExpressibleByArgument, Sendable {
    case killLeader = "kill-leader"
    case pauseLeader = "pause-leader"
    case killBothRestart = "kill-both-restart"
    case venueDisconnect = "venue-disconnect"
    case restartPostgres = "restart-postgres"
    case cutLeaderFromPostgres = "cut-leader-from-postgres"
    case random

    /// The scenarios `random` draws from.
    static let concrete: [DrillScenario] = [.killLeader, .pauseLeader, .killBothRestart, .venueDisconnect, .restartPostgres, .cutLeaderFromPostgres]
}

struct DrillOptions: Sendable {
    var scenario: DrillScenario
    var runs: Int
    var seed: UInt64
    var logDirectory: String
    var leaseMillis: Int
    var heartbeatMillis: Int
    var settle: Duration
    var rtoTimeout: Duration
    var json: Bool
}

/// The drill as a Service (so Ctrl-C stops the children and the database cleanly).
final class DrillService: Service, Sendable {
    let options: DrillOptions
    let logger: Logger
    private let result = Mutex<DrillSummary?>(nil)

    init(options: DrillOptions, logger: Logger) {
        self.options = options
        self.logger = logger
    }

    var summary: DrillSummary? { result.withLock { $0 } }

    func run() async throws {
        let proxied = options.scenario == .cutLeaderFromPostgres || options.scenario == .random
        progress("tandem drill \(options.scenario.rawValue): starting PostgreSQL and the venue (logs in \(options.logDirectory))")
        let cluster = try await DrillCluster.start(logDirectory: options.logDirectory, leaseMillis: options.leaseMillis,
                                                   heartbeatMillis: options.heartbeatMillis, proxied: proxied, logger: logger)
        let runner = DrillRunner(cluster: cluster, options: options, progress: { [self] in progress($0) })
        do {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { await cluster.dropCopy.run() }
                group.addTask { await cluster.risk.run() }
                group.addTask {
                    try await cancelWhenGracefulShutdown {
                        let summary = try await runner.runAll()
                        self.result.withLock { $0 = summary }
                    }
                }
                try await group.next()
                group.cancelAll()
            }
        } catch {
            progress("tandem drill: \(error); logs are in \(options.logDirectory)")
            await cluster.stop()
            throw error
        }
        progress("tandem drill: stopping the cluster")
        await cluster.stop()
    }

    /// A progress line on stderr and in `<log directory>/drill.log`, stamped with the UTC time.
    func progress(_ line: String) {
        FileHandle.standardError.write(Data((line + "\n").utf8))
        let path = options.logDirectory + "/drill.log"
        if !FileManager.default.fileExists(atPath: path) { _ = FileManager.default.createFile(atPath: path, contents: nil) }
        if let h = FileHandle(forWritingAtPath: path) {
            _ = try? h.seekToEnd()
            h.write(Data("\(Date()) \(line)\n".utf8))
            try? h.close()
        }
    }
}
