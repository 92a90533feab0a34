import TandemJournal
import TandemPostgres
import TandemPostgresTestKit
import Testing

@testable import TandemCluster

@Suite("lease row operations", .embeddedPostgres)
struct LeaseSQLTests {
    @Test("tryAcquire takes a free lease with epoch + 1, is refused while held, and wins once it expired by the database clock")
    func tryAcquire() async throws {
        let (_, admin) = try await freshLeaseDatabase()
        let first = try await admin.withConnection { c in try Lease.tryAcquire(c, holder: "a", duration: .milliseconds(300)) }
        #expect(first == .acquired(epoch: 1))
        let refused = try await admin.withConnection { c in try Lease.tryAcquire(c, holder: "b", duration: .seconds(1)) }
        guard case .refused(let state) = refused else { Issue.record("b took a held lease: \(refused)"); return }
        #expect(state.holder == "a" && state.epoch == 1 && !state.halted)
        #expect((state.millisecondsToExpiry ?? 0) > 0)
        let again = try await admin.withConnection { c in try Lease.tryAcquire(c, holder: "a", duration: .seconds(1)) }
        #expect(again != .acquired(epoch: 2), "not even the holder re-acquires an unexpired lease")
        try await Task.sleep(for: .milliseconds(350))
        let taken = try await admin.withConnection { c in try Lease.tryAcquire(c, holder: "b", duration: .seconds(1)) }
        #expect(taken == .acquired(epoch: 2))
    }

    @Test("renew: extends only for the same holder and epoch; otherwise lost, with the row as it is")
    func renew() async throws {
        let (_, admin) = try await freshLeaseDatabase()
        _ = try await admin.withConnection { c in try Lease.tryAcquire(c, holder: "a", duration: .milliseconds(200)) }
        let renewed = try await admin.withConnection { c in try Lease.renew(c, holder: "a", epoch: 1, duration: .seconds(5)) }
        #expect(renewed == .renewed)
        #expect((try await readLease(admin).millisecondsToExpiry ?? 0) > 4000)
        let wrongEpoch = try await admin.withConnection { c in try Lease.renew(c, holder: "a", epoch: 0, duration: .seconds(5)) }
        let wrongHolder = try await admin.withConnection { c in try Lease.renew(c, holder: "b", epoch: 1, duration: .seconds(5)) }
        for result in [wrongEpoch, wrongHolder] {
            guard case .lost(let state) = result else { Issue.record("expected lost: \(result)"); continue }
            #expect(state.holder == "a" && state.epoch == 1)
        }
    }

    @Test("release: only the holder's epoch; frees the lease at once for the next tryAcquire (epoch still moves on)")
    func release() async throws {
        let (_, admin) = try await freshLeaseDatabase()
        _ = try await admin.withConnection { c in try Lease.tryAcquire(c, holder: "a", duration: .seconds(30)) }
        #expect(try await admin.withConnection { c in try Lease.release(c, holder: "b", epoch: 1) } == false)
        #expect(try await admin.withConnection { c in try Lease.release(c, holder: "a", epoch: 2) } == false)
        #expect(try await admin.withConnection { c in try Lease.release(c, holder: "a", epoch: 1) } == true)
        let state = try await readLease(admin)
        #expect(state.holder == nil && state.epoch == 1 && (state.millisecondsToExpiry ?? 1) <= 0)
        let taken = try await admin.withConnection { c in try Lease.tryAcquire(c, holder: "b", duration: .seconds(1)) }
        #expect(taken == .acquired(epoch: 2))
        let renewAfter = try await admin.withConnection { c in try Lease.renew(c, holder: "a", epoch: 1, duration: .seconds(1)) }
        #expect(renewAfter != .renewed)
    }

    @Test("halted: never acquired by tryAcquire, renew is lost, release does nothing")
    func halted() async throws {
        let (_, admin) = try await freshLeaseDatabase()
        _ = try await admin.withConnection { c in try Lease.tryAcquire(c, holder: "a", duration: .milliseconds(100)) }
        let haltEpoch = try await admin.withConnection { c in try Lease.halt(c, by: "watchdog") }
        try await Task.sleep(for: .milliseconds(150))
        let result = try await admin.withConnection { c in try Lease.tryAcquire(c, holder: "b", duration: .seconds(1)) }
        guard case .refused(let state) = result else { Issue.record("a halted lease was taken: \(result)"); return }
        #expect(state.halted && state.epoch == haltEpoch)
        let renewed = try await admin.withConnection { c in try Lease.renew(c, holder: "watchdog", epoch: haltEpoch, duration: .seconds(1)) }
        #expect(renewed != .renewed)
        #expect(try await admin.withConnection { c in try Lease.release(c, holder: "watchdog", epoch: haltEpoch) } == false)
        #expect(try await readLease(admin).halted)
    }

    @Test("racing: eight sessions try to acquire a free lease at once; exactly one wins")
    func race() async throws {
        let (dsn, admin) = try await freshLeaseDatabase()
        var sessions: [PostgresConnection] = []
        for _ in 0..<8 { sessions.append(try await PostgresConnection.connect(dsn)) }
        let results = try await withThrowingTaskGroup(of: LeaseAcquisition.self) { group in
            for (i, session) in sessions.enumerated() {
                group.addTask {
                    try await session.withConnection { c in try Lease.tryAcquire(c, holder: "n\(i)", duration: .seconds(5)) }
                }
            }
            var all: [LeaseAcquisition] = []
            for try await result in group { all.append(result) }
            return all
        }
        #expect(results.filter { $0 == .acquired(epoch: 1) }.count == 1)
        #expect(results.filter { if case .refused = $0 { true } else { false } }.count == 7)
        #expect(try await readLease(admin).epoch == 1)
        for session in sessions { await session.close() }
    }
}
