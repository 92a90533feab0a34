import Foundation
import TandemCore
import TandemExecution
import TandemFIX
import TandemJournal
import TandemNode
import TandemPostgres
import TandemPostgresTestKit
import Testing

/// `tandem node` as real processes against a `tandem venue` process and a private PostgreSQL.
@Suite("Engine nodes as processes", .embeddedPostgres, .serialized, .timeLimit(.minutes(3)))
struct NodeProcessTests {
    @Test("two nodes: one leads and trades, fills come back, journal positions equal the drop copy, the standby's state equals the leader's")
    func pairTrades() async throws {
        let dsn = try await freshClusterDatabase()
        let venue = try await VenueProcess.start()
        defer { Task { await venue.child.stop() } }
        let dropCopy = TestSession(compID: "TANDEM-DC", port: venue.fixPort)
        let taker = TestSession(compID: "TAKER", port: venue.fixPort)
        let sessions = Task { await withTaskGroup(of: Void.self) { g in g.addTask { await dropCopy.run() }; g.addTask { await taker.run() } } }
        defer { sessions.cancel() }
        let (a, b) = try await startPair(dsn: dsn, venue: venue)
        defer { Task { await a.stop(); await b.stop() } }
        // The market maker's quotes reach the venue.
        try await eventually("both quotes acknowledged", context: { a.output }) {
            let (ledger, _) = try await replay(dsn)
            return ledger.state.openOrders.filter { $0.status == .new }.count >= 2
        }
        #expect(dropCopy.isLoggedOn && taker.isLoggedOn)

        // The taker sweeps both sides through our quotes; the node's fills come back and are journaled.
        let now = FIXClock.now().utc
        for (side, price, id) in [(Side.buy, "1000.00", "T1"), (Side.sell, "0.01", "T2")] {
            try await taker.initiator.send(NewOrderSingle(clOrdID: ClOrdID(id), account: nil, symbol: "ACME", side: side, transactTime: now,
                                                          orderQty: try Quantity("2000"), orderType: .limit(try Price(price)),
                                                          timeInForce: .immediateOrCancel))
            try await eventually("the node's quote on the \(side == .buy ? "ask" : "bid") filled", context: { a.output }) {
                let (ledger, _) = try await replay(dsn)
                return ledger.state.allOrders.contains { $0.request.side != side && $0.filledQuantity.units > 0 }
            }
        }

        // Positions in the journal equal the venue's drop copy of the node's executions.
        try await eventually("journal and drop copy agree") {
            let (ledger, _) = try await replay(dsn)
            let ours = Set(ledger.state.allOrders.map(\.clOrdID))
            var net: Int64 = 0
            for r in dropCopy.executionReports where r.execType == .trade {
                guard let id = r.clOrdID, ours.contains(id), let q = r.lastQty else { continue }
                net += r.side == .buy ? q.units : -q.units
            }
            let journaled = ledger.state.position(account: AccountID("ACC1"), instrument: InstrumentID(1))?.netQuantity.units ?? 0
            return net != 0 || ledger.state.allOrders.contains { $0.filledQuantity.units > 0 } ? net == journaled : false
        }

        // The standby folds the same journal to a byte-equal state: same seq, same state hash.
        try await eventually("leader and standby report the same state at the same seq") {
            let rows = try await nodeRows(dsn)
            guard let l = rows.first(where: { $0.role == "leader" }), let s = rows.first(where: { $0.role == "standby" }),
                  let lh = l.stateSHA256, let sh = s.stateSHA256 else { return false }
            return l.appliedSeq == s.appliedSeq && lh == sh
        }
        let (ledger, events) = try await replay(dsn)
        let filled = ledger.state.allOrders.filter { $0.filledQuantity.units > 0 }
        #expect(filled.contains { $0.request.side == .buy } && filled.contains { $0.request.side == .sell })
        #expect(events.contains { if case .leaderElected(_, "node-a", _) = $0.event { true } else { false } })
        #expect(!events.contains { if case .leaderElected(_, "node-b", _) = $0.event { true } else { false } })
        #expect(ledger.state.leader?.nodeID == "node-a")

        // `tandem status --json` tells the same story from the database alone.
        let status = try Child.run("status", arguments: ["status", "--dsn", dsn, "--json"])
        #expect(status.status == 0, "\(status.output)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(status.output.utf8)) as? [String: Any], "\(status.output)")
        #expect(json["leader"] as? String == "node-a")
        let nodes = try #require(json["nodes"] as? [[String: Any]])
        #expect(Set(nodes.compactMap { $0["role"] as? String }) == ["leader", "standby"])
        #expect((json["journalHeadSeq"] as? Int ?? 0) > 0)
        #expect(!(json["positions"] as? [Any] ?? []).isEmpty)
    }

