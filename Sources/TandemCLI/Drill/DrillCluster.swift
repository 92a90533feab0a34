import Foundation
import Logging
import Synchronization
import TandemCore
import TandemExecution
import TandemJournal
import TandemNode
import TandemVenue
import TandemPostgres

/// The drill's local cluster: a private PostgreSQL, `tandem venue` (synthetic market and its takers
/// on), two `tandem node` processes (node-a, node-b), and the drill's own drop-copy and risk
/// sessions. With `proxied`, each node reaches PostgreSQL through its own in-process TCP proxy,
/// which the cut-leader-from-postgres scenario cuts.
final class DrillCluster: Sendable {
    static let nodeIDs = ["node-a", "node-b"]

    let pg: EmbeddedPostgres
    let dsn: String
    let logDirectory: String
    let venue: ChildProcess
    let fixPort: Int
    let feedPort: Int
    let leaseMillis: Int
    let heartbeatMillis: Int
    let dropCopy: DrillFIXSession
    let risk: DrillFIXSession
    let proxies: [String: PostgresProxy]
    let logger: Logger
    private let nodes = Mutex<[String: ChildProcess]>([:])
    private let monitor: Monitor

    private init(pg: EmbeddedPostgres, logDirectory: String, venue: ChildProcess, ports: (fix: Int, feed: Int), leaseMillis: Int,
                 heartbeatMillis: Int, proxies: [String: PostgresProxy], logger: Logger) {
        self.pg = pg
        self.dsn = pg.dsn()
        self.logDirectory = logDirectory
        self.venue = venue
        self.fixPort = ports.fix
        self.feedPort = ports.feed
        self.leaseMillis = leaseMillis
        self.heartbeatMillis = heartbeatMillis
        self.proxies = proxies
        self.logger = logger
        dropCopy = DrillFIXSession(compID: "TANDEM-DC", port: ports.fix, logger: logger)
        risk = DrillFIXSession(compID: "TANDEM-RISK", port: ports.fix, logger: logger)
        monitor = Monitor(dsn: pg.dsn(), logger: logger)
    }

    /// Starts PostgreSQL (migrated) and the venue; the nodes are started by `startNode`.
    static func start(logDirectory: String, leaseMillis: Int, heartbeatMillis: Int, proxied: Bool, logger: Logger) async throws -> DrillCluster {
        let pg = try await EmbeddedPostgres.start(.init(durability: .full), logger: logger)
        do {
            let admin = try await PostgresConnection.connect(pg.dsn(), logger: logger)
            _ = try await JournalSchema.migrate(admin, logger: logger)
            await admin.close()
            let venue = try ChildProcess(name: "venue", arguments: ["venue", "--fix-port", "0", "--feed-port", "0"], logDirectory: logDirectory)
            var ports: (fix: Int, feed: Int)?
            let deadline = ContinuousClock.now + .seconds(20)
            while ports == nil, ContinuousClock.now < deadline {
                ports = VenueService.readyPorts(inLog: venue.output)
                if ports == nil { try await Task.sleep(for: .milliseconds(50)) }
            }
            guard let ports else {
                await venue.stop()
                throw DrillError("the venue did not start; see \(venue.logPath)")
            }
            var proxies: [String: PostgresProxy] = [:]
            if proxied {
                for id in nodeIDs { proxies[id] = try PostgresProxy(upstreamPort: pg.port, name: id) }
            }
            return DrillCluster(pg: pg, logDirectory: logDirectory, venue: venue, ports: ports, leaseMillis: leaseMillis,
                                heartbeatMillis: heartbeatMillis, proxies: proxies, logger: logger)
        } catch {
            try? await pg.stop()
            throw error
        }
    }

    /// The DSN a node uses: its proxy's when proxied, else the server's.
    func nodeDSN(_ id: String) -> String {
        if let proxy = proxies[id] { return "host=127.0.0.1 port=\(proxy.port) user=\(pg.user) dbname=postgres" }
        return dsn
    }

    func configPath(_ id: String) -> String { "\(logDirectory)/\(id).yaml" }

    /// Writes the node's config (once) and starts it with `arguments` after its config (e.g.
    /// `--metrics-port`); its output is appended to `<id>.log`.
    func startNode(_ id: String, arguments: [String] = []) throws {
        let path = configPath(id)
        if !FileManager.default.fileExists(atPath: path) {
            try nodeConfig(id: id).write(toFile: path, atomically: true, encoding: .utf8)
        }
        let child = try ChildProcess(name: id, arguments: ["node", "--config", path] + arguments, logDirectory: logDirectory)
        nodes.withLock { $0[id] = child }
    }

