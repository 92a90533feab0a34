import Foundation
import Synchronization
import TandemCore
import TandemExecution
import TandemFIX
import TandemJournal
import TandemNode
import TandemPostgres
import TandemPostgresTestKit
import Testing

/// PostgreSQL faults under a running pair (issue 8): each test has a private PostgreSQL of its own (it is
/// stopped or cut off), a `tandem venue` process, a drop-copy session, and two `tandem node` processes.
@Suite("Engine nodes under PostgreSQL faults", .serialized, .timeLimit(.minutes(3)))
struct DatabaseFaultTests {
    @Test("PostgreSQL restarted: no split brain, both nodes recover their roles, epochs never shared, the journal verifies")
    func postgresRestarted() async throws {
        try await withCluster { cluster in
            let (a, b) = try await startPair(dsn: cluster.dsn, venue: cluster.venue)
            cluster.own(a, b)
            try await cluster.waitWorking(context: { a.output + b.output })
            let before = try await cluster.lease()

            let pg = cluster.pg
            try await runOnDedicatedThread(name: "test-pg-restart") {
                try pg.stopServerKeepingData(mode: "fast")
                try pg.restartBlocking()
            }
            let restarted = ContinuousClock.now

            // Both back in their roles: one fresh leader row (the lease holder's, at its epoch), one fresh
            // standby row, caught up.
            try await eventually("one leader and one caught-up standby after the restart", seconds: 20, context: { String(a.output.suffix(3000) + b.output.suffix(3000)) }) {
                let lease = try await cluster.lease()
                let rows = try await nodeRows(cluster.dsn).filter { $0.ageMilliseconds < 1000 && $0.updatedAfterRestart(restarted) }
                let leaders = rows.filter { $0.role == "leader" }
                let standbys = rows.filter { $0.role == "standby" }
                return leaders.count == 1 && standbys.count == 1 && leaders[0].nodeID == lease.holder && leaders[0].epoch == lease.epoch
                    && standbys[0].lagSeqs <= 5
            }
            let after = try await cluster.lease()
            #expect(after.epoch >= before.epoch)
            // The leader trades again: an order journaled after the restart is acknowledged by the venue.
            let (_, atRecovery) = try await replay(cluster.dsn)
            let head = atRecovery.last?.seq ?? 0
            try await eventually("a new order acknowledged after the restart", seconds: 15, context: { String(a.output.suffix(3000) + b.output.suffix(3000)) }) {
                cluster.dropCopy.executionReports.contains { r in
                    (r.execType == .new || r.execType == .replaced) && (r.clOrdID.flatMap(ClOrdIDParts.init)?.seq ?? 0) > head
                }
            }
            try await cluster.expectNoSplitBrain()
        }
    }

    @Test("leader cut from PostgreSQL: it self-fences within the lease, sends nothing more, the standby takes over, and it rejoins as standby")
    func leaderCutFromPostgres() async throws {
        try await withCluster { cluster in
            let proxies = try ["node-a", "node-b"].map { try PostgresProxy(upstreamPort: cluster.pg.port, name: $0) }
            defer { for p in proxies { p.close() } }
            let nodeDSN = Dictionary(uniqueKeysWithValues: proxies.map {
                ($0.name, "host=127.0.0.1 port=\($0.port) user=\(cluster.pg.user) dbname=\(cluster.database)")
            })
            let (a, b) = try await startPair(dsn: cluster.dsn, venue: cluster.venue, nodeDSN: nodeDSN)
            cluster.own(a, b)
            try await cluster.waitWorking(context: { a.output + b.output })
            let before = try await cluster.lease()
            #expect(before.holder == "node-a")

            proxies[0].cut()
            let cut = ContinuousClock.now
            var fencedAfter: Duration?
            var takenOver: Duration?
            while ContinuousClock.now - cut < .seconds(5), fencedAfter == nil || takenOver == nil {
                if fencedAfter == nil, a.output.contains("self-fenced") || a.output.contains("leadership lost") { fencedAfter = ContinuousClock.now - cut }
                if takenOver == nil, let l = try? await cluster.lease(), l.holder == "node-b", l.epoch > before.epoch { takenOver = ContinuousClock.now - cut }
                try await Task.sleep(for: .milliseconds(10))
            }
            // Self-fence at (last renew sent) + lease − margin ≤ 800 ms after the cut; the lease is 1 s.
            let fenced = try #require(fencedAfter, "node-a never fenced itself\n\(a.output.suffix(3000))")
            #expect(fenced < .seconds(1), "node-a fenced itself \(fenced) after the cut")
            #expect(takenOver != nil, "node-b did not take over\n\(b.output.suffix(3000))")
            let (_, atTakeover) = try await replay(cluster.dsn)
            let lastOldEpochSeq = atTakeover.filter { $0.epoch == before.epoch }.map(\.seq).max() ?? 0

            // Heal after lease + 500 ms, as the drill does: node-a rejoins as the standby, node-b keeps leading.
            try await Task.sleep(until: cut + .milliseconds(1500))
            proxies[0].heal()
            try await eventually("node-a back as a caught-up standby, node-b leading", seconds: 15, context: { String(a.output.suffix(3000)) }) {
                let rows = try await nodeRows(cluster.dsn).filter { $0.ageMilliseconds < 1000 }
                return rows.contains { $0.nodeID == "node-a" && $0.role == "standby" && $0.lagSeqs <= 5 }
                    && rows.contains { $0.nodeID == "node-b" && $0.role == "leader" }
            }
            // It sent nothing more: the venue acknowledged no order of the old epoch that the journal does not
            // have from before the takeover (a send needs a journal append first, and it could not append).
            let zombie = cluster.dropCopy.executionReports.filter { r in
                guard let p = r.clOrdID.flatMap(ClOrdIDParts.init) else { return false }
                return p.epoch == before.epoch && p.seq > lastOldEpochSeq
            }
            #expect(zombie.isEmpty, "the cut leader sent \(zombie.map { $0.clOrdID?.rawValue ?? "?" })")
            try await cluster.expectNoSplitBrain()
        }
    }
}