    @Test("a leader stopped (SIGSTOP) past its lease is replaced; resumed, it is fenced, sends nothing and steps down")
    func pausedLeaderIsFenced() async throws {
        let dsn = try await freshClusterDatabase()
        let venue = try await VenueProcess.start()
        defer { Task { await venue.child.stop() } }
        let dropCopy = TestSession(compID: "TANDEM-DC", port: venue.fixPort)
        let sessions = Task { await dropCopy.run() }
        defer { sessions.cancel() }
        let (a, b) = try await startPair(dsn: dsn, venue: venue)
        defer { Task { await a.stop(); await b.stop() } }
        try await eventually("quotes acknowledged and node-b standing by", context: { a.output + b.output }) {
            let (ledger, _) = try await replay(dsn)
            let rows = try await nodeRows(dsn)
            return ledger.state.openOrders.filter { $0.status == .new }.count >= 2 && rows.contains { $0.nodeID == "node-b" && $0.role == "standby" }
        }

        a.signal(SIGSTOP)
        try await eventually("node-b to take the lease", context: { b.output }) {
            try await nodeRows(dsn).contains { $0.nodeID == "node-b" && $0.role == "leader" }
        }
        let (_, atTakeover) = try await replay(dsn)
        let lastEpoch1 = atTakeover.filter { $0.epoch == 1 }.map(\.seq).max() ?? 0
        try await Task.sleep(for: .seconds(1))
        a.signal(SIGCONT)
        try await eventually("node-a to step down", context: { a.output }) {
            try await nodeRows(dsn).contains { $0.nodeID == "node-a" && $0.role != "leader" && $0.ageMilliseconds < 500 }
        }
        try await Task.sleep(for: .seconds(1))

        // Nothing of epoch 1 was appended after epoch 2 began, and the journal's epochs never go back.
        let (_, events) = try await replay(dsn)
        let firstEpoch2 = try #require(events.first { $0.epoch == 2 }?.seq)
        #expect(!events.contains { $0.epoch == 1 && $0.seq > firstEpoch2 })
        #expect(zip(events, events.dropFirst()).allSatisfy { $0.epoch <= $1.epoch })
        #expect(a.output.contains("leadership lost") || a.output.contains("fenced"))
        // The venue saw no new order from the old leader: ClOrdIDs of epoch 1 are "1-<seq>", so any
        // acknowledged after the takeover with a seq past epoch 1's last journaled one was sent by a zombie.
        let zombie = dropCopy.executionReports.filter { r in
            guard let id = r.clOrdID?.rawValue, id.hasPrefix("1-"), let n = UInt64(id.dropFirst(2)) else { return false }
            return n > lastEpoch1
        }
        #expect(zombie.isEmpty, "the old leader sent \(zombie.map { $0.clOrdID?.rawValue ?? "?" })")
    }

