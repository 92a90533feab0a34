import ArgumentParser
import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import TandemCore
import TandemJournal
import TandemNode
import TandemOps
import TandemPostgres
import TandemCrypto
import TandemVenue
import TandemWatchdog

/// `tandem demo`: the local demo cluster — a private PostgreSQL, a venue and two engine nodes as
/// separate processes — with a live view, a leader kill on demand, and a clean stop on Ctrl-C.
struct Demo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the local demo cluster: PostgreSQL, a venue, two engine nodes, the risk watchdog; watch one node take over from the other.",
        discussion: """
            Starts a private PostgreSQL (in a temporary directory), `tandem venue` (synthetic market, \
            FIX and the A/B feed on free ports) and two `tandem node` processes (node-a and node-b, \
            market maker on ACME) and `tandem watchdog` — each a separate process, logs in \
            --log-directory. The live view shows the leader, epoch, journal head, the standby's lag, open \
            orders, positions and P&L, and the watchdog's mode and view.

            Type k and Enter to kill the leader (SIGKILL), or pass --failover-after SECONDS: the view \
            then shows the standby take over — time to the new lease, to its LeaderElected event, to \
            its first order acknowledged by the venue — and the killed node is restarted as the new \
            standby. h, r, f and Enter send the watchdog a signed HALT, RESUME or FLATTEN (the key is \
            in --log-directory/risk.key; `tandem risk … --key-file` works against the demo too). Ctrl-C \
            stops everything (nodes drain and log out) and removes the database.

            Each node serves /metrics, /healthz and /readyz on 127.0.0.1: node-a on port 9471 and node-b \
            on 9472 by default, the watchdog on 9473 (--metrics-port-base; 0 turns them off), the targets of \
            deploy/prometheus/prometheus.yml (docs/monitoring.md). A port already in use is skipped with a warning.
            """
    )

    @Option(name: .customLong("failover-after"), help: ArgumentHelp("Kill the leader this many seconds after start.", valueName: "seconds"))
    var failoverAfter: Double?

    @Option(help: ArgumentHelp("Stop by itself after this many seconds (default: run until Ctrl-C).", valueName: "seconds"))
    var duration: Double?

    @Option(name: .customLong("log-directory"), help: "Where the processes' logs go.")
    var logDirectory = ".tandem/demo"

    @Flag(help: "Print one status line per second instead of redrawing the screen.")
    var plain = false

    @Option(name: .customLong("metrics-port-base"),
            help: ArgumentHelp("node-a serves /metrics on 127.0.0.1:PORT, node-b on PORT+1 (0: no metrics).", valueName: "port"))
    var metricsPortBase = 9471

    func run() async throws {
        var logger = Logger(label: "tandem.demo")
        logger.logLevel = .warning
        try FileManager.default.createDirectory(atPath: logDirectory, withIntermediateDirectories: true)
        guard metricsPortBase == 0 || (1...65534).contains(metricsPortBase) else {
            throw ValidationError("--metrics-port-base must be 0 (no metrics) or a port from 1 to 65534, not \(metricsPortBase)")
        }
        let demo = DemoCluster(logDirectory: logDirectory, failoverAfter: failoverAfter, duration: duration,
                               redraw: !plain && isatty(1) == 1, metricsPortBase: metricsPortBase, logger: logger)
        let group = ServiceGroup(configuration: .init(services: [.init(service: demo, successTerminationBehavior: .gracefullyShutdownGroup)],
                                                      gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }
}

/// The demo's processes and view, as one Service: `run()` starts everything, draws the view until
/// the duration ends or a graceful shutdown (Ctrl-C), then stops the nodes, the venue and the database.
final class DemoCluster: Service, Sendable {
    let logDirectory: String
    let failoverAfter: Double?
    let duration: Double?
    let redraw: Bool
    /// node-a's metrics port; node-b's is the next one; 0 for none.
    let metricsPortBase: Int
    let logger: Logger
    private let state = Mutex(ViewState())

    struct ViewState {
        var nodes: [String: ChildProcess] = [:]
        var killedAt: ContinuousClock.Instant?
        var killedNode: String?
        var killedEpoch: UInt64?
        var takeover: [(String, Duration)] = []
        var events: [String] = []
        var stopping = false
    }

    init(logDirectory: String, failoverAfter: Double?, duration: Double?, redraw: Bool, metricsPortBase: Int = 0, logger: Logger) {
        self.logDirectory = logDirectory
        self.failoverAfter = failoverAfter
        self.duration = duration
        self.redraw = redraw
        self.metricsPortBase = metricsPortBase
        self.logger = logger
    }

    static let nodeIDs = ["node-a", "node-b"]

    /// `tandem node` arguments for a node: its config, and `--metrics-port` when it has one and the
    /// port is free (else a warning: a second demo on the machine still runs, without metrics).
    func nodeArguments(id: String, config: String) -> [String] {
        guard metricsPortBase > 0, let index = Self.nodeIDs.firstIndex(of: id) else { return ["node", "--config", config] }
        let port = metricsPortBase + index
        guard LocalPorts.isFree(port) else {
            print("tandem demo: warning: 127.0.0.1:\(port) is in use; \(id) runs without /metrics")
            return ["node", "--config", config]
        }
        return ["node", "--config", config, "--metrics-port", "\(port)"]
    }

    func run() async throws {
        print("tandem demo: starting PostgreSQL…")
        let pg = try await EmbeddedPostgres.start(.init(durability: .full), logger: logger)
        let dsn = pg.dsn()
        do {
            try await runCluster(dsn: dsn)
        } catch {
            await stopAll()
            try? await pg.stop()
            throw error
        }
        await stopAll()
        try? await pg.stop()
        print("tandem demo: stopped; logs are in \(logDirectory)")
    }

    private func runCluster(dsn: String) async throws {
        dsnBox.withLock { $0 = dsn }
        let admin = try await PostgresConnection.connect(dsn, logger: logger)
        _ = try await JournalSchema.migrate(admin, logger: logger)
        await admin.close()

        print("tandem demo: starting the venue…")
        let venue = try ChildProcess(name: "venue", arguments: ["venue", "--fix-port", "0", "--feed-port", "0"], logDirectory: logDirectory)
        state.withLock { $0.nodes["venue"] = venue }
        var ports: (fix: Int, feed: Int)?
        let deadline = ContinuousClock.now + .seconds(20)
        while ports == nil, ContinuousClock.now < deadline {
            ports = VenueService.readyPorts(inLog: venue.output)
            if ports == nil { try await Task.sleep(for: .milliseconds(100)) }
        }
        guard let ports else { throw ValidationError("the venue did not start; see \(venue.logPath)") }

        let configs = try Self.nodeIDs.map { id -> (String, String) in
            let path = "\(logDirectory)/\(id).yaml"
            let yaml = "# Written by `tandem demo` for this run.\n"
                + LocalClusterConfig.nodeYAML(cluster: "demo", id: id, dsn: dsn, fixPort: ports.fix, feedPort: ports.feed)
            try yaml.write(toFile: path, atomically: true, encoding: .utf8)
            return (id, path)
        }
        for (id, path) in configs {
            let arguments = nodeArguments(id: id, config: path)
            print("tandem demo: starting \(id)…" + (arguments.contains("--metrics-port") ? " (metrics on http://127.0.0.1:\(arguments.last!)/metrics)" : ""))
            let node = try ChildProcess(name: id, arguments: arguments, logDirectory: logDirectory)
            state.withLock { $0.nodes[id] = node }
            try await Task.sleep(for: .milliseconds(700))
        }

        print("tandem demo: starting the watchdog…")
        var key = [UInt8](repeating: 0, count: 32)
        var rng = SystemRandomNumberGenerator()
        for i in key.indices { key[i] = UInt8.random(in: 0...255, using: &rng) }
        try key.hexString.write(toFile: "\(logDirectory)/risk.key", atomically: true, encoding: .utf8)
        keyBox.withLock { $0 = key }
        try Self.watchdogYAML(dsn: dsn, fixPort: ports.fix, feedPort: ports.feed, keyFile: "\(logDirectory)/risk.key")
            .write(toFile: "\(logDirectory)/watchdog.yaml", atomically: true, encoding: .utf8)
        var watchdogArguments = ["watchdog", "--config", "\(logDirectory)/watchdog.yaml"]
        // The watchdog's metrics on the port after the nodes' (9473 by default), like theirs only when free.
        let watchdogPort = metricsPortBase + Self.nodeIDs.count
        if metricsPortBase > 0 {
            if LocalPorts.isFree(watchdogPort) { watchdogArguments += ["--metrics-port", "\(watchdogPort)"] } else {
                print("tandem demo: warning: 127.0.0.1:\(watchdogPort) is in use; the watchdog runs without /metrics")
            }
        }
        let watchdog = try ChildProcess(name: "watchdog", arguments: watchdogArguments, logDirectory: logDirectory)
        state.withLock { $0.nodes["watchdog"] = watchdog }

        let follower = JournalFollower(dsn: dsn, logger: logger)
        let started = ContinuousClock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                while !Task.isCancelled {
                    do { try await follower.follow() } catch { try? await Task.sleep(for: .milliseconds(200)) }
                }
            }
            group.addTask { await self.readKeys() }
            group.addTask { try await self.view(dsn: dsn, follower: follower, configs: configs, started: started) }
            try await group.next()
            group.cancelAll()
        }
    }

    /// Redraws until the duration ends or the demo is asked to stop; kills the leader when due.
    private func view(dsn: String, follower: JournalFollower, configs: [(String, String)], started: ContinuousClock.Instant) async throws {
        let conn = try await PostgresConnection.connect(dsn, logger: logger)
        var failedOver = false
        var lastDraw = ContinuousClock.now - .seconds(10)
        await withGracefulShutdownHandler {
            while !Task.isCancelled, !state.withLock({ $0.stopping }) {
                let elapsed = ContinuousClock.now - started
                if let duration, elapsed > .milliseconds(Int64(duration * 1000)) { break }
                if let failoverAfter, !failedOver, elapsed > .milliseconds(Int64(failoverAfter * 1000)) {
                    failedOver = true
                    state.withLock { $0.events.append("--failover-after \(failoverAfter) s: killing the leader") }
                    await killLeader(dsn: dsn)
                }
                // Sampled every 50 ms (the takeover's step times), drawn every 0.5 s (1 s plain).
                let snapshot = await snapshot(conn: conn, follower: follower)
                await trackTakeover(snapshot, configs: configs)
                if ContinuousClock.now - lastDraw >= .milliseconds(redraw ? 500 : 1000) {
                    render(snapshot, elapsed: elapsed)
                    lastDraw = .now
                }
                try? await Task.sleep(for: .milliseconds(50))
            }
        } onGracefulShutdown: {
            self.state.withLock { $0.stopping = true }
        }
        await conn.close()
    }

    struct Snapshot {
        var leader: String?
        var epoch: UInt64 = 0
        var head: UInt64 = 0
        var nodes: [NodeStatusTable.Row] = []
        var openOrders: [Order] = []
        var positions: [(PositionKey, Position)] = []
        var realized: [String] = []
        var acknowledgedByEpoch: [UInt64: Int] = [:]
        var leaderElected: [UInt64: Bool] = [:]
        var halted = false
        var watchdog: (mode: String, blocked: Bool, view: WatchdogStatus?)?
    }

    /// The demo's watchdog: its own role, the venue's default drop-copy, risk and watchdog sessions,
    /// limits loose enough for the market maker (its own cap is 200) and tight enough to mean something.
    static func watchdogYAML(dsn: String, fixPort: Int, feedPort: Int, keyFile: String) -> String {
        "# Written by `tandem demo` for this run (docs/watchdog.md).\n"
            + LocalClusterConfig.watchdogYAML(
                id: "demo", dsn: dsn, fixPort: fixPort, feedPort: feedPort, keyFile: keyFile,
                limits: [#"maxDailyLoss: "5000""#, #"maxPosition: "400""#, "maxOrdersPerSecond: 200"],
                extra: """
                    alerts:                     # deploy/monitoring/start-stack.sh runs Alertmanager here
                      alertmanagerURL: "http://127.0.0.1:9093"
                      cluster: demo
                    """)
    }

    private func snapshot(conn: PostgresConnection, follower: JournalFollower) async -> Snapshot {
        var s = Snapshot()
        if let (lease, head, nodes) = try? await conn.withConnection({ c in
            (try Lease.read(c), try FencedAppend.readHead(c).seq, (try? NodeStatusTable.read(c)) ?? [])
        }) {
            s.halted = lease.halted
            if let w = try? await conn.withConnection({ c in
                try c.query("SELECT mode, blocked, coalesce(view, '') FROM tandem.watchdog_state WHERE id = 1")
            }), !w.isEmpty, let mode = try? w[0].decode(String.self, at: 0) {
                let view = (try? w[0].decode(String.self, at: 2)).flatMap { try? JSONDecoder().decode(WatchdogStatus.self, from: Data($0.utf8)) }
                s.watchdog = (mode, (try? w[0].decode(Bool.self, at: 1)) ?? false, view)
            }
            s.leader = lease.holder
            s.epoch = lease.epoch
            s.head = head
            s.nodes = nodes
        }
        follower.read { ledger in
            s.openOrders = ledger.state.openOrders
            s.positions = ledger.state.positions.sorted { $0.key < $1.key }
            for account in Set(ledger.state.positions.keys.map(\.account)) {
                s.realized += ledger.state.realizedPnL(account: account).map { "\(account) \($0.value)" }
            }
            for o in ledger.state.allOrders where o.venueOrderID != nil {
                if let e = o.clOrdID.rawValue.split(separator: "-").first.flatMap({ UInt64($0) }) { s.acknowledgedByEpoch[e, default: 0] += 1 }
            }
            if let l = ledger.state.leader { s.leaderElected[l.epoch] = true }
        }
        return s
    }

    /// After a kill: when the lease moved, when the new epoch's LeaderElected was journaled, when its
    /// first order was acknowledged (the RTO); then the killed node is restarted as the standby.
    private func trackTakeover(_ s: Snapshot, configs: [(String, String)]) async {
        let restart = state.withLock { st -> String? in
            guard let killedAt = st.killedAt, let killedEpoch = st.killedEpoch else { return nil }
            let since = ContinuousClock.now - killedAt
            func mark(_ step: String) { if !st.takeover.contains(where: { $0.0 == step }) { st.takeover.append((step, since)) } }
            if s.epoch > killedEpoch, s.leader != st.killedNode { mark("lease taken by \(s.leader ?? "?") (epoch \(s.epoch))") }
            if s.leaderElected[s.epoch] == true, s.epoch > killedEpoch { mark("LeaderElected journaled") }
            if (s.acknowledgedByEpoch[s.epoch] ?? 0) > 0, s.epoch > killedEpoch { mark("first order acknowledged (RTO)") }
            if st.takeover.count >= 3 || since > .seconds(15) {
                let node = st.killedNode
                st.killedAt = nil
                st.killedNode = nil
                return node
            }
            return nil
        }
        if let restart, let path = configs.first(where: { $0.0 == restart })?.1 {
            if let node = try? ChildProcess(name: restart, arguments: nodeArguments(id: restart, config: path), logDirectory: logDirectory) {
                state.withLock {
                    $0.nodes[restart] = node
                    $0.events.append("restarted \(restart) as the standby")
                }
            }
        }
    }

    func killLeader(dsn: String) async {
        guard let conn = try? await PostgresConnection.connect(dsn, logger: logger) else { return }
        let lease = try? await conn.withConnection { c in try Lease.read(c) }
        await conn.close()
        guard let lease, let holder = lease.holder else { return }
        state.withLock { st in
            guard st.killedAt == nil, let child = st.nodes[holder] else { return }
            child.signal(SIGKILL)
            st.killedAt = .now
            st.killedNode = holder
            st.killedEpoch = lease.epoch
            st.takeover = []
            st.events.append("killed \(holder) (SIGKILL), the leader at epoch \(lease.epoch)")
        }
    }

    /// `k` + Enter kills the leader; `q` + Enter stops.
    private func readKeys() async {
        guard isatty(0) == 1 else {
            while !Task.isCancelled { try? await Task.sleep(for: .seconds(1)) }
            return
        }
        let lines = AsyncStream<String> { continuation in
            let thread = Thread {
                while let line = readLine() { continuation.yield(line) }
                continuation.finish()
            }
            thread.start()
        }
        for await line in lines {
            switch line.trimmingCharacters(in: .whitespaces).lowercased() {
            case "k": if let dsn = currentDSN { await killLeader(dsn: dsn) }
            case "q": state.withLock { $0.stopping = true }
            case "h": await riskCommand(.halt)
            case "r": await riskCommand(.resume)
            case "f": await riskCommand(.flatten)
            default: continue
            }
        }
    }

    private var currentDSN: String? { dsnBox.withLock { $0 } }
    private let dsnBox = Mutex<String?>(nil)
    private let keyBox = Mutex<[UInt8]>([])

    /// A signed command to the watchdog, as `tandem risk` sends it; the answer goes to the event list.
    private func riskCommand(_ action: SignedCommand.Action) async {
        guard let dsn = currentDSN else { return }
        let command = SignedCommand.sign(action: action, reason: "demo key", issuedBy: "demo", key: keyBox.withLock { $0 })
        let answer = try? await CommandQueue.submit(command, dsn: dsn, timeout: .seconds(5))
        let text = answer.map { "\($0.status): \($0.result)" } ?? "no answer from the watchdog"
        state.withLock { $0.events.append("\(action.rawValue.uppercased()) → \(text)") }
    }

    private func render(_ s: Snapshot, elapsed: Duration) {
        let st = state.withLock { ($0.takeover, $0.events.suffix(5)) }
        var out = redraw ? "\u{1B}[H\u{1B}[2J" : ""
        if redraw {
            out += "TANDEM DEMO  \(elapsed.components.seconds) s   (k + Enter: kill the leader · Ctrl-C: stop)   logs: \(logDirectory)\n\n"
            out += "leader \(s.leader ?? "-")   epoch \(s.epoch)   journal head \(s.head)\(s.halted ? "   HALTED" : "")\n"
            if let w = s.watchdog {
                out += "watchdog \(w.mode)\(w.blocked ? " (engine blocked)" : "")"
                if let v = w.view { out += "   drop copy \(v.dropCopySynced ? "caught up" : "NOT caught up")   P&L \(v.pnl ?? "?")   breaching \(v.breaching.isEmpty ? "none" : v.breaching.joined(separator: ","))" }
                out += "   (h/r/f + Enter: HALT/RESUME/FLATTEN)\n"
            }
            out += "\n"
            out += "node      role      epoch  applied  lag(seq)  lag(ms)  open\n"
            for n in s.nodes {
                out += "\(pad(n.nodeID, 10))\(pad(n.role, 10))\(pad(n.epoch.map(String.init) ?? "-", 7))\(pad("\(n.appliedSeq)", 9))\(pad("\(n.lagSeqs)", 10))\(pad("\(n.lagMilliseconds)", 9))\(n.openOrders)\(n.ageMilliseconds > 2000 ? "   (silent \(n.ageMilliseconds / 1000) s)" : "")\n"
            }
            out += "\nOPEN ORDERS (\(s.openOrders.count))\n"
            for o in s.openOrders.prefix(8) {
                out += "  \(pad(o.clOrdID.rawValue, 12)) \(pad("\(o.request.side)", 5)) \(o.request.quantity) @ \(o.request.type.limitPrice.map { "\($0)" } ?? "mkt")  \(o.status)\n"
            }
            out += "\nPOSITIONS\n"
            for (k, p) in s.positions { out += "  \(k.account) #\(k.instrument.rawValue)  net \(p.netQuantity)  avg \(p.averagePrice.map { "\($0)" } ?? "-")  realized \(p.realizedPnL)  fees \(p.fees)\n" }
            if !st.0.isEmpty {
                out += "\nLAST TAKEOVER (since the kill)\n"
                for (step, d) in st.0 { out += "  \(pad(step, 40)) \(d.components.seconds * 1000 + d.components.attoseconds / 1_000_000_000_000_000) ms\n" }
            }
            if !st.1.isEmpty { out += "\n" + st.1.map { "• \($0)" }.joined(separator: "\n") + "\n" }
        } else {
            let roles = s.nodes.map { "\($0.nodeID)=\($0.ageMilliseconds > 2000 ? "silent" : $0.role)(lag \($0.lagSeqs))" }.joined(separator: " ")
            let net = s.positions.map { "\($0.1.netQuantity)" }.joined(separator: ",")
            out += "[\(elapsed.components.seconds)s] leader=\(s.leader ?? "-") epoch=\(s.epoch) head=\(s.head) \(roles) open=\(s.openOrders.count) net=\(net.isEmpty ? "0" : net)"
            for (step, d) in st.0 { out += " | \(step): \(d.components.seconds * 1000 + d.components.attoseconds / 1_000_000_000_000_000) ms" }
            out += "\n"
        }
        FileHandle.standardOutput.write(Data(out.utf8))
    }

    private func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s + " " : s + String(repeating: " ", count: n - s.count) }

    /// SIGTERM to every child (nodes first: they drain and log out), then SIGKILL what is left.
    private func stopAll() async {
        let children = state.withLock { st -> [ChildProcess] in
            st.stopping = true
            return st.nodes.filter { $0.key != "venue" }.map(\.value) + st.nodes.filter { $0.key == "venue" }.map(\.value)
        }
        for c in children { await c.stop() }
    }
}
