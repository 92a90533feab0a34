import ArgumentParser
import Foundation
import Logging
import ServiceLifecycle
import TandemVenue

/// `tandem venue`: the venue simulator process.
struct VenueProcess: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "venue",
        abstract: "Run the venue simulator: FIX 4.4 acceptor, matching engine, A/B market-data feed, synthetic market.",
        discussion: """
            With no --config, runs the demo venue: instruments ACME and GLOBX, FIX on 127.0.0.1:9878 \
            (sessions TANDEM for order entry, TANDEM-DC for drop copy, TANDEM-RISK for the kill switch; \
            our CompID VENUE), the feed's recovery service on 127.0.0.1:9879, and a synthetic market. \
            --print-config prints that configuration as JSON to start your own from. See docs/venue.md.
            """
    )

    @Option(help: "A JSON configuration file (fields not given keep their defaults).")
    var config: String?

    @Option(name: .customLong("fix-port"), help: "Override the FIX port (0 = any free port).")
    var fixPort: Int?

    @Option(name: .customLong("feed-port"), help: "Override the feed recovery port (0 = any free port).")
    var feedPort: Int?

    @Option(name: .customLong("state-file"), help: "Keep the venue's state (FIX sequence numbers, books) in this file across restarts.")
    var stateFile: String?

    @Option(name: .customLong("replay-csv"), help: "Drive the synthetic market's price path from a CSV of time,instrument,price[,quantity] (docs/venue.md).")
    var replayCSV: String?

    @Option(name: .customLong("replay-speed"), help: "Replay speed, a decimal: 1 is real time, 60 a minute per second (default 1).")
    var replaySpeed: String?

    @Flag(name: .customLong("replay-loop"), help: "Start the replay again after its last row (default: hold the last price).")
    var replayLoop = false

    @Flag(name: .customLong("no-market"), help: "Do not run the synthetic market (an empty book).")
    var noMarket = false

    @Flag(name: .customLong("print-config"), help: "Print the effective configuration as JSON and exit.")
    var printConfig = false

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical.")
    var logLevel = "info"

    func run() async throws {
        var configuration = VenueConfiguration()
        if let config {
            let url = URL(fileURLWithPath: config)
            let data: Data
            do { data = try Data(contentsOf: url) } catch {
                throw ValidationError("cannot read --config \(config): \(error.localizedDescription)")
            }
            do { configuration = try JSONDecoder().decode(VenueConfiguration.self, from: data) } catch {
                throw ValidationError("--config \(config) is not a valid venue configuration: \(describe(error))")
            }
        }
        if let fixPort { configuration.fixPort = fixPort }
        if let feedPort { configuration.feedRecoveryPort = feedPort }
        if noMarket { configuration.market.enabled = false }
        if let stateFile { configuration.stateFile = stateFile }
        if let replayCSV {
            configuration.market.replay = .init(csv: replayCSV, speed: replaySpeed ?? configuration.market.replay?.speed,
                                                loop: replayLoop ? true : configuration.market.replay?.loop)
        } else if replaySpeed != nil || replayLoop {
            throw ValidationError("--replay-speed and --replay-loop need --replay-csv")
        }
        if printConfig {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(configuration), as: UTF8.self))
            return
        }
        guard let level = Logger.Level(rawValue: logLevel) else { throw ValidationError("--log-level \(logLevel) is not a level") }
        var logger = Logger(label: "tandem.venue")
        logger.logLevel = level
        let venue: VenueService
        do { venue = try VenueService(configuration: configuration, logger: logger) } catch {
            throw ValidationError("venue configuration: \(error)")
        }
        let group = ServiceGroup(configuration: .init(services: [.init(service: venue)],
                                                      gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }

    private func describe(_ error: any Error) -> String {
        switch error as? DecodingError {
        case .typeMismatch(_, let c), .valueNotFound(_, let c), .keyNotFound(_, let c), .dataCorrupted(let c):
            let path = c.codingPath.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
            return "at \(path.isEmpty ? "top level" : path): \(c.debugDescription)"
        default:
            return "\(error)"
        }
    }
}
