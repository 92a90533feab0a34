import Foundation
import Logging
import TandemCore
import TandemFIX
import TandemJournal
import TandemPostgres
import TandemVenue
import TandemWatchdog

/// `breach_to_flat_ms`: from a limit breach to every position flat at the venue, through the real
/// watchdog. A local cluster in one process — the embedded PostgreSQL, the venue simulator with
/// `instruments` instruments, the watchdog (default 100 ms cycle, `maxPosition` with
/// `flattenOnBreach`) — and an engine session that builds a position in every instrument, the last
/// order taking one instrument over the limit. The clock starts when the breaching fill reaches the
/// bench's own drop copy and stops when that drop copy shows every position flat. Each run ends with
/// a signed RESUME, so the next starts from normal.
enum BreachToFlat {
    static func measure(instruments count: Int, runs: Int, logger: Logger) async throws -> [Duration] {
        try await EmbeddedPostgres.withServer(.init(durability: .full), logger: logger) { server in
            try await measure(dsn: server.dsn(), instruments: count, runs: runs, logger: logger)
        }
    }

    private static func measure(dsn: String, instruments count: Int, runs: Int, logger: Logger) async throws -> [Duration] {
        let admin = try await PostgresConnection.connect(dsn, logger: logger)
        _ = try await JournalSchema.migrate(admin, logger: logger)
        await admin.close()

        var config = VenueConfiguration()
        config.fixPort = 0
        config.feedRecoveryPort = 0
        config.market.takerPercent = 0
        config.instruments = (1...count).map {
            VenueConfiguration.InstrumentConfig(id: UInt32($0), symbol: "SYM\($0)", tickSize: "0.01", lotSize: "1", makerFeeBps: "0", takerFeeBps: "0", referencePrice: "100.00")
        }
        config.sessions.append(VenueSession(compID: "BENCH-DC", role: .dropCopy))
        let venue = try VenueService(configuration: config, logger: logger)
        let key = [UInt8](repeating: 0x42, count: 32)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await venue.run() }
            let fixPort = try await venue.acceptor.listeningPort()
            let feedPort = try await venue.feed.recoveryPort()
            var venueSettings = WatchdogConfiguration.Venue()
            venueSettings.port = fixPort
            venueSettings.feedRecoveryPort = feedPort
            var limits = WatchdogLimits(currency: .usd)
            limits.maxPosition = try Quantity("10")
            limits.flattenOnBreach = true
            limits.disagreementGraceMillis = 86_400_000  // no engine journals here: only the position limit acts
            let instruments = try (1...count).map {
                Instrument(id: InstrumentID(UInt32($0)), symbol: "SYM\($0)", venue: "VENUE", tickSize: try Price("0.01"),
                           lotSize: try Quantity("1"), currency: .usd)
            }
            let watchdog = WatchdogService(configuration: WatchdogConfiguration(
                id: "bench", dsn: dsn + " user=tandem_watchdog", venue: venueSettings, instruments: instruments, limits: limits, key: key),
                logger: logger)
            group.addTask { try await watchdog.run() }
            let dropCopy = DrillFIXSession(compID: "BENCH-DC", port: fixPort, logger: logger)
            let engine = DrillFIXSession(compID: "TANDEM", port: fixPort, logger: logger)
            group.addTask { await dropCopy.run() }
            group.addTask { await engine.run() }
            try await waitFor("the sessions and the watchdog", seconds: 20) {
                dropCopy.isLoggedOn && engine.isLoggedOn && watchdog.readiness.ready
            }

            var samples: [Duration] = []
            var order = 0
            for run in 1...runs {
                // A position under the limit in every instrument, then one order over it.
                for i in 1...count {
                    order += 1
                    try await buy(engine, "B\(order)", symbol: "SYM\(i)", quantity: "5")
                }
                try await waitFor("run \(run): positions in every instrument", seconds: 10) {
                    net(dropCopy).values.filter { $0 != 0 }.count == count
                }
                let fillsBefore = dropCopy.reportCount
                order += 1
                try await buy(engine, "B\(order)", symbol: "SYM\(count)", quantity: "10")
                var breached: ContinuousClock.Instant?
                try await waitFor("run \(run): the breaching fill", seconds: 10) {
                    breached = dropCopy.executionReports.dropFirst(fillsBefore)
                        .first { $0.report.clOrdID?.rawValue == "B\(order)" && $0.report.execType == .trade }?.at
                    return breached != nil
                }
                try await waitFor("run \(run): every position flat", seconds: 20) {
                    net(dropCopy).values.allSatisfy { $0 == 0 }
                }
                let flat = ContinuousClock.now
                samples.append(flat - breached!)
                let resume = SignedCommand.sign(action: .resume, reason: "bench run \(run)", issuedBy: "bench", key: key)
                guard let answer = try await CommandQueue.submit(resume, dsn: dsn, timeout: .seconds(10)), answer.isDone else {
                    throw BenchError("run \(run): the watchdog did not accept RESUME")
                }
                try await waitFor("run \(run): the watchdog back to normal", seconds: 10) { watchdog.status.mode == "normal" }
            }
            group.cancelAll()
            return samples
        }
    }

    private static func buy(_ session: DrillFIXSession, _ id: String, symbol: String, quantity: String) async throws {
        try await session.initiator.send(NewOrderSingle(
            clOrdID: ClOrdID(id), account: AccountID("BENCH"), symbol: symbol, side: .buy, transactTime: FIXClock.now().utc,
            orderQty: try Quantity(quantity), orderType: .limit(try Price("1000.00")), timeInForce: .immediateOrCancel))
    }

    /// Net quantity per symbol of the BENCH account by the drop copy, each ExecID once.
    private static func net(_ dropCopy: DrillFIXSession) -> [String: Int64] {
        var seen: Set<String> = []
        var net: [String: Int64] = [:]
        for r in dropCopy.executionReports.map(\.report) where r.execType == .trade && r.account?.rawValue == "BENCH" {
            guard seen.insert(r.execID).inserted, let q = r.lastQty else { continue }
            net[r.symbol, default: 0] += r.side == .buy ? q.units : -q.units
        }
        return net
    }

    private static func waitFor(_ what: String, seconds: Int, _ condition: () async throws -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(seconds)
        while ContinuousClock.now < deadline {
            if try await condition() { return }
            try await Task.sleep(for: .milliseconds(2))
        }
        throw BenchError("timed out after \(seconds) s waiting for \(what)")
    }
}
