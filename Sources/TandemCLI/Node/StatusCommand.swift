import ArgumentParser
import Foundation
import Logging
import Prometheus
import ServiceLifecycle
import Synchronization
import TandemCore
import TandemJournal
import TandemWatchdog
import TandemNode
import TandemOps
import TandemPostgres

/// `tandem status`: the cluster at a glance, from the database alone (works with both nodes dead).
struct Status: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show the leader, epoch, heartbeat age, journal head, each node's lag, open orders, positions and P&L.",
        discussion: """
            Everything comes from the cluster's database: the lease row (leader, epoch, last renewal by \
            the database clock), the journal head, the rows each node writes every 250 ms \
            (tandem.node_status), and a replay of the journal for orders, positions, P&L, FIX session \
            sequences, risk restrictions and recent takeovers (LeaderElected events). \
            --json prints one JSON object.

            --serve PORT serves the same as one self-contained HTML page (no external resources; it \
            reloads itself) on http://HOST:PORT/ until SIGTERM/SIGINT, re-read from the database every \
            --refresh seconds, with /metrics (process metrics), /healthz and /readyz beside it \
            (docs/monitoring.md#status-page).
            """
    )

    @OptionGroup var cluster: ClusterOptions

    @Flag(help: "Print JSON instead of a table.")
    var json = false

    @Option(help: ArgumentHelp("Serve the status as a web page on HOST:PORT until stopped (0 = any free port; the URL is printed).", valueName: "port"))
    var serve: Int?

    @Option(help: ArgumentHelp("Address --serve listens on.", valueName: "address"))
    var host = "127.0.0.1"

    @Option(help: ArgumentHelp("With --serve: seconds between reads of the database (the page reloads as often).", valueName: "seconds"))
    var refresh: Double = 2

    func validate() throws {
        if let serve, !(0...65535).contains(serve) { throw ValidationError("--serve needs a port from 0 to 65535, not \(serve)") }
        guard refresh >= 0.2, refresh <= 3600 else { throw ValidationError("--refresh must be between 0.2 and 3600 seconds") }
        if serve != nil, json { throw ValidationError("--serve and --json do not go together") }
    }

    struct Report: Codable {
        struct PositionRow: Codable { var account, instrument, net, averagePrice, realizedPnL, fees: String }
        struct OrderRow: Codable { var clOrdID, account, instrument, side, quantity, filled, status: String }
        struct SessionRow: Codable { var session: String; var lastInbound, lastOutbound: UInt64 }
        struct RestrictionRow: Codable { var scope, action: String }
        struct TakeoverRow: Codable { var seq, epoch: UInt64; var node, at: String }
        /// When it was read (UTC, RFC 3339).
        var asOf: String = ""
        var leader: String?
        var epoch: UInt64
        var halted: Bool
        var heartbeatAgeMs: Int64?
        var leaseRemainingMs: Int64?
        var journalHeadSeq: UInt64
        var nodes: [NodeStatusTable.Row]
        var openOrders: [OrderRow]
        var positions: [PositionRow]
        /// Last MsgSeqNums of each FIX session, as journaled.
        var fixSessions: [SessionRow] = []
        /// Halts, blocks and flattens in force (risk commands not yet resumed).
        var restrictions: [RestrictionRow] = []
        /// The newest LeaderElected events first.
        var recentTakeovers: [TakeoverRow] = []
        /// The engine's risk mode as journaled (active, reducing, halted) and why it last changed.
        var riskMode: String = "active"
        var riskModeReason: String?
        /// Why the lease is halted (the watchdog's rule or the operator's reason).
        var haltReason: String?
        /// The watchdog's mode (normal, halted, flattening), whether it blocked the engine's sessions,
        /// why, and when it last wrote its view; nil when the schema has no watchdog table.
        struct WatchdogRow: Codable { var mode: String; var blocked: Bool; var reason: String?; var viewAgeMs: Int64?; var dropCopySynced: Bool?; var pnl: String?; var breaching: [String]? }
        var watchdog: WatchdogRow?
    }

    func run() async throws {
        if let serve {
            try await serveStatusPage(port: serve)
            return
        }
        let conn = try await cluster.connect()
        let report: Report
        do {
            report = try await conn.withConnection { c in try Self.collect(c, logger: cluster.logger) }
        } catch {
            await conn.close()
            throw error
        }
        await conn.close()
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
            return
        }
        print(Self.render(report))
    }

    /// Everything `tandem status` shows, read in one go from the cluster's database (on the connection's thread).
    static func collect(_ c: PGConnection, logger: Logger, takeovers: Int = 10) throws -> Report {
        let lease = try Lease.read(c)
        let age = try c.query("SELECT (extract(epoch FROM clock_timestamp() - updated_at) * 1000)::bigint FROM tandem.lease WHERE id = 1")
        let head = try FencedAppend.readHead(c)
        let nodes = (try? NodeStatusTable.read(c)) ?? []
        let state = try Replayer.replayFromNewestSnapshot(c, logger: logger).state
        let open = state.openOrders.map {
            Report.OrderRow(clOrdID: $0.clOrdID.rawValue, account: $0.request.account.rawValue,
                            instrument: state.instruments[$0.request.instrument]?.symbol ?? "\($0.request.instrument.rawValue)",
                            side: "\($0.request.side)", quantity: "\($0.request.quantity)", filled: "\($0.filledQuantity)",
                            status: "\($0.status)")
        }
        let positions = state.positions.sorted { $0.key < $1.key }.map { key, p in
            Report.PositionRow(account: key.account.rawValue, instrument: state.instruments[key.instrument]?.symbol ?? "\(key.instrument.rawValue)",
                               net: "\(p.netQuantity)", averagePrice: p.averagePrice.map { "\($0)" } ?? "-",
                               realizedPnL: "\(p.realizedPnL)", fees: "\(p.fees)")
        }
        var report = Report(leader: lease.holder, epoch: lease.epoch, halted: lease.halted,
                            heartbeatAgeMs: try age.rows.first?.decodeIfPresent(Int64.self, at: 0),
                            leaseRemainingMs: lease.millisecondsToExpiry, journalHeadSeq: head.seq,
                            nodes: nodes, openOrders: open, positions: positions)
        report.asOf = JSONLogHandler.rfc3339(JSONLogHandler.now())
        report.fixSessions = state.fixSessions.sorted { $0.key < $1.key }.map {
            Report.SessionRow(session: $0.key, lastInbound: $0.value.lastInbound, lastOutbound: $0.value.lastOutbound)
        }
        report.restrictions = state.restrictions.sorted { $0.key < $1.key }.map { scope, action in
            let where_: String
            switch scope {
            case .global: where_ = "global"
            case .account(let a): where_ = "account \(a.rawValue)"
            case .instrument(let i): where_ = "instrument \(state.instruments[i]?.symbol ?? "#\(i.rawValue)")"
            }
            return Report.RestrictionRow(scope: where_, action: "\(action)")
        }
        report.recentTakeovers = try recentLeaderElections(c, limit: takeovers)
        report.riskMode = state.riskMode.rawValue
        report.riskModeReason = state.lastRiskModeChange.map { "\($0.rule): \($0.reason)" }
        report.haltReason = lease.haltReason
        report.watchdog = try watchdogRow(c)
        return report
    }

    /// The watchdog's row of `tandem.watchdog_state` (migration 3), with a summary of its last view.
    static func watchdogRow(_ c: PGConnection) throws -> Report.WatchdogRow? {
        guard try c.query("SELECT to_regclass('tandem.watchdog_state') IS NOT NULL")[0].decode(Bool.self, at: 0) else { return nil }
        let r = try c.query("""
            SELECT mode, blocked, reason, view, (extract(epoch FROM clock_timestamp() - updated_at) * 1000)::bigint
            FROM tandem.watchdog_state WHERE id = 1
            """)
        guard !r.isEmpty else { return nil }
        let view = try r[0].decodeIfPresent(String.self, at: 3).flatMap { try? JSONDecoder().decode(WatchdogStatus.self, from: Data($0.utf8)) }
        return Report.WatchdogRow(mode: try r[0].decode(String.self, at: 0), blocked: try r[0].decode(Bool.self, at: 1),
                                  reason: try r[0].decodeIfPresent(String.self, at: 2), viewAgeMs: view == nil ? nil : try r[0].decodeIfPresent(Int64.self, at: 4),
                                  dropCopySynced: view?.dropCopySynced, pnl: view?.pnl, breaching: view?.breaching)
    }

    /// The newest `limit` LeaderElected events (index on kind not needed: few rows, read backwards by seq).
    static func recentLeaderElections(_ c: PGConnection, limit: Int) throws -> [Report.TakeoverRow] {
        let seqs = try c.query("SELECT seq FROM tandem.events WHERE kind = $1 ORDER BY seq DESC LIMIT $2",
                               [Int64(JournalEventKind.leaderElected.rawValue), Int64(limit)])
        return try seqs.rows.compactMap { row -> Report.TakeoverRow? in
            let seq = UInt64(try row.decode(Int64.self, at: 0))
            guard let stored = try JournalReader.row(c, seq: seq),
                  case .leaderElected(let epoch, let node, let at) = try EventCodec.decode(stored.payload)
            else { return nil }
            return Report.TakeoverRow(seq: seq, epoch: epoch, node: node, at: JSONLogHandler.rfc3339(at.nanosecondsSinceEpoch))
        }
    }

    static func render(_ r: Report) -> String {
        var out = "CLUSTER\n"
        out += "leader\t\(r.leader ?? "-")\nepoch\t\(r.epoch)\(r.halted ? " (HALTED)" : "")\n"
        out += "heartbeat age\t\(r.heartbeatAgeMs.map { "\($0) ms" } ?? "-")\n"
        out += "lease remaining\t\(r.leaseRemainingMs.map { "\($0) ms" } ?? "-")\n"
        out += "journal head\t\(r.journalHeadSeq)\n"
        out += "\nNODES\nnode\trole\tepoch\tapplied_seq\tlag_seqs\tlag_ms\topen_orders\tupdated_ms_ago\n"
        for n in r.nodes {
            out += "\(n.nodeID)\t\(n.role)\t\(n.epoch.map(String.init) ?? "-")\t\(n.appliedSeq)\t\(n.lagSeqs)\t\(n.lagMilliseconds)\t\(n.openOrders)\t\(n.ageMilliseconds)\n"
        }
        out += "\nOPEN ORDERS\nclOrdID\taccount\tinstrument\tside\tquantity\tfilled\tstatus\n"
        for o in r.openOrders { out += "\(o.clOrdID)\t\(o.account)\t\(o.instrument)\t\(o.side)\t\(o.quantity)\t\(o.filled)\t\(o.status)\n" }
        out += "\nPOSITIONS\naccount\tinstrument\tnet\tavg_price\trealized\tfees\n"
        for p in r.positions { out += "\(p.account)\t\(p.instrument)\t\(p.net)\t\(p.averagePrice)\t\(p.realizedPnL)\t\(p.fees)\n" }
        out += "\nRISK\nengine mode\t\(r.riskMode)\(r.riskModeReason.map { " (\($0))" } ?? "")\n"
        if let reason = r.haltReason { out += "halt reason\t\(reason)\n" }
        if let w = r.watchdog {
            out += "watchdog\t\(w.mode)\(w.blocked ? ", engine sessions BLOCKED" : "")\(w.reason.map { " (\($0))" } ?? "")\n"
            if let synced = w.dropCopySynced {
                out += "watchdog view\tdrop copy \(synced ? "caught up" : "NOT caught up"), P&L \(w.pnl ?? "?"), breaching \(w.breaching?.joined(separator: ",") ?? "-"), \(w.viewAgeMs ?? 0) ms old\n"
            }
        }
        out += r.restrictions.isEmpty ? "no restriction in force\n" : r.restrictions.map { "\($0.action)\t\($0.scope)\n" }.joined()
        out += "\nFIX SESSIONS\nsession\tlast_in\tlast_out\n"
        for f in r.fixSessions { out += "\(f.session)\t\(f.lastInbound)\t\(f.lastOutbound)\n" }
        out += "\nRECENT TAKEOVERS\nseq\tepoch\tnode\tat\n"
        for t in r.recentTakeovers { out += "\(t.seq)\t\(t.epoch)\t\(t.node)\t\(t.at)\n" }
        return out
    }
}