// MARK: - The cluster of these tests

/// A ClOrdID of a node: `<epoch>-<journal position>`.
struct ClOrdIDParts {
    var epoch: UInt64
    var seq: UInt64

    init?(_ id: ClOrdID) {
        let parts = id.rawValue.split(separator: "-")
        guard parts.count == 2, let e = UInt64(parts[0]), let s = UInt64(parts[1]) else { return nil }
        epoch = e
        seq = s
    }
}

extension NodeStatusTable.Row {
    /// Published after `instant` (by the row's age, read now).
    func updatedAfterRestart(_ instant: ContinuousClock.Instant) -> Bool {
        ContinuousClock.now - .milliseconds(Int(ageMilliseconds)) > instant
    }
}

final class FaultCluster: Sendable {
    let pg: EmbeddedPostgres
    let database: String
    let dsn: String
    let venue: VenueProcess
    let dropCopy: TestSession

    init(pg: EmbeddedPostgres, database: String, dsn: String, venue: VenueProcess, dropCopy: TestSession) {
        self.pg = pg
        self.database = database
        self.dsn = dsn
        self.venue = venue
        self.dropCopy = dropCopy
    }

    /// The node processes, stopped by ``withCluster`` before the venue and PostgreSQL.
    let children = Mutex<[Child]>([])

    func own(_ children: Child...) { self.children.withLock { $0 += children } }

    func lease() async throws -> LeaseState {
        let conn = try await PostgresConnection.connect(dsn)
        do {
            let lease = try await conn.withConnection { c in try Lease.read(c) }
            await conn.close()
            return lease
        } catch {
            await conn.close()
            throw error
        }
    }

    /// The leader's quotes acknowledged by the venue (seen on the drop copy) and the standby caught up.
    func waitWorking(context: @escaping () -> String) async throws {
        try await eventually("quotes acknowledged and node-b standing by", context: context) {
            let lease = try await lease()
            let rows = try await nodeRows(dsn)
            let acked = dropCopy.executionReports.contains { r in r.execType == .new && r.clOrdID.flatMap(ClOrdIDParts.init)?.epoch == lease.epoch }
            return acked && rows.contains { $0.nodeID == "node-b" && $0.role == "standby" && $0.lagSeqs == 0 }
        }
    }

    /// The journal's epochs: each `LeaderElected` epoch once and for one node, epochs never go back, every
    /// order the venue acknowledged is the journal's (no zombie's) and acknowledged once; the audit verifies.
    func expectNoSplitBrain() async throws {
        let reports = dropCopy.executionReports  // before the journal: every order is journaled before it is sent
        let (ledger, events) = try await replay(dsn)
        var electedBy: [UInt64: String] = [:]
        for e in events {
            if case .leaderElected(let epoch, let node, _) = e.event {
                #expect(electedBy[epoch] == nil, "epoch \(epoch) elected twice (\(electedBy[epoch] ?? "") and \(node))")
                electedBy[epoch] = node
            }
        }
        #expect(zip(events, events.dropFirst()).allSatisfy { $0.epoch <= $1.epoch }, "journal epochs went back")
        var known = Set(ledger.state.allOrders.map(\.clOrdID))
        for o in ledger.state.openOrders { if let next = o.pendingReplace?.newClOrdID { known.insert(next) } }
        var acks: [ClOrdID: Set<String>] = [:]
        for r in reports where r.execType == .new || r.execType == .replaced {
            if let id = r.clOrdID { acks[id, default: []].insert(r.execID) }
        }
        let twice = acks.filter { $0.value.count > 1 }.map(\.key.rawValue)
        #expect(twice.isEmpty, "acknowledged twice: \(twice)")
        let unknown = acks.keys.filter { !known.contains($0) }
        #expect(unknown.isEmpty, "acknowledged by the venue, unknown to the journal: \(unknown.map(\.rawValue))")
        let conn = try await PostgresConnection.connect(dsn)
        let report = try await conn.withConnection { c in try AuditVerifier.verify(c, logger: nodeTestLogger) }
        await conn.close()
        #expect(report.isValid, "audit: \(report.failure.map { "\($0)" } ?? "")")
    }
}

/// A private PostgreSQL (migrated), a venue and a drop copy for `body`; all stopped afterwards, also on failure.
func withCluster(_ body: (FaultCluster) async throws -> Void) async throws {
    let pg = try await EmbeddedPostgres.start(.temporary, logger: TestPostgres.logger)
    do {
        let admin = try await PostgresConnection.connect(pg.dsn())
        _ = try await JournalSchema.migrate(admin, logger: nodeTestLogger)
        await admin.close()
        let venue = try await VenueProcess.start()
        let dropCopy = TestSession(compID: "TANDEM-DC", port: venue.fixPort)
        let sessions = Task { await dropCopy.run() }
        let cluster = FaultCluster(pg: pg, database: "postgres", dsn: pg.dsn(), venue: venue, dropCopy: dropCopy)
        let failure: (any Error)?
        do { try await body(cluster); failure = nil } catch { failure = error }
        for child in cluster.children.withLock({ $0 }) { await child.stop() }
        sessions.cancel()
        await venue.child.stop()
        if let failure { throw failure }
    } catch {
        try? await pg.stop()
        throw error
    }
    try await pg.stop()
}
