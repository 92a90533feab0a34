import ServiceLifecycle
import Synchronization
import TandemJournal
import TandemPostgres
import TandemPostgresTestKit
import Testing

@testable import TandemCluster

@Suite("lease service: two nodes on one database", .embeddedPostgres)
struct LeaseServiceTests {
    @Test("two nodes started together: exactly one leads, the other stays standby while it renews; never both gates open")
    func exactlyOneLeader() async throws {
        let (dsn, admin) = try await freshLeaseDatabase()
        let a = RunningService(try makeService(dsn, "node-a"))
        let b = RunningService(try makeService(dsn, "node-b"))
        try await waitUntil("one node leads") { a.service.currentRole == .leader || b.service.currentRole == .leader }
        let (leader, standby) = a.service.currentRole == .leader ? (a, b) : (b, a)
        let epoch = try #require(leader.service.gate.mayAct())

        var samples = 0
        var leaderClosed = 0
        let end = ContinuousClock.now + .seconds(2)
        while ContinuousClock.now < end {
            let l = leader.service.gate.mayAct()
            let s = standby.service.gate.mayAct()
            #expect(l == nil || s == nil, "both gates open")
            if l != epoch { leaderClosed += 1 }
            #expect(standby.service.currentRole == .standby)
            samples += 1
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(samples >= 50)
        #expect(leaderClosed == 0, "the leader's gate closed while it was renewing")
        let lease = try await readLease(admin)
        #expect(lease.epoch == epoch && lease.holder == leader.service.configuration.lease.nodeID)
        #expect((lease.millisecondsToExpiry ?? 0) > 0)

        let standbyChanges = try await standby.stopAndCollect()
        let leaderChanges = try await leader.stopAndCollect()
        #expect(!standbyChanges.contains { $0.to == .leader })
        #expect(leaderChanges.filter { $0.to == .leader }.map(\.epoch) == [epoch])
    }

    @Test("leader stalled past its lease: gate closes before the database expiry; the other takes epoch + 1; the resumed node never leads on the old epoch")
    func stalledLeader() async throws {
        let (dsn, admin) = try await freshLeaseDatabase()
        let a = RunningService(try makeService(dsn, "node-a", lease: .seconds(1), margin: .milliseconds(300)))
        try await waitUntil("node-a leads") { a.service.currentRole == .leader }
        let b = RunningService(try makeService(dsn, "node-b", lease: .seconds(1), margin: .milliseconds(300)))
        try await waitUntil("node-b is standby") { b.service.currentRole == .standby }
        let oldEpoch = try #require(a.service.gate.mayAct())
        try await Task.sleep(for: .milliseconds(300))
        #expect(a.service.gate.mayAct() == oldEpoch, "renewing as leader before the stall")

        a.service.suspendForTesting(.milliseconds(2500))
        let suspendedAt = ContinuousClock.now
        while a.service.gate.mayAct() != nil {
            #expect(b.service.gate.mayAct() == nil, "both gates open")
            try #require(ContinuousClock.now - suspendedAt < .seconds(2), "the stalled leader's gate never closed")
            try await Task.sleep(for: .milliseconds(2))
        }
        let closedAt = ContinuousClock.now
        let atClose = try await readLease(admin)
        #expect(atClose.holder == "node-a" && atClose.epoch == oldEpoch, "someone took over before the gate closed")
        #expect((atClose.millisecondsToExpiry ?? 0) > 0, "the gate closed only after the database lease expired")
        #expect(a.service.currentRole == .leader, "the stalled loop has not noticed; only the gate closed")

        try await waitUntil("node-b takes over") { b.service.gate.mayAct() != nil }
        #expect(ContinuousClock.now > closedAt)
        #expect(b.service.gate.mayAct() == oldEpoch + 1)
        #expect(a.service.gate.mayAct() == nil)

        // The stalled node resumes: it fences itself (its deadline passed) and rejoins as standby.
        try await waitUntil("node-a handles its backlog") { a.service.currentRole == .standby }
        let end = ContinuousClock.now + .milliseconds(500)
        while ContinuousClock.now < end {
            #expect(a.service.gate.mayAct() == nil)
            #expect(a.service.currentRole != .leader)
            try await Task.sleep(for: .milliseconds(20))
        }
        // A renew on the old epoch, as the resumed node would send it, is lost.
        let renew = try await admin.withConnection { c in
            try Lease.renew(c, holder: "node-a", epoch: oldEpoch, duration: .seconds(1))
        }
        if case .lost(let state) = renew {
            #expect(state.holder == "node-b" && state.epoch == oldEpoch + 1)
        } else {
            Issue.record("a renew on the old epoch was not lost: \(renew)")
        }

        let aChanges = try await a.stopAndCollect()
        _ = try await b.stopAndCollect()
        #expect(aChanges.map(\.to) == [.standby, .leader, .fenced, .standby, .stopping])
        #expect(aChanges.filter { $0.to == .leader }.map(\.epoch) == [oldEpoch])
        let fence = try #require(aChanges.first { $0.to == .fenced })
        #expect(fence.reason.contains("self-fenced"))
    }

    @Test("a renew stuck behind a row lock: the leader self-fences on time while the request hangs, then recovers with a new epoch")
    func hungRenewSelfFences() async throws {
        let (dsn, admin) = try await freshLeaseDatabase()
        let a = RunningService(try makeService(dsn, "node-a", lease: .seconds(1), margin: .milliseconds(300)))
        try await waitUntil("node-a leads") { a.service.currentRole == .leader }
        let oldEpoch = try #require(a.service.gate.mayAct())

        try await admin.execute("BEGIN")
        try await admin.query("SELECT 1 FROM tandem.lease WHERE id = 1 FOR UPDATE")
        try await waitUntil(timeout: .seconds(2), "node-a fences itself") { a.service.currentRole != .leader }
        let atFence = try await readLease(admin)
        #expect(atFence.holder == "node-a" && atFence.epoch == oldEpoch)
        #expect((atFence.millisecondsToExpiry ?? 0) > 0, "fenced only after the database lease expired")
        #expect(a.service.gate.mayAct() == nil)
        try await admin.execute("ROLLBACK")

        try await waitUntil(timeout: .seconds(4), "node-a leads again") { a.service.gate.mayAct() != nil }
        #expect(a.service.gate.mayAct() == oldEpoch + 1)
        let changes = try await a.stopAndCollect()
        #expect(changes.map(\.to) == [.standby, .leader, .fenced, .standby, .leader, .stopping])
        #expect(changes.first { $0.to == .fenced }?.reason.contains("self-fenced") == true)
    }

    @Test("clean shutdown of the leader releases the lease: the standby leads within a few heartbeats, not a lease")
    func cleanShutdownReleases() async throws {
        let (dsn, admin) = try await freshLeaseDatabase()
        let a = RunningService(try makeService(dsn, "node-a", lease: .seconds(3)))
        try await waitUntil("node-a leads") { a.service.currentRole == .leader }
        let b = RunningService(try makeService(dsn, "node-b", lease: .seconds(3)))
        try await waitUntil("node-b is standby") { b.service.currentRole == .standby }
        let oldEpoch = try #require(a.service.gate.mayAct())
        // Let node-b connect and be refused a few times, so its next attempt is a heartbeat tick.
        try await Task.sleep(for: .milliseconds(350))

        let aChanges = try await a.stopAndCollect()
        let releasedAt = ContinuousClock.now
        #expect(a.service.gate.mayAct() == nil)
        #expect(aChanges.last?.to == .stopping)
        try await waitUntil(timeout: .seconds(2), "node-b takes over") { b.service.gate.mayAct() != nil }
        let takeover = ContinuousClock.now - releasedAt
        // Heartbeat 100 ms: ~1–2 heartbeats expected; 600 ms leaves room for a loaded machine and is
        // still far below the 3 s lease the standby would otherwise wait out.
        #expect(takeover < .milliseconds(600), "took \(takeover)")
        #expect(b.service.gate.mayAct() == oldEpoch + 1)
        let lease = try await readLease(admin)
        #expect(lease.holder == "node-b" && lease.epoch == oldEpoch + 1)
        _ = try await b.stopAndCollect()
    }

    @Test("graceful shutdown through a ServiceGroup stops the service and releases the lease")
    func serviceGroupGracefulShutdown() async throws {
        let (dsn, admin) = try await freshLeaseDatabase()
        let service = try makeService(dsn, "node-a")
        let group = ServiceGroup(services: [service], logger: testLogger)
        let running = Task { try await group.run() }
        try await waitUntil("node-a leads") { service.currentRole == .leader }
        let epoch = try #require(service.gate.mayAct())
        await group.triggerGracefulShutdown()
        try await running.value
        #expect(service.currentRole == .stopping)
        #expect(service.gate.mayAct() == nil)
        let lease = try await readLease(admin)
        #expect(lease.holder == nil && lease.epoch == epoch && (lease.millisecondsToExpiry ?? 1) <= 0)
    }

    @Test("a halted lease is acquired by no one, whether halted before start or under a running leader")
    func haltedLease() async throws {
        let (dsn, admin) = try await freshLeaseDatabase()
        let haltEpoch = try await admin.withConnection { c in try Lease.halt(c, by: "watchdog") }
        let a = RunningService(try makeService(dsn, "node-a"))
        let b = RunningService(try makeService(dsn, "node-b"))
        try await waitUntil("both standby") { a.service.currentRole == .standby && b.service.currentRole == .standby }
        let end = ContinuousClock.now + .milliseconds(800)
        while ContinuousClock.now < end {
            #expect(a.service.gate.mayAct() == nil && b.service.gate.mayAct() == nil)
            try await Task.sleep(for: .milliseconds(20))
        }
        let lease = try await readLease(admin)
        #expect(lease.halted && lease.epoch == haltEpoch && lease.holder == "watchdog")
        let aChanges = try await a.stopAndCollect()
        let bChanges = try await b.stopAndCollect()
        #expect(!(aChanges + bChanges).contains { $0.to == .leader })

        // Halt under a running leader: its renew is lost, it is fenced, and no one takes over.
        let (dsn2, admin2) = try await freshLeaseDatabase()
        let c = RunningService(try makeService(dsn2, "node-c"))
        try await waitUntil("node-c leads") { c.service.currentRole == .leader }
        let d = RunningService(try makeService(dsn2, "node-d"))
        try await waitUntil("node-d is standby") { d.service.currentRole == .standby }
        let halt2 = try await admin2.withConnection { c in try Lease.halt(c, by: "watchdog") }
        try await waitUntil("node-c is fenced and rejoins") {
            c.service.gate.mayAct() == nil && c.service.currentRole == .standby
        }
        let end2 = ContinuousClock.now + .milliseconds(500)
        while ContinuousClock.now < end2 {
            #expect(c.service.gate.mayAct() == nil && d.service.gate.mayAct() == nil)
            try await Task.sleep(for: .milliseconds(20))
        }
        let lease2 = try await readLease(admin2)
        #expect(lease2.halted && lease2.epoch == halt2)
        let cChanges = try await c.stopAndCollect()
        let dChanges = try await d.stopAndCollect()
        let fence = try #require(cChanges.first { $0.to == .fenced })
        #expect(fence.reason.contains("halted"))
        #expect(!dChanges.contains { $0.to == .leader })
    }

    @Test("without automatic rejoin a fenced node stays fenced until requestRejoin, which is ignored when not fenced")
    func explicitRejoin() async throws {
        let (dsn, admin) = try await freshLeaseDatabase()
        let a = RunningService(try makeService(dsn, "node-a", rejoinAfterFencing: false))
        try await waitUntil("node-a leads") { a.service.currentRole == .leader }
        a.service.requestRejoin()
        try await admin.withConnection { c in _ = try Lease.halt(c, by: "watchdog") }
        try await waitUntil("node-a is fenced") { a.service.currentRole == .fenced }
        try await Task.sleep(for: .milliseconds(400))
        #expect(a.service.currentRole == .fenced, "an early requestRejoin must not apply to a later fence")
        a.service.requestRejoin()
        try await waitUntil("node-a rejoins") { a.service.currentRole == .standby }
        let changes = try await a.stopAndCollect()
        #expect(changes.map(\.to) == [.standby, .leader, .fenced, .standby, .stopping])
    }

    @Test("a short database blip (the lease sessions are killed) changes no role: the leader reconnects and renews in time")
    func blipDoesNotFlap() async throws {
        let (dsn, admin) = try await freshLeaseDatabase()
        let a = RunningService(try makeService(dsn, "node-a"))
        try await waitUntil("node-a leads") { a.service.currentRole == .leader }
        let b = RunningService(try makeService(dsn, "node-b"))
        try await waitUntil("node-b is standby") { b.service.currentRole == .standby }
        let epoch = try #require(a.service.gate.mayAct())

        for _ in 0..<3 {
            let killed = try await admin.query("""
                SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
                WHERE datname = current_database() AND pid <> pg_backend_pid()
                """)[0].decode(Int.self, at: 0)
            #expect(killed >= 1)
            let end = ContinuousClock.now + .milliseconds(400)
            while ContinuousClock.now < end {
                #expect(a.service.gate.mayAct() == epoch)
                #expect(b.service.gate.mayAct() == nil)
                try await Task.sleep(for: .milliseconds(20))
            }
        }
        let lease = try await readLease(admin)
        #expect(lease.holder == "node-a" && lease.epoch == epoch)
        let aChanges = try await a.stopAndCollect()
        let bChanges = try await b.stopAndCollect()
        #expect(aChanges.map(\.to) == [.standby, .leader, .stopping])
        #expect(bChanges.map(\.to) == [.standby, .stopping])
    }
}
