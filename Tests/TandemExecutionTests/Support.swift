import Foundation
import Logging
import NIOCore
import NIOPosix
import Synchronization
import TandemCore
import TandemExecution
import TandemFIX
import TandemJournal
import TandemPostgres
import TandemPostgresTestKit
import TandemVenue
import Testing

/// Silent unless TANDEM_TEST_LOG names a level (e.g. `debug`), for looking into a failure.
let quiet: Logger = {
    guard let level = ProcessInfo.processInfo.environment["TANDEM_TEST_LOG"].flatMap(Logger.Level.init(rawValue:)) else {
        return Logger(label: "execution-test", factory: { _ in SwiftLogNoOpLogHandler() })
    }
    var logger = Logger(label: "execution-test", factory: { StreamLogHandler.standardError(label: $0) })
    logger.logLevel = level
    return logger
}()
let acme = InstrumentID(1)

func acmeDefinition() throws -> Instrument {
    Instrument(id: acme, symbol: "ACME", venue: "VENUE", tickSize: try Price("0.01"), lotSize: try Quantity("1"), currency: .usd)
}

/// Polls `condition` every 10 ms until it holds or `seconds` pass.
func until(_ what: String, seconds: Double = 10, _ condition: () async throws -> Bool) async throws {
    let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
    while ContinuousClock.now < deadline {
        if try await condition() { return }
        try await Task.sleep(for: .milliseconds(10))
    }
    Issue.record("timed out waiting for \(what)")
    throw CancellationError()
}

/// Every event in the journal, folded from seq 1 into a fresh ledger, and the events themselves.
func replayJournal(_ dsn: String) async throws -> (ExecutionLedger, [(seq: UInt64, event: JournalEvent)]) {
    let conn = try await PostgresConnection.connect(dsn)
    defer { Task { await conn.close() } }
    let rows = try await conn.withConnection { c in try JournalReader.rows(c, after: 0, limit: 1_000_000) }
    var ledger = ExecutionLedger()
    var events: [(UInt64, JournalEvent)] = []
    for row in rows {
        let e = try EventCodec.decode(row.payload)
        try ledger.apply(e, seq: row.seq)
        events.append((row.seq, e))
    }
    return (ledger, events)
}

/// A leader's execution stack for one epoch against a venue: journal pipeline, engine, one FIX session.
struct Stack {
    let pipeline: JournalPipeline
    let engine: ExecutionEngine
    let initiator: FIXInitiator<InMemoryFIXStore>
    let sessionID: String
    let tasks: [Task<Void, any Error>]

    static func start(dsn: String, fixPort: Int, ledger: ExecutionLedger, holder: String = "node-a",
                      sessionRate: (Int, Int) = (1000, 1000), mayWrite: @escaping @Sendable () -> Bool = { true },
                      faults: FIXFaultInjection = .none, wakeLoop: Bool = false,
                      onOrderEffect: (@Sendable (OrderEffect, borrowing JournalEvent) -> Void)? = nil) async throws -> Stack {
        let conn = try await PostgresConnection.connect(dsn)
        let epoch = try await conn.withConnection { c in try Lease.acquire(c, holder: holder, duration: .seconds(30)) }
        let writer = JournalWriter(connection: conn, epoch: epoch, logger: quiet)
        let pipeline = JournalPipeline(writer: writer, ledger: ledger, logger: quiet, onOrderEffect: onOrderEffect)
        let sessionID = FIXSessionID.make(sender: "TANDEM", target: "VENUE")
        let manager = OrderManager(configuration: .init(
            account: AccountID("ACC1"), epoch: epoch,
            venues: [.init(name: "VENUE", sessions: [sessionID], venueRate: .init(ordersPerSecond: sessionRate.0, burst: sessionRate.1),
                           sessionRate: [sessionID: .init(ordersPerSecond: sessionRate.0, burst: sessionRate.1)])],
            routes: [acme: "VENUE"], statusRequestTimeout: .milliseconds(500), retryInitial: .milliseconds(100)))
        // `wakeLoop`: the engine's wake-ups scheduled on the session's event loop (as the node does), else polled.
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        let engine = ExecutionEngine(manager: manager, pipeline: pipeline, logger: quiet, wakeLoop: wakeLoop ? loop : nil)
        let gate = JournalFIXGate(pipeline: pipeline, leadership: mayWrite)
        let store = pipeline.read { JournalFIXStore.seeded(sessionID: sessionID, from: $0) }
        let session = FIXSessionConfig(role: .initiator, senderCompID: "TANDEM", targetCompID: "VENUE", heartBtInt: 5)
        let initiator = FIXInitiator(configuration: .init(host: "127.0.0.1", port: fixPort, session: session,
                                                          reconnectBase: .milliseconds(100), faults: faults, gate: gate),
                                     store: store, group: loop, logger: quiet,
                                     application: { [ExecutionChannelHandler(engine: engine, session: sessionID)] })
        engine.attach(session: sessionID) { initiator.write($0) }
        let tasks = [Task { try await pipeline.run() }, Task { try await engine.run() }, Task { try await initiator.run() }]
        return Stack(pipeline: pipeline, engine: engine, initiator: initiator, sessionID: sessionID, tasks: tasks)
    }

    func order(_ id: ClOrdID) -> Order? { pipeline.read { $0.state.order(id) } }
    var orders: [Order] { pipeline.read { Array($0.state.allOrders) } }

    func stop() async {
        initiator.logout(text: "test over")
        try? await Task.sleep(for: .milliseconds(50))
        for t in tasks { t.cancel() }
        for t in tasks { _ = await t.result }
    }
}

func startVenue(market: Bool = true) async throws -> (VenueService, Task<Void, any Error>, Int) {
    var config = VenueConfiguration()
    config.fixPort = 0
    config.feedRecoveryPort = 0
    config.market.stepMillis = 10
    if !market { config.market.enabled = false }
    let venue = try VenueService(configuration: config, logger: quiet)
    let task = Task { try await venue.run() }
    let port = try await venue.acceptor.listeningPort()
    return (venue, task, port)
}