    @Test("write-ahead: a node killed between the journal append and the send restarts, knows the order and resolves it; the venue has it once")
    func crashBetweenAppendAndSend() async throws {
        let dsn = try await freshClusterDatabase()
        let venue = try await VenueProcess.start()
        defer { Task { await venue.child.stop() } }
        let dropCopy = TestSession(compID: "TANDEM-DC", port: venue.fixPort)
        let sessions = Task { await dropCopy.run() }
        defer { sessions.cancel() }
        let crashing = try startNode(id: "node-a", dsn: dsn, venue: venue, arguments: ["--fault-crash-after-order-journaled"])
        try await eventually("the fault to fire", context: { crashing.output }) { !crashing.isRunning }
        #expect(crashing.process.terminationStatus == 86)
        let (before, _) = try await replay(dsn)
        let pending = before.state.openOrders.filter { $0.status == .pendingNew }
        let first = try #require(pending.first, "an intent journaled and never acknowledged")

        let restarted = try startNode(id: "node-a", dsn: dsn, venue: venue)
        defer { Task { await restarted.stop() } }
        try await eventually("the order resolved after the restart", context: { restarted.output }) {
            let (ledger, _) = try await replay(dsn)
            return ledger.state.order(first.clOrdID).map { $0.status != .pendingNew } ?? false
        }
        try await Task.sleep(for: .milliseconds(500))
        let news = dropCopy.executionReports.filter { $0.clOrdID == first.clOrdID && $0.execType == .new }
        let rejects = dropCopy.executionReports.filter { $0.clOrdID == first.clOrdID && $0.execType == .rejected }
        #expect(news.count <= 1 && rejects.isEmpty, "the venue saw \(news.count) acknowledgements and \(rejects.count) rejects")
        let (after, _) = try await replay(dsn)
        let status = try #require(after.state.order(first.clOrdID)?.status)
        #expect(status != .pendingNew, "still unresolved")
    }

    @Test("a leader killed (SIGKILL) is replaced before its lease runs out: its crash lock comes free with its session")
    func killedLeaderIsReplacedFast() async throws {
        let dsn = try await freshClusterDatabase()
        let venue = try await VenueProcess.start()
        defer { Task { await venue.child.stop() } }
        let (a, b) = try await startPair(dsn: dsn, venue: venue)
        defer { Task { await a.stop(); await b.stop() } }
        try await Task.sleep(for: .milliseconds(500))
        let conn = try await PostgresConnection.connect(dsn)
        let before = try await conn.withConnection { c in try Lease.read(c) }
        #expect(before.holder == "node-a")
        a.signal(SIGKILL)
        let killed = ContinuousClock.now
        var after = before
        while ContinuousClock.now - killed < .seconds(5) {
            after = try await conn.withConnection { c in try Lease.read(c) }
            if after.holder == "node-b" { break }
            try await Task.sleep(for: .milliseconds(5))
        }
        let took = ContinuousClock.now - killed
        await conn.close()
        #expect(after.holder == "node-b" && after.epoch == before.epoch + 1, "\(b.output.suffix(2000))")
        // The lease is 1 s and was renewed at most 200 ms before the kill: waiting it out takes ≥ 800 ms.
        #expect(took < .milliseconds(700), "takeover took \(took)")
        #expect(b.output.contains("database session ended"))
    }

    @Test("a clean shutdown (SIGTERM) of the leader drains, releases the lease, and the standby leads well under the lease time")
    func cleanShutdownHandsOver() async throws {
        let dsn = try await freshClusterDatabase()
        let venue = try await VenueProcess.start()
        defer { Task { await venue.child.stop() } }
        let (a, b) = try await startPair(dsn: dsn, venue: venue)
        defer { Task { await b.stop() } }
        let conn = try await PostgresConnection.connect(dsn)
        a.signal(SIGTERM)
        let stopped = ContinuousClock.now
        var lease = try await conn.withConnection { c in try Lease.read(c) }
        while ContinuousClock.now - stopped < .seconds(5), lease.holder != "node-b" {
            try await Task.sleep(for: .milliseconds(5))
            lease = try await conn.withConnection { c in try Lease.read(c) }
        }
        let took = ContinuousClock.now - stopped
        await conn.close()
        #expect(lease.holder == "node-b", "\(b.output.suffix(2000))")
        #expect(took < .milliseconds(700), "handover took \(took)")
        await a.stop()
        #expect(a.process.terminationStatus == 0, "\(a.output.suffix(2000))")
        #expect(a.output.contains("lease released") || a.output.contains("releasing the lease"))
    }

