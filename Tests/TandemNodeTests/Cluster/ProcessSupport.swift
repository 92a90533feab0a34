import Foundation
import Logging
import Synchronization
import TandemCore
import TandemExecution
import TandemFIX
import TandemJournal
import TandemNode
import TandemPostgres
import TandemPostgresTestKit
import TandemVenue
import Testing

let nodeTestLogger = Logger(label: "node-test", factory: { _ in SwiftLogNoOpLogHandler() })

/// The `tandem` executable next to the test bundle (SwiftPM builds it with the tests).
func tandemBinary() throws -> URL {
    let buildDir = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
    let candidate = [buildDir, buildDir.deletingLastPathComponent()]
        .map { $0.appendingPathComponent("tandem") }
        .first { FileManager.default.isExecutableFile(atPath: $0.path) }
    return try #require(candidate, "no `tandem` executable next to \(buildDir.path); run `swift build` first")
}

/// A child process of the test with its output in a log file; killed when stopped or deinitialized.
final class Child: @unchecked Sendable {
    let name: String
    let process = Process()
    let log: URL

    init(_ name: String, arguments: [String], environment: [String: String] = [:]) throws {
        self.name = name
        log = FileManager.default.temporaryDirectory.appendingPathComponent("tandem-\(name)-\(getpid())-\(UInt32.random(in: 0..<UInt32.max)).log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let handle = try FileHandle(forWritingTo: log)
        process.executableURL = try tandemBinary()
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        process.standardOutput = handle
        process.standardError = handle
        process.standardInput = FileHandle.nullDevice
        try process.run()
    }

    var output: String { (try? String(contentsOf: log, encoding: .utf8)) ?? "" }
    var isRunning: Bool { process.isRunning }

    /// Runs `tandem arguments` to its exit: its status and what it printed (stdout and stderr).
    static func run(_ name: String, arguments: [String]) throws -> (status: Int32, output: String) {
        let child = try Child(name, arguments: arguments)
        child.process.waitUntilExit()
        return (child.process.terminationStatus, child.output)
    }
    func signal(_ s: Int32) { if process.isRunning { kill(process.processIdentifier, s) } }

    /// SIGTERM, then SIGKILL after `grace`; waits for the exit.
    func stop(grace: Duration = .seconds(5)) async {
        signal(SIGCONT)
        signal(SIGTERM)
        let deadline = ContinuousClock.now + grace
        while process.isRunning, ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(20)) }
        if process.isRunning { signal(SIGKILL) }
        process.waitUntilExit()
    }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        try? FileManager.default.removeItem(at: log)
    }
}

/// Polls `condition` every 50 ms until it holds or `seconds` pass; on timeout records `what` with `context()`.
func eventually(_ what: String, seconds: Double = 20, context: () -> String = { "" }, _ condition: () async throws -> Bool) async throws {
    let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
    while ContinuousClock.now < deadline {
        if (try? await condition()) == true { return }
        try await Task.sleep(for: .milliseconds(50))
    }
    Issue.record("timed out after \(seconds) s waiting for \(what)\n\(context())")
    throw CancellationError()
}

/// A venue process on free ports, with an extra order-entry session TAKER the test trades from, and
/// a synthetic market that quotes but does not trade by itself.
struct VenueProcess {
    let child: Child
    let fixPort: Int
    let feedPort: Int

    static func start(_ configure: (inout VenueConfiguration) -> Void = { _ in }) async throws -> VenueProcess {
        var config = VenueConfiguration()
        config.fixPort = 0
        config.feedRecoveryPort = 0
        config.market.takerPercent = 0
        config.sessions.append(VenueSession(compID: "TAKER", role: .orderEntry, account: "TAKER", cancelOnDisconnect: false))
        configure(&config)
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("venue-\(getpid())-\(UInt32.random(in: 0..<UInt32.max)).json")
        try JSONEncoder().encode(config).write(to: file)
        let child = try Child("venue", arguments: ["venue", "--config", file.path, "--log-level", "info"])
        var ports: (Int, Int)?
        try await eventually("the venue to listen", context: { child.output }) {
            ports = VenueService.readyPorts(inLog: child.output)
            return ports != nil
        }
        return VenueProcess(child: child, fixPort: ports!.0, feedPort: ports!.1)
    }
}

/// A node's YAML for the test cluster: the local cluster's (HeartBtInt 1, a market maker one tick
/// either side of the mid) with room for the taker's sweeps, and a standby snapshot every 10 events,
/// so the process tests run nodes (after a leader term) and the watchdog starting from snapshots.
func nodeConfig(id: String, dsn: String, venue: VenueProcess, extra: String = "") -> String {
    LocalClusterConfig.nodeYAML(cluster: "test", id: id, dsn: dsn, fixPort: venue.fixPort, feedPort: venue.feedPort,
                                maxPosition: 1000, requoteTicks: 3, extra: "journal:\n  snapshotEveryEvents: 10\n" + extra)
}

func startNode(id: String, dsn: String, venue: VenueProcess, arguments: [String] = [], extra: String = "") throws -> Child {
    let file = FileManager.default.temporaryDirectory.appendingPathComponent("node-\(id)-\(getpid())-\(UInt32.random(in: 0..<UInt32.max)).yaml")
    try nodeConfig(id: id, dsn: dsn, venue: venue, extra: extra).write(to: file, atomically: true, encoding: .utf8)
    return try Child(id, arguments: ["node", "--config", file.path] + arguments)
}