    func node(_ id: String) -> ChildProcess? { nodes.withLock { $0[id] } }

    /// SIGKILL, and wait until the process is gone.
    func killNode(_ id: String) async {
        guard let child = node(id) else { return }
        child.signal(SIGKILL)
        while child.process.isRunning { try? await Task.sleep(for: .milliseconds(2)) }
    }

    /// Nodes first (SIGCONT in case one is stopped, then SIGTERM: they drain and log out), then the venue, the proxies, PostgreSQL.
    func stop() async {
        let children = nodes.withLock { Array($0.values) }
        for c in children { c.signal(SIGCONT) }
        await withTaskGroup(of: Void.self) { group in
            for c in children { group.addTask { await c.stop() } }
        }
        await venue.stop()
        for p in proxies.values { p.close() }
        await monitor.close()
        try? await pg.stop()
    }

    func nodeConfig(id: String) -> String {
        "# Written by `tandem drill` for this run.\n"
            + LocalClusterConfig.nodeYAML(cluster: "drill", id: id, dsn: nodeDSN(id), fixPort: fixPort, feedPort: feedPort,
                                          heartbeatMs: heartbeatMillis, leaseMs: leaseMillis)
    }

    // MARK: Database reads (a monitor session straight to the server, reconnecting after a restart)

    func lease() async -> LeaseState? { await monitor.read { c in try Lease.read(c) } }
    func journalHead() async -> UInt64? { await monitor.read { c in try FencedAppend.readHead(c).seq } }
    func nodeRows() async -> [NodeStatusTable.Row]? { await monitor.read { c in try NodeStatusTable.read(c) } }
    func audit() async -> AuditReport? {
        let logger = logger
        return await monitor.read { c in try AuditVerifier.verify(c, logger: logger) }
    }

    /// The journal folded from seq 1 (incrementally: a follower that reads what was added since the last call).
    let follower = Mutex<ExecutionLedger>(ExecutionLedger())
    func catchUp() async throws -> ExecutionLedger {
        let after = follower.withLock { $0.lastSeq }
        let rows = try await monitor.readThrowing { c in try JournalReader.rows(c, after: after, limit: 1_000_000) }
        return try follower.withLock { ledger in
            for row in rows where row.seq > ledger.lastSeq {
                let event = try EventCodec.decode(row.payload)
                if case .fixOutboundMessage(let m) = event, Self.isLogon(m.raw) { logons.withLock { $0.append(row.seq) } }
                try ledger.apply(event, seq: row.seq)
            }
            return ledger
        }
    }

    /// Journal positions of the Logons the nodes sent (every outbound message is journaled before it is written).
    let logons = Mutex<[UInt64]>([])
    static func isLogon(_ raw: [UInt8]) -> Bool {
        let tag: [UInt8] = Array("\u{1}35=A\u{1}".utf8)
        guard raw.count >= tag.count else { return false }
        return (0...(raw.count - tag.count)).contains { i in raw[i..<(i + tag.count)].elementsEqual(tag) }
    }
}

/// One PostgreSQL session for the drill's own reads, re-opened after a failure (server restart).
final class Monitor: Sendable {
    let dsn: String
    let logger: Logger
    private let connection = Mutex<PostgresConnection?>(nil)

    init(dsn: String, logger: Logger) {
        self.dsn = dsn
        self.logger = logger
    }

    func read<T: Sendable>(_ body: @Sendable (PGConnection) throws -> T) async -> T? {
        try? await readThrowing(body)
    }

    func readThrowing<T: Sendable>(_ body: @Sendable (PGConnection) throws -> T) async throws -> T {
        let conn: PostgresConnection
        if let c = connection.withLock({ $0 }) {
            conn = c
        } else {
            conn = try await PostgresConnection.connect(dsn, connectTimeoutSeconds: 2, logger: logger)
            connection.withLock { $0 = conn }
        }
        do {
            return try await conn.withConnection(body)
        } catch {
            connection.withLock { $0 = nil }
            await conn.close()
            throw error
        }
    }

    func close() async {
        if let c = connection.withLock({ c in defer { c = nil }; return c }) { await c.close() }
    }
}