    @Test("--metrics-port: /metrics in Prometheus text, /healthz, and /readyz true for a reconciled leader and a caught-up standby")
    func opsEndpoints() async throws {
        let dsn = try await freshClusterDatabase()
        let venue = try await VenueProcess.start()
        defer { Task { await venue.child.stop() } }
        let a = try startNode(id: "node-a", dsn: dsn, venue: venue, arguments: ["--metrics-port", "0"])
        let b = try startNode(id: "node-b", dsn: dsn, venue: venue, arguments: ["--metrics-port", "0"])
        defer { Task { await a.stop(); await b.stop() } }
        func port(_ c: Child) -> Int? {
            guard let line = c.output.split(separator: "\n").first(where: { $0.contains("ops HTTP listening") }),
                  let r = line.range(of: "ops.listen=127.0.0.1:") else { return nil }
            return Int(line[r.upperBound...].prefix { $0.isNumber })
        }
        var ports: (Int, Int)?
        try await eventually("both to serve HTTP", context: { a.output + b.output }) {
            if let pa = port(a), let pb = port(b) { ports = (pa, pb) }
            return ports != nil
        }
        func get(_ port: Int, _ path: String) throws -> (status: Int, body: String) {
            let curl = Process()
            curl.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
            curl.arguments = ["-s", "-o", "-", "-w", "\n%{http_code}", "http://127.0.0.1:\(port)\(path)"]
            let pipe = Pipe()
            curl.standardOutput = pipe
            try curl.run()
            curl.waitUntilExit()
            let out = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            let lines = out.split(separator: "\n", omittingEmptySubsequences: false)
            return (Int(lines.last ?? "") ?? 0, lines.dropLast().joined(separator: "\n"))
        }
        try await eventually("a leader and a standby, both ready") {
            let ra = try get(ports!.0, "/readyz"), rb = try get(ports!.1, "/readyz")
            return ra.status == 200 && rb.status == 200 && (ra.body + rb.body).contains("leader") && (ra.body + rb.body).contains("standby")
        }
        #expect(try get(ports!.0, "/healthz").status == 200)
        // The gauges follow the node's status every 250 ms.
        var metrics = ""
        try await eventually("the leader's gauge", context: { metrics }) {
            metrics = try get(ports!.0, "/metrics").body + "\n" + (try get(ports!.1, "/metrics").body)
            return metrics.contains("tandem_node_leader 1")
        }
        #expect(metrics.contains("tandem_node_leader 0"))
        #expect(metrics.contains("# TYPE tandem_journal_applied_seq gauge"))
        #expect(metrics.contains("tandem_order_intents_total"))
        #expect(try get(ports!.0, "/nope").status == 404)
    }