/// node-a started and leading, then node-b started and standing by, caught up with the journal.
/// `nodeDSN` gives a node its own DSN (e.g. through a ``PostgresProxy``); the test reads through `dsn`.
func startPair(dsn: String, venue: VenueProcess, nodeDSN: [String: String] = [:]) async throws -> (a: Child, b: Child) {
    let a = try startNode(id: "node-a", dsn: nodeDSN["node-a"] ?? dsn, venue: venue)
    try await eventually("node-a to lead", context: { a.output }) {
        try await nodeRows(dsn).contains { $0.nodeID == "node-a" && $0.role == "leader" }
    }
    let b = try startNode(id: "node-b", dsn: nodeDSN["node-b"] ?? dsn, venue: venue)
    try await eventually("node-b to stand by", context: { b.output }) {
        try await nodeRows(dsn).contains { $0.nodeID == "node-b" && $0.role == "standby" && $0.lagSeqs == 0 }
    }
    return (a, b)
}

func freshClusterDatabase() async throws -> String {
    let dsn = try await TestPostgres.freshDatabase(prefix: "n")
    let admin = try await PostgresConnection.connect(dsn)
    _ = try await JournalSchema.migrate(admin, logger: nodeTestLogger)
    await admin.close()
    return dsn
}

/// Appends the events `build` makes for the epoch to the journal at `dsn` as `holder`, taking the lease
/// for it (a test's stand-in for a leader that wrote them).
func appendAsLeader(_ dsn: String, holder: String, _ build: @Sendable (_ epoch: UInt64) -> [JournalEvent]) async throws {
    let conn = try await PostgresConnection.connect(dsn)
    try await conn.withConnection { c in
        let epoch = try Lease.acquire(c, holder: holder, duration: .seconds(120))
        _ = try FencedAppend.append(c, epoch: epoch, head: FencedAppend.readHead(c), events: build(epoch).map(EncodedEvent.init))
    }
    await conn.close()
}

func nodeRows(_ dsn: String) async throws -> [NodeStatusTable.Row] {
    let conn = try await PostgresConnection.connect(dsn)
    let rows = try await conn.withConnection { c in try NodeStatusTable.read(c) }
    await conn.close()
    return rows
}

/// The journal folded from seq 1, and its rows' (seq, epoch, event).
func replay(_ dsn: String) async throws -> (ExecutionLedger, [(seq: UInt64, epoch: UInt64, event: JournalEvent)]) {
    let conn = try await PostgresConnection.connect(dsn)
    let rows = try await conn.withConnection { c in try JournalReader.rows(c, after: 0, limit: 1_000_000) }
    await conn.close()
    var ledger = ExecutionLedger()
    var out: [(UInt64, UInt64, JournalEvent)] = []
    for row in rows {
        let e = try EventCodec.decode(row.payload)
        try ledger.apply(e, seq: row.seq)
        out.append((row.seq, row.epoch, e))
    }
    return (ledger, out)
}

/// An in-process FIX initiator — the test's taker, drop-copy reader or risk session — collecting
/// execution reports and the venue's kill-switch answers (`UKR`, by request id).
final class TestSession: Sendable {
    let initiator: FIXInitiator<InMemoryFIXStore>
    private let reports = Mutex<[ExecutionReport]>([])
    private let answers = Mutex<[String: String]>([:])
    private let loggedOn = Mutex(false)

    init(compID: String, port: Int) {
        let session = FIXSessionConfig(role: .initiator, senderCompID: compID, targetCompID: "VENUE", heartBtInt: 5)
        initiator = FIXInitiator(configuration: .init(host: "127.0.0.1", port: port, session: session, reconnectBase: .milliseconds(100)),
                                 store: InMemoryFIXStore(), logger: nodeTestLogger)
    }

    var executionReports: [ExecutionReport] { reports.withLock { $0 } }
    var isLoggedOn: Bool { loggedOn.withLock { $0 } }

    func run() async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { try? await self.initiator.run() }
            group.addTask {
                for await event in self.initiator.events {
                    switch event.kind {
                    case .message(let inbound):
                        switch inbound.typed {
                        case .executionReport(let r): self.reports.withLock { $0.append(r) }
                        case .unknown(let m) where m.msgType.wireValue == KillSwitch.response.wireValue:
                            if let id = m.string(20003) { self.answers.withLock { $0[id] = m.string(20004) ?? "?" } }
                        default: break
                        }
                    case .session(.loggedOn): self.loggedOn.withLock { $0 = true }
                    default: break
                    }
                }
            }
        }
    }

    /// On a risk session: sends a kill-switch or fault action and returns the venue's result text
    /// (20004), or nil when none came within 5 s.
    func killSwitch(_ action: KillSwitch.Action, target: String = "", id: String) async throws -> String? {
        try await initiator.send(KillSwitch.message(target: target, action: action, requestID: id))
        let deadline = ContinuousClock.now + .seconds(5)
        while ContinuousClock.now < deadline {
            if let answer = answers.withLock({ $0[id] }) { return answer }
            try await Task.sleep(for: .milliseconds(10))
        }
        return nil
    }
}
