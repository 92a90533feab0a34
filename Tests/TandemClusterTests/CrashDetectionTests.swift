import Synchronization
import TandemJournal
import TandemPostgres
import TandemPostgresTestKit
import Testing

@testable import TandemCluster

/// The crash lock (DESIGN failover step 3) with two lease services on a private server: a leader whose
/// sessions all end is replaced at once; a leader whose lease session alone is reset is not.
@Suite("crash detection", .embeddedPostgres, .serialized, .timeLimit(.minutes(1)))
struct CrashDetectionTests {
    func service(_ dsn: String, _ node: String) throws -> LeaseService {
        let configuration = try LeaseMachine.Configuration(nodeID: node, heartbeat: .milliseconds(200), leaseDuration: .seconds(3),
                                                           safetyMargin: .milliseconds(300))
        return LeaseService(dsn: LeaseService.tagged(dsn: dsn, nodeID: node),
                            configuration: .init(lease: configuration, crashDetection: true), logger: testLogger)
    }

    @Test("every session of the leader ends (and it does not come back): the standby takes over long before the 3 s lease")
    func deadLeaderIsReplacedAtOnce() async throws {
        let (dsn, admin) = try await freshLeaseDatabase()
        let a = RunningService(try service(dsn, "node-a"))
        try await waitUntil("node-a leads") { a.service.currentRole == .leader }
        let b = RunningService(try service(dsn, "node-b"))
        try await waitUntil("node-b is standby") { b.service.currentRole == .standby }
        try await Task.sleep(for: .milliseconds(300))
        let before = try await readLease(admin)

        // A dead process: it stops acting and every one of its sessions ends.
        a.service.suspendForTesting(.seconds(10))
        let killedAt = ContinuousClock.now
        _ = try await admin.query("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = 'tandem-node:node-a'")
        try await waitUntil(timeout: .seconds(2), "node-b leads") { b.service.currentRole == .leader }
        let took = ContinuousClock.now - killedAt
        let after = try await readLease(admin)
        #expect(after.holder == "node-b" && after.epoch == before.epoch + 1)
        #expect(took < .milliseconds(500), "takeover took \(took)")
        _ = try await b.stopAndCollect()
        a.task.cancel()
    }

    @Test("only the leader's lease session is reset (a blip; its other sessions live): no takeover, no role change")
    func blipOnTheLeaseSessionIsNotACrash() async throws {
        let (dsn, admin) = try await freshLeaseDatabase()
        let a = RunningService(try service(dsn, "node-a"))
        try await waitUntil("node-a leads") { a.service.currentRole == .leader }
        // Another session of node-a's process (as its journal writer would be).
        let other = try await PostgresConnection.connect(LeaseService.tagged(dsn: dsn, nodeID: "node-a"))
        let b = RunningService(try service(dsn, "node-b"))
        try await waitUntil("node-b is standby") { b.service.currentRole == .standby }
        let epoch = try #require(a.service.gate.mayAct())
        do {
            // The session holding the crash lock is node-a's lease session. (After the reset the leader
            // no longer holds the lock for this epoch; a crash would then be found by the lease.)
            let killed = try await admin.query("""
                SELECT count(pg_terminate_backend(pid)) FROM pg_locks
                WHERE locktype = 'advisory' AND classid = \(Lease.crashLockKey) AND granted
                """)[0].decode(Int.self, at: 0)
            #expect(killed == 1)
            let end = ContinuousClock.now + .milliseconds(1500)
            while ContinuousClock.now < end {
                #expect(a.service.gate.mayAct() == epoch)
                #expect(b.service.gate.mayAct() == nil)
                try await Task.sleep(for: .milliseconds(20))
            }
        }
        let lease = try await readLease(admin)
        #expect(lease.holder == "node-a" && lease.epoch == epoch)
        await other.close()
        let aChanges = try await a.stopAndCollect()
        let bChanges = try await b.stopAndCollect()
        #expect(aChanges.map(\.to) == [.standby, .leader, .stopping])
        #expect(bChanges.map(\.to) == [.standby, .stopping])
    }
}