    @Test("with execution.riskLimitsFile, an order over a limit is journaled rejected with the rule that fired and never reaches the venue")
    func preTradeRiskRefuses() async throws {
        let dsn = try await freshClusterDatabase()
        let venue = try await VenueProcess.start()
        defer { Task { await venue.child.stop() } }
        let limits = FileManager.default.temporaryDirectory.appendingPathComponent("limits-\(getpid()).json")
        try #"{"maxOrderQuantity": "5"}"#.write(to: limits, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: limits) }
        let dropCopy = TestSession(compID: "TANDEM-DC", port: venue.fixPort)
        let sessions = Task { await dropCopy.run() }
        defer { sessions.cancel() }
        // The market maker quotes 10 a side: over the limit of 5.
        let a = try startNode(id: "node-a", dsn: dsn, venue: venue, extra: "execution:\n  riskLimitsFile: \"\(limits.path)\"")
        defer { Task { await a.stop() } }
        try await eventually("refused intents in the journal", context: { a.output }) {
            let (_, events) = try await replay(dsn)
            return events.contains { if case .orderIntent(let i) = $0.event, case .rejected("max_order_quantity", _) = i.decision { true } else { false } }
        }
        try await Task.sleep(for: .milliseconds(500))
        let (ledger, events) = try await replay(dsn)
        let intents = events.compactMap { if case .orderIntent(let i) = $0.event { i } else { nil } }
        #expect(!intents.isEmpty && intents.allSatisfy { if case .rejected = $0.decision { true } else { false } })
        #expect(ledger.state.allOrders.allSatisfy { $0.status == .rejected })
        #expect(!dropCopy.executionReports.contains { $0.clOrdID.map { id in intents.contains { $0.request.clOrdID == id } } ?? false },
                "a refused order reached the venue")
    }

    @Test("a HALTED risk mode is journaled by the leader, folded by the standby, and survives a takeover: the new leader starts HALTED and sends no opening order")
    func haltedSurvivesTakeover() async throws {
        let dsn = try await freshClusterDatabase()
        let venue = try await VenueProcess.start()
        defer { Task { await venue.child.stop() } }
        let dir = FileManager.default.temporaryDirectory
        // node-a halts on its own: a mark older than 1 ms at any evaluation is stale market data.
        let strict = dir.appendingPathComponent("limits-strict-\(getpid()).json")
        try #"{"staleMarkAfterMs": 1}"#.write(to: strict, atomically: true, encoding: .utf8)
        // node-b's limits would never halt by themselves (stale data off): any HALTED it shows is restored.
        let lenient = dir.appendingPathComponent("limits-lenient-\(getpid()).json")
        try #"{"staleMarkAfterMs": 0}"#.write(to: lenient, atomically: true, encoding: .utf8)
        defer {
            try? FileManager.default.removeItem(at: strict)
            try? FileManager.default.removeItem(at: lenient)
        }
        let a = try startNode(id: "node-a", dsn: dsn, venue: venue, extra: "execution:\n  riskLimitsFile: \"\(strict.path)\"")
        defer { Task { await a.stop() } }
        try await eventually("node-a to journal HALTED", context: { a.output }) {
            let (ledger, _) = try await replay(dsn)
            return ledger.state.riskMode == .halted
        }
        let (halted, haltEvents) = try await replay(dsn)
        let change = try #require(halted.state.lastRiskModeChange)
        #expect(change.from == .active && change.to == .halted && change.rule == "stale_market_data" && change.reason.contains("no mark"))
        let haltSeq = try #require(haltEvents.first { if case .riskModeChanged = $0.event { true } else { false } }?.seq)
        try await eventually("the mode change logged with its journal seq", context: { a.output }) {
            a.output.contains("risk: trading mode changed") && a.output.contains("journal.seq=\(haltSeq)")
        }

        let b = try startNode(id: "node-b", dsn: dsn, venue: venue, extra: "execution:\n  riskLimitsFile: \"\(lenient.path)\"")
        defer { Task { await b.stop() } }
        try await eventually("node-b to stand by, caught up", context: { b.output }) {
            try await nodeRows(dsn).contains { $0.nodeID == "node-b" && $0.role == "standby" && $0.lagSeqs == 0 }
        }
        a.signal(SIGKILL)
        try await eventually("node-b to lead", context: { b.output }) {
            try await nodeRows(dsn).contains { $0.nodeID == "node-b" && $0.role == "leader" }
        }
        try await eventually("node-b restored HALTED", context: { b.output }) {
            b.output.contains("risk: trading mode restored from the journal") && b.output.contains("HALTED")
        }
        try await Task.sleep(for: .seconds(1.5))  // time for a strategy, had it started, to quote
        let (ledger, events) = try await replay(dsn)
        #expect(ledger.state.riskMode == .halted && ledger.state.lastRiskModeChange == change)
        let elected = try #require(events.last { if case .leaderElected(_, "node-b", _) = $0.event { true } else { false } }?.seq)
        let after = events.filter { $0.seq > elected }
        #expect(!after.contains { if case .orderIntent(let i) = $0.event { i.decision == .accepted } else { false } },
                "node-b sent an order while HALTED")
        #expect(!after.contains { if case .riskModeChanged = $0.event { true } else { false } }, "node-b changed the journaled mode")
        #expect(b.output.contains("the strategy stays stopped"), "\(b.output.suffix(3000))")
    }
}
